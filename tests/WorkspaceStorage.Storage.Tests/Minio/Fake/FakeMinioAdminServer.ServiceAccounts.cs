using System.Globalization;
using System.Text;
using System.Text.Json;
using System.Text.Json.Nodes;

namespace WorkspaceStorage.Storage.Tests.Minio;

/// <summary>
/// Service accounts (access keys): add, update, info, list, delete-service-account and list-access-keys-bulk.
/// Every answer that carries account data is encrypted, as on MinIO.
/// </summary>
internal sealed partial class FakeMinioAdminServer
{
    private ScriptedResponse AddServiceAccount(JsonNode body)
    {
        var parent = body["targetUser"]?.GetValue<string>() ?? "";
        if (!Users.ContainsKey(parent))
        {
            return ScriptedResponse.Error(404, "XMinioAdminNoSuchUser");
        }

        var accessKey = body["accessKey"]?.GetValue<string>() ?? "";
        var secret = body["secretKey"]?.GetValue<string>() ?? "";
        if (accessKey.Length < 3 || secret.Length < 8 || accessKey.Contains('=') || accessKey.Contains(','))
        {
            return ScriptedResponse.Error(400, "XMinioAdminInvalidArgument");
        }

        if (ServiceAccounts.ContainsKey(accessKey) || Users.ContainsKey(accessKey) || accessKey == AdminKey)
        {
            return ScriptedResponse.Error(409, "XMinioAdminServiceAccountExists");
        }

        var policy = body["policy"]?.ToJsonString();
        if (policy is not null && Encoding.UTF8.GetByteCount(policy) > 4096)
        {
            return ScriptedResponse.Error(400, "XMinioAdminResourceTooLarge");
        }

        var account = new FakeServiceAccount { Parent = parent, Secret = secret, SessionPolicy = policy };
        if (!IgnoresServiceAccountOptions && ApplyOptions(account, body["name"], body["description"], body["expiration"]) is { } refusal)
        {
            return refusal;
        }

        ServiceAccounts[accessKey] = account;
        // Servers before 2023-02-27 answer Go's zero time; later ones the expiration, or 1970-01-01 for "never".
        var expiration = IgnoresServiceAccountOptions ? "0001-01-01T00:00:00Z" : ExpirationOf(account);
        return Sealed(JsonSerializer.Serialize(new { credentials = new { accessKey, secretKey = secret, expiration } }));
    }

    /// <summary>Absent newPolicy drops the session policy (MinIO's behaviour, which is why the client always resends it).</summary>
    private ScriptedResponse UpdateServiceAccount(RecordedRequest request)
    {
        if (!ServiceAccounts.TryGetValue(Query(request, "accessKey"), out var account))
        {
            return ScriptedResponse.Error(404, "XMinioAdminServiceAccountNotFound");
        }

        var body = Decrypt(request);
        if (body["newSecretKey"]?.GetValue<string>() is { } newSecret && newSecret.Length < 8)
        {
            return ScriptedResponse.Error(400, "XMinioAdminInvalidArgument");
        }

        if (ApplyOptions(account, body["newName"], body["newDescription"], body["newExpiration"]) is { } refusal)
        {
            return refusal;
        }

        account.Secret = body["newSecretKey"]?.GetValue<string>() ?? account.Secret;
        account.Status = body["newStatus"]?.GetValue<string>() ?? account.Status;
        account.SessionPolicy = body["newPolicy"]?.ToJsonString();
        return ScriptedResponse.Empty(204);
    }

    private ScriptedResponse InfoServiceAccount(RecordedRequest request)
    {
        var accessKey = Query(request, "accessKey");
        return ServiceAccounts.TryGetValue(accessKey, out var account)
            ? Sealed(InfoJson(accessKey, account))
            : ScriptedResponse.Error(404, "XMinioAdminServiceAccountNotFound");
    }

    private ScriptedResponse ListServiceAccounts(RecordedRequest request)
    {
        var user = Query(request, "user");
        var accounts = ServiceAccounts.Where(p => p.Value.Parent == user).OrderBy(p => p.Key, StringComparer.Ordinal)
            .Select(p => ListEntry(p.Key, p.Value));
        return Sealed(new JsonObject { ["accounts"] = new JsonArray([.. accounts]) }.ToJsonString());
    }

    private ScriptedResponse DeleteServiceAccount(RecordedRequest request) =>
        ServiceAccounts.Remove(Query(request, "accessKey"))
            ? ScriptedResponse.Empty(204)
            : ScriptedResponse.Error(404, "XMinioAdminServiceAccountNotFound");

    /// <summary>user → {serviceAccounts, stsKeys} for the named users (or all), as mc admin accesskey ls reads it.</summary>
    private ScriptedResponse ListAccessKeysBulk(RecordedRequest request)
    {
        var users = QueryAll(request, "users").ToList();
        var all = Query(request, "all") == "true";
        var listType = Query(request, "listType");
        if ((all && users.Count > 0) || listType is not ("users-only" or "sts-only" or "svcacc-only" or "all"))
        {
            return ScriptedResponse.Error(400, "XMinioInvalidRequest");
        }

        var result = new JsonObject();
        foreach (var user in (all ? [.. Users.Keys, AdminKey] : users.Where(Users.ContainsKey)).Order(StringComparer.Ordinal))
        {
            var keys = ServiceAccounts.Where(p => p.Value.Parent == user).OrderBy(p => p.Key, StringComparer.Ordinal)
                .Select(p => new JsonObject { ["accessKey"] = p.Key, ["expiration"] = ExpirationOf(p.Value) }).ToList();
            var withAccounts = listType is "svcacc-only" or "all";
            if (listType == "sts-only" || (listType == "svcacc-only" && keys.Count == 0))
            {
                continue; // this fake issues no STS keys
            }

            result[user] = new JsonObject
            {
                ["serviceAccounts"] = withAccounts ? new JsonArray([.. keys]) : null,
                ["stsKeys"] = null,
            };
        }

        return Sealed(result.ToJsonString());
    }

    /// <summary>Name, description and expiration as MinIO checks them (since RELEASE.2023-02-27).</summary>
    private static ScriptedResponse? ApplyOptions(FakeServiceAccount account, JsonNode? name, JsonNode? description, JsonNode? expiration)
    {
        if (name?.GetValue<string>() is { } newName)
        {
            if (newName.Length > 32 || !NamePattern().IsMatch(newName))
            {
                return ScriptedResponse.Error(400, "XMinioAdminInvalidArgument");
            }

            account.Name = newName;
        }

        if (description?.GetValue<string>() is { } newDescription)
        {
            if (Encoding.UTF8.GetByteCount(newDescription) > 256)
            {
                return ScriptedResponse.Error(400, "XMinioAdminInvalidArgument");
            }

            account.Description = newDescription;
        }

        if (expiration?.GetValue<string>() is { } text)
        {
            var when = DateTimeOffset.Parse(text, CultureInfo.InvariantCulture);
            if (when < DateTimeOffset.UtcNow.AddMinutes(15) || when > DateTimeOffset.UtcNow.AddDays(365))
            {
                return ScriptedResponse.Error(400, "XMinioAdminInvalidExpiration");
            }

            account.Expiration = when;
        }

        return null;
    }

    /// <summary>
    /// madmin.InfoServiceAccountResp: an account without a session policy shows its parent's combined policy, and one
    /// that never expires has no expiration at all (MinIO leaves the field out; mc then prints "no-expiry").
    /// </summary>
    private string InfoJson(string accessKey, FakeServiceAccount account)
    {
        var info = ListEntry(accessKey, account);
        info["policy"] = account.SessionPolicy ?? CombinedPolicyOf(account.Parent);
        if (account.Expiration is null)
        {
            info.Remove("expiration");
        }

        return info.ToJsonString();
    }

    /// <summary>madmin.ServiceAccountInfo, as list-service-accounts writes it: 1970-01-01 for "never expires".</summary>
    private static JsonObject ListEntry(string accessKey, FakeServiceAccount account) => new()
    {
        ["parentUser"] = account.Parent,
        ["accountStatus"] = account.Status,
        ["impliedPolicy"] = account.SessionPolicy is null,
        ["accessKey"] = accessKey,
        ["name"] = account.Name,
        ["description"] = account.Description,
        ["expiration"] = ExpirationOf(account),
    };

    /// <summary>The statements of every policy mapped to the user and to its groups, in one document.</summary>
    private string CombinedPolicyOf(string user)
    {
        var names = (Users.TryGetValue(user, out var u) ? u.Policies : [])
            .Concat(Groups.Values.Where(g => g.Members.Contains(user)).SelectMany(g => g.Policies))
            .Distinct();
        var statements = names.Where(Policies.ContainsKey).SelectMany(n => JsonNode.Parse(Policies[n])!["Statement"]!.AsArray().Select(x => x!.DeepClone()));
        return new JsonObject { ["Version"] = "2012-10-17", ["Statement"] = new JsonArray([.. statements]) }.ToJsonString();
    }

    /// <summary>MinIO writes 1970-01-01 for accounts that never expire.</summary>
    private static string ExpirationOf(FakeServiceAccount account) =>
        (account.Expiration ?? DateTimeOffset.UnixEpoch).UtcDateTime.ToString("yyyy-MM-dd'T'HH:mm:ss'Z'", CultureInfo.InvariantCulture);
}
