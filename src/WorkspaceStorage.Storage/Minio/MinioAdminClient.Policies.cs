using System.Text;
using System.Text.Json;
using WorkspaceStorage.Storage.Http;

namespace WorkspaceStorage.Storage.Minio;

/// <summary>
/// Canned policies (add, remove, info, list) and their mappings to users and groups: idp/builtin/policy/attach|detach,
/// with set-user-or-group-policy for servers before 2023-01, and idp/builtin/policy-entities.
/// </summary>
public sealed partial class MinioAdminClient
{
    /// <summary>Creates or replaces a canned policy. The document travels in clear (MinIO's protocol).</summary>
    public async Task AddCannedPolicyAsync(string name, string policyJson, CancellationToken cancellationToken)
    {
        var response = await SendAsync(HttpMethod.Put, "add-canned-policy", [new("name", name)], Encoding.UTF8.GetBytes(policyJson), true,
            cancellationToken);
        EnsureSuccess("add-canned-policy", response);
    }

    /// <summary>Returns false when the policy did not exist. A policy still attached raises XMinioIAMPolicyInUse.</summary>
    public async Task<bool> RemoveCannedPolicyAsync(string name, CancellationToken cancellationToken)
    {
        var response = await SendAsync(HttpMethod.Delete, "remove-canned-policy", [new("name", name)], null, true, cancellationToken);
        return SucceededOrAbsent("remove-canned-policy", response);
    }

    /// <summary>info-canned-policy with v=2; null when the policy does not exist.</summary>
    public async Task<MinioPolicyInfo?> GetCannedPolicyAsync(string name, CancellationToken cancellationToken)
    {
        var response = await SendAsync(HttpMethod.Get, "info-canned-policy", [new("name", name), new("v", "2")], null, false, cancellationToken);
        if (IsAbsent("info-canned-policy", response))
        {
            return null;
        }

        using var doc = Parse("info-canned-policy", response.Body);
        var root = doc.RootElement;
        // v=2 wraps the document; a server that ignores v answers the bare document.
        if (root.ValueKind == JsonValueKind.Object && root.TryGetProperty("Policy", out var policy) && policy.ValueKind == JsonValueKind.Object)
        {
            return new MinioPolicyInfo(MinioJson.String(root, "PolicyName") ?? name, policy.GetRawText());
        }

        return new MinioPolicyInfo(name, root.GetRawText());
    }

    /// <summary>Policy name → document (raw JSON).</summary>
    public async Task<IReadOnlyDictionary<string, string>> ListCannedPoliciesAsync(CancellationToken cancellationToken)
    {
        var response = await SendAsync(HttpMethod.Get, "list-canned-policies", [], null, false, cancellationToken);
        EnsureSuccess("list-canned-policies", response);
        using var doc = Parse("list-canned-policies", response.Body);
        return doc.RootElement.ValueKind == JsonValueKind.Object
            ? doc.RootElement.EnumerateObject().ToDictionary(p => p.Name, p => p.Value.GetRawText(), StringComparer.Ordinal)
            : new Dictionary<string, string>();
    }

    // ---------------------------------------------------------------- policy mappings

    /// <summary>
    /// Attaches policies to a user or group. Returns false when they were attached already. Servers before 2023-01
    /// (answering 426 to idp/builtin/policy/attach) get set-user-or-group-policy with the union of old and new.
    /// </summary>
    public Task<bool> AttachPolicyAsync(MinioPolicyTarget target, IReadOnlyList<string> policies, CancellationToken cancellationToken) =>
        AttachOrDetachAsync(target, policies, attach: true, cancellationToken);

    /// <summary>Detaches policies. Returns false when none of them was attached.</summary>
    public Task<bool> DetachPolicyAsync(MinioPolicyTarget target, IReadOnlyList<string> policies, CancellationToken cancellationToken) =>
        AttachOrDetachAsync(target, policies, attach: false, cancellationToken);

    /// <summary>set-user-or-group-policy: REPLACES the mapping with <paramref name="policies"/> (empty clears it).</summary>
    public async Task SetPolicyAsync(MinioPolicyTarget target, IReadOnlyList<string> policies, CancellationToken cancellationToken)
    {
        var response = await SendAsync(HttpMethod.Put, "set-user-or-group-policy",
        [
            new("policyName", string.Join(',', policies)),
            new("userOrGroup", target.Name),
            new("isGroup", target.IsGroup ? "true" : "false"),
        ], null, true, cancellationToken);
        EnsureSuccess("set-user-or-group-policy", response);
    }

    public async Task<MinioPolicyEntities> GetPolicyEntitiesAsync(IReadOnlyList<string>? users, IReadOnlyList<string>? groups,
        IReadOnlyList<string>? policies, CancellationToken cancellationToken)
    {
        var query = new List<KeyValuePair<string, string>>();
        query.AddRange((users ?? []).Select(u => new KeyValuePair<string, string>("user", u)));
        query.AddRange((groups ?? []).Select(g => new KeyValuePair<string, string>("group", g)));
        query.AddRange((policies ?? []).Select(p => new KeyValuePair<string, string>("policy", p)));
        var response = await SendAsync(HttpMethod.Get, "idp/builtin/policy-entities", query, null, false, cancellationToken);
        EnsureSuccess("policy-entities", response);
        using var doc = Parse("policy-entities", Decrypt(response.Body));
        var root = doc.RootElement;
        return new MinioPolicyEntities(
            [.. Objects(root, "userMappings").Select(e => new MinioUserPolicies(MinioJson.String(e, "user") ?? "", MinioJson.Strings(e, "policies")))],
            [.. Objects(root, "groupMappings").Select(e => new MinioGroupPolicies(MinioJson.String(e, "group") ?? "", MinioJson.Strings(e, "policies")))],
            [.. Objects(root, "policyMappings").Select(e => new MinioPolicyMembers(MinioJson.String(e, "policy") ?? "",
                MinioJson.Strings(e, "users"), MinioJson.Strings(e, "groups")))]);
    }

    private async Task<bool> AttachOrDetachAsync(MinioPolicyTarget target, IReadOnlyList<string> policies, bool attach,
        CancellationToken cancellationToken)
    {
        if (policies.Count == 0 || policies.Any(string.IsNullOrEmpty))
        {
            throw new ArgumentException("at least one non-empty policy name is required", nameof(policies));
        }

        var operation = attach ? "policy-attach" : "policy-detach";
        var body = Json(w =>
        {
            w.WriteStartArray("policies");
            foreach (var policy in policies)
            {
                w.WriteStringValue(policy);
            }

            w.WriteEndArray();
            w.WriteString(target.IsGroup ? "group" : "user", target.Name);
        });
        var response = await SendAsync(HttpMethod.Post, "idp/builtin/policy/" + (attach ? "attach" : "detach"), [], Encrypt(body), true,
            cancellationToken, operation: operation);
        if (response.IsSuccess)
        {
            return true; // 200 with an encrypted summary, 201 empty (early servers), 204: the summary is not needed
        }

        var code = BackendErrorCode.TryRead(response.Body);
        if (response.StatusCode == 400 && code == MinioAdminException.PolicyChangeAlreadyApplied)
        {
            return false;
        }

        if (response.StatusCode == 426 && code is MinioAdminException.VersionMismatch or null)
        {
            return await SetPolicyFallbackAsync(target, policies, attach, cancellationToken);
        }

        throw Failure(operation, response);
    }

    /// <summary>Servers before 2023-01 only know set-user-or-group-policy, which replaces the mapping: read, merge, write.</summary>
    private async Task<bool> SetPolicyFallbackAsync(MinioPolicyTarget target, IReadOnlyList<string> policies, bool attach,
        CancellationToken cancellationToken)
    {
        IReadOnlyList<string> current;
        if (target.IsGroup)
        {
            var group = await GetGroupAsync(target.Name, cancellationToken)
                ?? throw new MinioAdminException("policy-attach", 404, "XMinioAdminNoSuchGroup");
            current = group.Policy?.Split(',', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries) ?? [];
        }
        else
        {
            var user = await GetUserInfoAsync(target.Name, cancellationToken)
                ?? throw new MinioAdminException("policy-attach", 404, "XMinioAdminNoSuchUser");
            current = user.Policies;
        }

        var wanted = attach
            ? [.. current, .. policies.Where(p => !current.Contains(p, StringComparer.Ordinal))]
            : current.Where(p => !policies.Contains(p, StringComparer.Ordinal)).ToList();
        if (wanted.Count == current.Count)
        {
            return false;
        }

        await SetPolicyAsync(target, wanted, cancellationToken);
        return true;
    }

    private static IEnumerable<JsonElement> Objects(JsonElement root, string name) =>
        root.ValueKind == JsonValueKind.Object && root.TryGetProperty(name, out var list) && list.ValueKind == JsonValueKind.Array
            ? list.EnumerateArray().Where(e => e.ValueKind == JsonValueKind.Object).ToArray()
            : [];
}
