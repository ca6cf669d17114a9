using System.Diagnostics;
using System.Globalization;
using System.Text;
using System.Text.Json;
using WorkspaceStorage.Core.Signing;
using WorkspaceStorage.Storage.Backends;
using WorkspaceStorage.Storage.Http;

namespace WorkspaceStorage.Storage.Minio;

/// <summary>
/// The MinIO admin API (/minio/admin/v3) as served by MinIO, AIStor, pgsty/silo and RustFS: users, canned policies,
/// policy mappings, groups and service accounts. Requests are SigV4-signed (service "s3") with the admin key and sent
/// through <see cref="SignedHttpSender"/> (timeouts, retries, call observer). Payloads that carry secrets travel
/// encrypted with <see cref="MinioPayloadCipher"/>, keyed with the admin secret.
/// </summary>
/// <remarks>
/// Lookups return null for "does not exist" so callers can read before they write; removals return false when the
/// thing was already gone. Other refusals raise <see cref="MinioAdminException"/> (401/403: <see cref="BackendAuthenticationException"/>).
/// </remarks>
public sealed class MinioAdminClient
{
    public const string BackendType = "minio";
    public const string AdminPathPrefix = "/minio/admin/v3/";
    public const string LivenessPath = "/minio/health/live";
    private const string OctetStream = "application/octet-stream";

    private readonly HttpClient http;
    private readonly MinioAdminOptions options;
    private readonly IBackendCallObserver observer;
    private readonly SignedHttpSender sender;
    private readonly SigV4Scope scope;
    private readonly string baseUrl;

    public MinioAdminClient(HttpClient http, MinioAdminOptions options, IBackendCallObserver? observer = null,
        TimeProvider? time = null, SigV4Signer? signer = null)
    {
        ArgumentNullException.ThrowIfNull(http);
        ArgumentNullException.ThrowIfNull(options);
        options.Retry.Validate();
        if (!options.Endpoint.IsAbsoluteUri || options.Endpoint.Scheme is not ("http" or "https"))
        {
            throw new ArgumentException("endpoint must be an absolute http or https URL", nameof(options));
        }

        if (options.Endpoint.UserInfo.Length > 0)
        {
            // It would end up in health details and error messages; the admin key belongs in AdminCredentials.
            throw new ArgumentException("endpoint must not carry user information; pass the admin key as AdminCredentials", nameof(options));
        }

        this.http = http;
        this.options = options;
        this.observer = observer ?? NullBackendCallObserver.Instance;
        sender = new SignedHttpSender(http, signer ?? new SigV4Signer(), options.Retry, this.observer, BackendType, time);
        scope = new SigV4Scope(options.Region, "s3");
        baseUrl = options.Endpoint.GetLeftPart(UriPartial.Authority);
    }

    public Uri Endpoint => options.Endpoint;

    // ---------------------------------------------------------------- users

    /// <summary>Creates the user, or sets its secret and status when it exists (MinIO's add-user is an upsert).</summary>
    public async Task AddUserAsync(string accessKey, string secretKey, bool enabled, CancellationToken cancellationToken)
    {
        var body = Json(w =>
        {
            w.WriteString("secretKey", secretKey);
            w.WriteString("status", enabled ? "enabled" : "disabled");
        });
        var response = await SendAsync(HttpMethod.Put, "add-user", [new("accessKey", accessKey)], Encrypt(body), true, cancellationToken);
        EnsureSuccess("add-user", response);
    }

    /// <summary>Returns false when the user did not exist.</summary>
    public async Task<bool> RemoveUserAsync(string accessKey, CancellationToken cancellationToken)
    {
        var response = await SendAsync(HttpMethod.Delete, "remove-user", [new("accessKey", accessKey)], null, true, cancellationToken);
        return SucceededOrAbsent("remove-user", response);
    }

    public async Task<IReadOnlyDictionary<string, MinioUserInfo>> ListUsersAsync(CancellationToken cancellationToken)
    {
        var response = await SendAsync(HttpMethod.Get, "list-users", [], null, false, cancellationToken);
        EnsureSuccess("list-users", response);
        using var doc = Parse("list-users", Decrypt(response.Body));
        var users = new Dictionary<string, MinioUserInfo>(StringComparer.Ordinal);
        if (doc.RootElement.ValueKind == JsonValueKind.Object)
        {
            foreach (var user in doc.RootElement.EnumerateObject())
            {
                users[user.Name] = ReadUserInfo(user.Value);
            }
        }

        return users;
    }

    /// <summary>Null when the user does not exist.</summary>
    public async Task<MinioUserInfo?> GetUserInfoAsync(string accessKey, CancellationToken cancellationToken)
    {
        var response = await SendAsync(HttpMethod.Get, "user-info", [new("accessKey", accessKey)], null, false, cancellationToken);
        if (IsAbsent("user-info", response))
        {
            return null;
        }

        using var doc = Parse("user-info", response.Body);
        return ReadUserInfo(doc.RootElement);
    }

    public async Task SetUserStatusAsync(string accessKey, bool enabled, CancellationToken cancellationToken)
    {
        var response = await SendAsync(HttpMethod.Put, "set-user-status",
            [new("accessKey", accessKey), new("status", enabled ? "enabled" : "disabled")], null, true, cancellationToken);
        EnsureSuccess("set-user-status", response);
    }

    // ---------------------------------------------------------------- canned policies

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

    // ---------------------------------------------------------------- groups

    /// <summary>Adds members to a group (creating it) or removes them (an empty removal deletes an empty group).</summary>
    public async Task UpdateGroupMembersAsync(string group, IReadOnlyList<string> members, bool isRemove, CancellationToken cancellationToken)
    {
        var body = Json(w =>
        {
            w.WriteString("group", group);
            w.WriteStartArray("members");
            foreach (var member in members)
            {
                w.WriteStringValue(member);
            }

            w.WriteEndArray();
            w.WriteString("groupStatus", "enabled");
            w.WriteBoolean("isRemove", isRemove);
        });
        var response = await SendAsync(HttpMethod.Put, "update-group-members", [], body, true, cancellationToken);
        EnsureSuccess("update-group-members", response);
    }

    /// <summary>Null when the group does not exist.</summary>
    public async Task<MinioGroupInfo?> GetGroupAsync(string group, CancellationToken cancellationToken)
    {
        var response = await SendAsync(HttpMethod.Get, "group", [new("group", group)], null, false, cancellationToken);
        if (IsAbsent("group", response))
        {
            return null;
        }

        using var doc = Parse("group", response.Body);
        var root = doc.RootElement;
        var policy = MinioJson.String(root, "policy");
        return new MinioGroupInfo(MinioJson.String(root, "name") ?? group, MinioJson.String(root, "status") ?? "",
            MinioJson.Strings(root, "members"), string.IsNullOrEmpty(policy) ? null : policy);
    }

    public async Task<IReadOnlyList<string>> ListGroupsAsync(CancellationToken cancellationToken)
    {
        var response = await SendAsync(HttpMethod.Get, "groups", [], null, false, cancellationToken);
        EnsureSuccess("groups", response);
        using var doc = Parse("groups", response.Body);
        return doc.RootElement.ValueKind == JsonValueKind.Array
            ? [.. doc.RootElement.EnumerateArray().Where(e => e.ValueKind == JsonValueKind.String).Select(e => e.GetString()!)]
            : [];
    }

    // ---------------------------------------------------------------- service accounts

    public async Task<MinioServiceAccountCredentials> AddServiceAccountAsync(MinioServiceAccountRequest request, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(request);
        var body = Json(w =>
        {
            if (request.SessionPolicyJson is not null)
            {
                w.WritePropertyName("policy");
                w.WriteRawValue(request.SessionPolicyJson);
            }

            w.WriteString("targetUser", request.TargetUser);
            w.WriteString("accessKey", request.Credentials.AccessKeyId);
            w.WriteString("secretKey", request.Credentials.SecretAccessKey);
            WriteIfSet(w, "name", request.Name);
            WriteIfSet(w, "description", request.Description);
            if (request.Expiration is { } expiration)
            {
                w.WriteString("expiration", Rfc3339(expiration));
            }
        });
        var response = await SendAsync(HttpMethod.Put, "add-service-account", [], Encrypt(body), true, cancellationToken);
        EnsureSuccess("add-service-account", response);
        using var doc = Parse("add-service-account", Decrypt(response.Body));
        var credentials = doc.RootElement.TryGetProperty("credentials", out var c) ? c : default;
        return new MinioServiceAccountCredentials(
            new AwsCredentials(MinioJson.String(credentials, "accessKey") ?? request.Credentials.AccessKeyId,
                MinioJson.String(credentials, "secretKey") ?? request.Credentials.SecretAccessKey),
            MinioJson.Expiration(credentials, "expiration") ?? request.Expiration);
    }

    public async Task UpdateServiceAccountAsync(string accessKey, MinioServiceAccountUpdate update, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(update);
        var body = Json(w =>
        {
            if (update.NewPolicyJson is not null)
            {
                w.WritePropertyName("newPolicy");
                w.WriteRawValue(update.NewPolicyJson);
            }

            WriteIfSet(w, "newSecretKey", update.NewSecretKey);
            WriteIfSet(w, "newStatus", update.NewStatus);
            WriteIfSet(w, "newName", update.NewName);
            WriteIfSet(w, "newDescription", update.NewDescription);
            if (update.NewExpiration is { } expiration)
            {
                w.WriteString("newExpiration", Rfc3339(expiration));
            }
        });
        var response = await SendAsync(HttpMethod.Post, "update-service-account", [new("accessKey", accessKey)], Encrypt(body), true, cancellationToken);
        EnsureSuccess("update-service-account", response);
    }

    /// <summary>Null when no service account has this access key.</summary>
    public async Task<MinioServiceAccountInfo?> GetServiceAccountAsync(string accessKey, CancellationToken cancellationToken)
    {
        var response = await SendAsync(HttpMethod.Get, "info-service-account", [new("accessKey", accessKey)], null, false, cancellationToken);
        if (IsAbsent("info-service-account", response))
        {
            return null;
        }

        using var doc = Parse("info-service-account", Decrypt(response.Body));
        var root = doc.RootElement;
        var implied = MinioJson.Bool(root, "impliedPolicy");
        var policy = root.TryGetProperty("policy", out var p)
            ? p.ValueKind == JsonValueKind.String ? p.GetString() : p.ValueKind == JsonValueKind.Object ? p.GetRawText() : null
            : null;
        return new MinioServiceAccountInfo(MinioJson.String(root, "parentUser") ?? "", MinioJson.String(root, "accountStatus") ?? "",
            implied, implied || string.IsNullOrEmpty(policy) ? null : policy, MinioJson.String(root, "name"),
            MinioJson.String(root, "description"), MinioJson.Expiration(root, "expiration"));
    }

    /// <summary>Service accounts whose parent is <paramref name="user"/>. Empty when the user does not exist.</summary>
    public async Task<IReadOnlyList<MinioServiceAccountSummary>> ListServiceAccountsAsync(string user, CancellationToken cancellationToken)
    {
        var response = await SendAsync(HttpMethod.Get, "list-service-accounts", [new("user", user)], null, false, cancellationToken);
        if (IsAbsent("list-service-accounts", response))
        {
            return [];
        }

        using var doc = Parse("list-service-accounts", Decrypt(response.Body));
        var accounts = new List<MinioServiceAccountSummary>();
        if (doc.RootElement.TryGetProperty("accounts", out var list) && list.ValueKind == JsonValueKind.Array)
        {
            foreach (var entry in list.EnumerateArray())
            {
                if (entry.ValueKind == JsonValueKind.String)
                {
                    accounts.Add(new MinioServiceAccountSummary(entry.GetString()!, null, null, null)); // servers before 2023
                }
                else if (MinioJson.String(entry, "accessKey") is { } accessKey)
                {
                    accounts.Add(new MinioServiceAccountSummary(accessKey, MinioJson.String(entry, "parentUser"), MinioJson.String(entry, "name"),
                        MinioJson.Expiration(entry, "expiration")));
                }
            }
        }

        return accounts;
    }

    /// <summary>Returns false when the service account did not exist.</summary>
    public async Task<bool> DeleteServiceAccountAsync(string accessKey, CancellationToken cancellationToken)
    {
        var response = await SendAsync(HttpMethod.Delete, "delete-service-account", [new("accessKey", accessKey)], null, true, cancellationToken);
        return SucceededOrAbsent("delete-service-account", response);
    }

    // ---------------------------------------------------------------- probes

    /// <summary>
    /// GET info?metrics=false (server information): a signed read that fails when the admin key is wrong or lacks admin
    /// rights. metrics=false is what madmin-go 3 and mc send; the server's default, so servers from before it answer alike.
    /// </summary>
    public async Task<JsonElement> ServerInfoAsync(CancellationToken cancellationToken)
    {
        var response = await SendAsync(HttpMethod.Get, "info", [new("metrics", "false")], null, false, cancellationToken);
        EnsureSuccess("info", response);
        using var doc = Parse("info", response.Body);
        return doc.RootElement.Clone();
    }

    /// <summary>The unsigned liveness probe. Returns the HTTP status; raises <see cref="BackendUnavailableException"/> when nothing answers in time.</summary>
    public async Task<int> CheckLivenessAsync(CancellationToken cancellationToken)
    {
        var started = Stopwatch.GetTimestamp();
        using var timeout = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
        timeout.CancelAfter(options.Retry.AttemptTimeout);
        try
        {
            using var request = new HttpRequestMessage(HttpMethod.Get, baseUrl + LivenessPath);
            using var response = await http.SendAsync(request, HttpCompletionOption.ResponseHeadersRead, timeout.Token);
            var status = (int)response.StatusCode;
            Report("health-live", started, status is >= 200 and < 300 ? null : status.ToString(CultureInfo.InvariantCulture));
            return status;
        }
        catch (OperationCanceledException) when (!cancellationToken.IsCancellationRequested)
        {
            Report("health-live", started, "Timeout");
            throw new BackendUnavailableException($"minio health-live: no answer within {options.Retry.AttemptTimeout.TotalSeconds:0.#} s");
        }
        catch (HttpRequestException ex)
        {
            Report("health-live", started, "ConnectionError");
            throw new BackendUnavailableException($"minio health-live: {ex.Message}", ex);
        }
    }

    /// <summary>
    /// Whether the server accepts <paramref name="credentials"/>' signature: a read of the key's own service-account
    /// info, signed with that key. A wrong secret answers SignatureDoesNotMatch, an unknown key InvalidAccessKeyId; any
    /// other answer (the info, or AccessDenied) proves the secret. The only way to compare a secret MinIO never returns.
    /// </summary>
    public async Task<bool> AcceptsCredentialsAsync(AwsCredentials credentials, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(credentials);
        try
        {
            await SendAsync(HttpMethod.Get, "info-service-account", [new("accessKey", credentials.AccessKeyId)], null, false, cancellationToken,
                credentials, "probe-key");
            return true;
        }
        catch (BackendAuthenticationException ex) when (ex.ErrorCode is "SignatureDoesNotMatch" or "InvalidAccessKeyId" or "XMinioInvalidIAMCredentials")
        {
            return false;
        }
    }

    // ---------------------------------------------------------------- plumbing

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

    private Task<SignedResponse> SendAsync(HttpMethod method, string command, IReadOnlyList<KeyValuePair<string, string>> query, byte[]? body,
        bool isWrite, CancellationToken cancellationToken, AwsCredentials? credentials = null, string? operation = null)
    {
        var url = new StringBuilder(baseUrl).Append(AdminPathPrefix).Append(command);
        for (var i = 0; i < query.Count; i++)
        {
            url.Append(i == 0 ? '?' : '&').Append(AwsUriEncoding.Escape(query[i].Key)).Append('=').Append(AwsUriEncoding.Escape(query[i].Value));
        }

        // An empty body still goes out so that Content-Type is always present (idp/builtin/* refuse requests without it).
        var request = new SignedRequest(method, url.ToString(), credentials ?? options.AdminCredentials, scope, operation ?? command, isWrite,
            body ?? [], OctetStream);
        return sender.SendAsync(request, cancellationToken);
    }

    private byte[] Encrypt(byte[] plaintext)
    {
        try
        {
            return MinioPayloadCipher.Encrypt(options.AdminCredentials.SecretAccessKey, plaintext);
        }
        finally
        {
            Array.Clear(plaintext);
        }
    }

    private byte[] Decrypt(byte[] ciphertext) => MinioPayloadCipher.Decrypt(options.AdminCredentials.SecretAccessKey, ciphertext);

    private static void EnsureSuccess(string operation, SignedResponse response)
    {
        if (!response.IsSuccess)
        {
            throw Failure(operation, response);
        }
    }

    private static bool IsAbsent(string operation, SignedResponse response)
    {
        if (response.IsSuccess)
        {
            return false;
        }

        var failure = Failure(operation, response);
        return failure is MinioAdminException { IsNotFound: true } ? true : throw failure;
    }

    private static bool SucceededOrAbsent(string operation, SignedResponse response) => !IsAbsent(operation, response);

    private static StorageBackendException Failure(string operation, SignedResponse response)
    {
        var code = BackendErrorCode.TryRead(response.Body);
        if (response.StatusCode is 401 or 403 && code is not MinioAdminException.PolicyInUse)
        {
            return new BackendAuthenticationException($"minio {operation}: the admin credentials were refused ({code ?? response.StatusCode.ToString(CultureInfo.InvariantCulture)})")
            {
                StatusCode = response.StatusCode,
                ErrorCode = code,
            };
        }

        return new MinioAdminException(operation, response.StatusCode, code);
    }

    private static JsonDocument Parse(string operation, byte[] body)
    {
        try
        {
            return JsonDocument.Parse(body.Length == 0 ? "{}"u8.ToArray() : body);
        }
        catch (JsonException)
        {
            throw new StorageBackendException($"minio {operation}: the answer is not JSON ({body.Length} bytes)", isTransient: false);
        }
    }

    private static MinioUserInfo ReadUserInfo(JsonElement element) =>
        new(MinioJson.String(element, "policyName"), MinioJson.String(element, "status") ?? "", MinioJson.Strings(element, "memberOf"));

    private static IEnumerable<JsonElement> Objects(JsonElement root, string name) =>
        root.ValueKind == JsonValueKind.Object && root.TryGetProperty(name, out var list) && list.ValueKind == JsonValueKind.Array
            ? list.EnumerateArray().Where(e => e.ValueKind == JsonValueKind.Object).ToArray()
            : [];

    private static byte[] Json(Action<Utf8JsonWriter> write)
    {
        using var buffer = new MemoryStream();
        using (var writer = new Utf8JsonWriter(buffer))
        {
            writer.WriteStartObject();
            write(writer);
            writer.WriteEndObject();
        }

        return buffer.ToArray();
    }

    private static void WriteIfSet(Utf8JsonWriter writer, string name, string? value)
    {
        if (value is not null)
        {
            writer.WriteString(name, value);
        }
    }

    private static string Rfc3339(DateTimeOffset time) => time.UtcDateTime.ToString("yyyy-MM-dd'T'HH:mm:ss'Z'", CultureInfo.InvariantCulture);

    private void Report(string operation, long started, string? error) =>
        observer.OnCall(new BackendCall(BackendType, operation, false, Stopwatch.GetElapsedTime(started), error));
}
