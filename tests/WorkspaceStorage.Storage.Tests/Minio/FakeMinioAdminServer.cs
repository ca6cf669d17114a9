using System.Globalization;
using System.Text;
using System.Text.Json;
using System.Text.Json.Nodes;
using System.Text.RegularExpressions;
using WorkspaceStorage.Core.Signing;
using WorkspaceStorage.Storage.Minio;

namespace WorkspaceStorage.Storage.Tests.Minio;

/// <summary>
/// A scripted, stateful stand-in for a MinIO server's admin API (users, canned policies, user→policy mappings,
/// service accounts), built on <see cref="RecordingAdminServer"/>. No MinIO server can run on this machine, so the
/// backend's behaviour is exercised against this fake, which follows the rules in minio-admin-api.md: SigV4 checked
/// against the known secrets, X-Amz-Content-Sha256 checked, encrypted payloads, 404 codes, PolicyInUse, already-applied
/// attach, 426 on older servers, service-account expiration ≥ now + 15 min, name pattern, session policy ≤ 4096 bytes.
/// </summary>
internal sealed partial class FakeMinioAdminServer : IAsyncDisposable
{
    private readonly Lock sync = new();
    private readonly SigV4Signer signer = new();
    private readonly RecordingAdminServer server;

    public FakeMinioAdminServer(string adminKey = "fakeadmin", string adminSecret = "fake-admin-secret-1")
    {
        AdminKey = adminKey;
        AdminSecret = adminSecret;
        server = new RecordingAdminServer(Handle);
    }

    public string AdminKey { get; }

    public string AdminSecret { get; }

    public Uri Endpoint => server.Endpoint;

    public IReadOnlyList<RecordedRequest> Requests => server.Requests;

    /// <summary>Behave like a server before 2023-01: idp/builtin/policy/* answer 426, only set-user-or-group-policy maps.</summary>
    public bool LegacyPolicyMapping { get; set; }

    public Dictionary<string, FakeUser> Users { get; } = new(StringComparer.Ordinal);

    public Dictionary<string, string> Policies { get; } = new(StringComparer.Ordinal);

    public Dictionary<string, FakeServiceAccount> ServiceAccounts { get; } = new(StringComparer.Ordinal);

    public ValueTask DisposeAsync() => server.DisposeAsync();

    public void Clear() => server.Clear();

    private ScriptedResponse Handle(RecordedRequest request)
    {
        if (request.Path == MinioAdminClient.LivenessPath)
        {
            return ScriptedResponse.Empty(200);
        }

        if (!request.Path.StartsWith(MinioAdminClient.AdminPathPrefix, StringComparison.Ordinal))
        {
            return ScriptedResponse.Error(404, "NoSuchKey");
        }

        if (SigV4Signer.HashHex(request.Body) != request.Header("x-amz-content-sha256"))
        {
            return ScriptedResponse.Error(400, "XAmzContentSHA256Mismatch");
        }

        lock (sync)
        {
            var caller = Authenticate(request, out var refusal);
            if (caller is null)
            {
                return refusal!;
            }

            if (caller != AdminKey)
            {
                return HandleServiceAccountCaller(caller, request);
            }

            try
            {
                return HandleAdmin(request);
            }
            catch (MinioPayloadException)
            {
                return ScriptedResponse.Error(400, "XMinioAdminConfigBadJSON");
            }
        }
    }

    /// <summary>Checks the SigV4 signature against the secret the server knows for the access key.</summary>
    private string? Authenticate(RecordedRequest request, out ScriptedResponse? refusal)
    {
        refusal = null;
        var authorization = request.Header("authorization") ?? "";
        var match = AuthorizationPattern().Match(authorization);
        if (!match.Success)
        {
            refusal = ScriptedResponse.Error(403, "AccessDenied");
            return null;
        }

        var accessKey = match.Groups["ak"].Value;
        string? secret = accessKey == AdminKey ? AdminSecret : null;
        if (secret is null && ServiceAccounts.TryGetValue(accessKey, out var account) && account.Enabled
            && (account.Expiration is null || account.Expiration > DateTimeOffset.UtcNow)
            && Users.TryGetValue(account.Parent, out var parent) && parent.Enabled)
        {
            secret = account.Secret;
        }

        if (secret is null)
        {
            refusal = ScriptedResponse.Error(403, "InvalidAccessKeyId");
            return null;
        }

        var signedHeaders = match.Groups["signed"].Value.Split(';');
        var headers = signedHeaders.Select(h => new KeyValuePair<string, string>(h, request.Header(h) ?? "")).ToList();
        var signable = new SigV4Request(request.Method, request.Header("host") ?? "", request.Path, request.Query, headers,
            request.Header("x-amz-content-sha256") ?? "");
        var time = DateTimeOffset.ParseExact(request.Header("x-amz-date") ?? "", SigV4Signer.DateFormat, CultureInfo.InvariantCulture,
            DateTimeStyles.AssumeUniversal);
        var expected = signer.ComputeAuthorization(signable, new AwsCredentials(accessKey, secret),
            new SigV4Scope(match.Groups["region"].Value, match.Groups["service"].Value), time);
        if (expected != authorization || match.Groups["service"].Value != "s3")
        {
            refusal = ScriptedResponse.Error(403, "SignatureDoesNotMatch");
            return null;
        }

        return accessKey;
    }

    /// <summary>A service account may read its own info (encrypted with its own secret); anything else is AccessDenied.</summary>
    private ScriptedResponse HandleServiceAccountCaller(string caller, RecordedRequest request)
    {
        if (request.Command == "info-service-account" && Query(request, "accessKey") == caller)
        {
            var account = ServiceAccounts[caller];
            return new ScriptedResponse(200, MinioPayloadCipher.Encrypt(account.Secret, Encoding.UTF8.GetBytes(InfoJson(account))));
        }

        return ScriptedResponse.Error(403, "AccessDenied");
    }

    private ScriptedResponse HandleAdmin(RecordedRequest request)
    {
        switch (request.Method, request.Command)
        {
            case ("GET", "info"):
                return ScriptedResponse.Json("""{"mode":"online","servers":[]}""");
            case ("GET", "user-info"):
                return Users.TryGetValue(Query(request, "accessKey"), out var info)
                    ? ScriptedResponse.Json(JsonSerializer.Serialize(new { policyName = string.Join(',', info.Policies), status = info.Status, memberOf = Array.Empty<string>() }))
                    : ScriptedResponse.Error(404, "XMinioAdminNoSuchUser");
            case ("PUT", "add-user"):
            {
                var body = Decrypt(request);
                var name = Query(request, "accessKey");
                var secret = body["secretKey"]!.GetValue<string>();
                if (name.Length < 3 || secret.Length < 8)
                {
                    return ScriptedResponse.Error(400, "XMinioAdminInvalidArgument");
                }

                var user = Users.TryGetValue(name, out var existing) ? existing : Users[name] = new FakeUser();
                user.Secret = secret;
                user.Status = body["status"]?.GetValue<string>() ?? "enabled";
                return ScriptedResponse.Empty(200);
            }

            case ("PUT", "set-user-status"):
                if (!Users.TryGetValue(Query(request, "accessKey"), out var toggled))
                {
                    return ScriptedResponse.Error(404, "XMinioAdminNoSuchUser");
                }

                toggled.Status = Query(request, "status");
                return ScriptedResponse.Empty(200);
            case ("DELETE", "remove-user"):
            {
                var name = Query(request, "accessKey");
                if (!Users.Remove(name))
                {
                    return ScriptedResponse.Error(404, "XMinioAdminNoSuchUser");
                }

                foreach (var key in ServiceAccounts.Where(p => p.Value.Parent == name).Select(p => p.Key).ToList())
                {
                    ServiceAccounts.Remove(key);
                }

                return ScriptedResponse.Empty(200);
            }

            case ("GET", "list-users"):
                return Sealed(JsonSerializer.Serialize(Users.ToDictionary(p => p.Key, p => new { policyName = string.Join(',', p.Value.Policies), status = p.Value.Status })));
            case ("GET", "info-canned-policy"):
            {
                var name = Query(request, "name");
                if (!Policies.TryGetValue(name, out var document))
                {
                    return ScriptedResponse.Error(404, "XMinioAdminNoSuchPolicy");
                }

                // MinIO answers its own serialisation of the parsed policy, not the bytes it was given.
                var reserialised = JsonNode.Parse(document)!.ToJsonString(new JsonSerializerOptions { WriteIndented = true });
                return ScriptedResponse.Json($$"""{"PolicyName":"{{name}}","Policy":{{reserialised}},"CreateDate":"2024-01-01T00:00:00Z"}""");
            }

            case ("PUT", "add-canned-policy"):
            {
                var text = Encoding.UTF8.GetString(request.Body);
                if (request.Body.Length > 20 * 1024 || JsonNode.Parse(text)?["Version"] is null)
                {
                    return ScriptedResponse.Error(400, "XMinioMalformedIAMPolicy");
                }

                Policies[Query(request, "name")] = text;
                return ScriptedResponse.Empty(200);
            }

            case ("DELETE", "remove-canned-policy"):
            {
                var name = Query(request, "name");
                if (!Policies.ContainsKey(name))
                {
                    return ScriptedResponse.Error(404, "XMinioAdminNoSuchPolicy");
                }

                if (Users.Values.Any(u => u.Policies.Contains(name)))
                {
                    return ScriptedResponse.Error(400, MinioAdminException.PolicyInUse);
                }

                Policies.Remove(name);
                return ScriptedResponse.Empty(200);
            }

            case ("POST", "idp/builtin/policy/attach"):
            case ("POST", "idp/builtin/policy/detach"):
                return LegacyPolicyMapping ? ScriptedResponse.Error(426, MinioAdminException.VersionMismatch) : AttachOrDetach(request);
            case ("PUT", "set-user-or-group-policy"):
            {
                if (Query(request, "isGroup") == "true" || !Users.TryGetValue(Query(request, "userOrGroup"), out var user))
                {
                    return ScriptedResponse.Error(404, "XMinioAdminNoSuchUser");
                }

                var wanted = Query(request, "policyName").Split(',', StringSplitOptions.RemoveEmptyEntries);
                if (wanted.Any(p => !Policies.ContainsKey(p)))
                {
                    return ScriptedResponse.Error(404, "XMinioAdminNoSuchPolicy");
                }

                user.Policies.Clear();
                user.Policies.AddRange(wanted);
                return ScriptedResponse.Empty(200);
            }

            case ("GET", "idp/builtin/policy-entities"):
            {
                var users = request.Query.Where(p => p.Key == "user").Select(p => p.Value).Where(Users.ContainsKey);
                var policies = request.Query.Where(p => p.Key == "policy").Select(p => p.Value).Where(Policies.ContainsKey);
                return Sealed(JsonSerializer.Serialize(new
                {
                    timestamp = DateTimeOffset.UtcNow,
                    userMappings = users.Select(u => new { user = u, policies = Users[u].Policies }),
                    policyMappings = policies.Select(p => new
                    {
                        policy = p,
                        users = Users.Where(u => u.Value.Policies.Contains(p)).Select(u => u.Key),
                        groups = Array.Empty<string>(),
                    }),
                }));
            }

            case ("PUT", "add-service-account"):
                return AddServiceAccount(Decrypt(request));
            case ("POST", "update-service-account"):
            {
                if (!ServiceAccounts.TryGetValue(Query(request, "accessKey"), out var account))
                {
                    return ScriptedResponse.Error(404, "XMinioAdminServiceAccountNotFound");
                }

                var body = Decrypt(request);
                account.Secret = body["newSecretKey"]?.GetValue<string>() ?? account.Secret;
                account.Status = body["newStatus"]?.GetValue<string>() ?? account.Status;
                account.SessionPolicy = body["newPolicy"]?.ToJsonString(); // absent: MinIO drops the session policy
                return ScriptedResponse.Empty(204);
            }

            case ("GET", "info-service-account"):
                return ServiceAccounts.TryGetValue(Query(request, "accessKey"), out var found)
                    ? Sealed(InfoJson(found))
                    : ScriptedResponse.Error(404, "XMinioAdminServiceAccountNotFound");
            case ("GET", "list-service-accounts"):
            {
                var user = Query(request, "user");
                var accounts = ServiceAccounts.Where(p => p.Value.Parent == user).Select(p => new Dictionary<string, object?>
                {
                    ["parentUser"] = p.Value.Parent,
                    ["accountStatus"] = p.Value.Status,
                    ["impliedPolicy"] = p.Value.SessionPolicy is null,
                    ["accessKey"] = p.Key,
                    ["name"] = p.Value.Name,
                    ["expiration"] = p.Value.Expiration,
                });
                return Sealed(JsonSerializer.Serialize(new { accounts }));
            }

            case ("DELETE", "delete-service-account"):
                return ServiceAccounts.Remove(Query(request, "accessKey"))
                    ? ScriptedResponse.Empty(204)
                    : ScriptedResponse.Error(404, "XMinioAdminServiceAccountNotFound");
            default:
                return ScriptedResponse.Error(426, MinioAdminException.VersionMismatch);
        }
    }

    private ScriptedResponse AttachOrDetach(RecordedRequest request)
    {
        var attach = request.Command.EndsWith("attach", StringComparison.Ordinal);
        var body = Decrypt(request);
        var policies = body["policies"]!.AsArray().Select(p => p!.GetValue<string>()).ToList();
        if (body["user"]?.GetValue<string>() is not { } name || !Users.TryGetValue(name, out var user))
        {
            return ScriptedResponse.Error(404, "XMinioAdminNoSuchUser");
        }

        if (policies.Any(p => !Policies.ContainsKey(p)))
        {
            return ScriptedResponse.Error(404, "XMinioAdminNoSuchPolicy");
        }

        var changed = attach ? policies.Where(p => !user.Policies.Contains(p)).ToList() : policies.Where(user.Policies.Contains).ToList();
        if (changed.Count == 0)
        {
            return ScriptedResponse.Error(400, MinioAdminException.PolicyChangeAlreadyApplied);
        }

        foreach (var policy in changed)
        {
            if (attach)
            {
                user.Policies.Add(policy);
            }
            else
            {
                user.Policies.Remove(policy);
            }
        }

        return Sealed(JsonSerializer.Serialize(new Dictionary<string, object>
        {
            [attach ? "policiesAttached" : "policiesDetached"] = changed,
            ["user"] = name,
        }));
    }

    private ScriptedResponse AddServiceAccount(JsonNode body)
    {
        var parent = body["targetUser"]?.GetValue<string>() ?? "";
        if (!Users.ContainsKey(parent))
        {
            return ScriptedResponse.Error(404, "XMinioAdminNoSuchUser");
        }

        var accessKey = body["accessKey"]!.GetValue<string>();
        var secret = body["secretKey"]!.GetValue<string>();
        if (accessKey.Length < 3 || secret.Length < 8 || accessKey.Contains('=') || accessKey.Contains(','))
        {
            return ScriptedResponse.Error(400, "XMinioAdminInvalidArgument");
        }

        if (ServiceAccounts.ContainsKey(accessKey) || Users.ContainsKey(accessKey))
        {
            return ScriptedResponse.Error(409, "XMinioAdminServiceAccountExists");
        }

        var name = body["name"]?.GetValue<string>();
        if (name is not null && (name.Length > 32 || !NamePattern().IsMatch(name)))
        {
            return ScriptedResponse.Error(400, "XMinioAdminInvalidArgument");
        }

        DateTimeOffset? expiration = body["expiration"] is { } e ? DateTimeOffset.Parse(e.GetValue<string>(), CultureInfo.InvariantCulture) : null;
        if (expiration is { } when && (when < DateTimeOffset.UtcNow.AddMinutes(15) || when > DateTimeOffset.UtcNow.AddDays(365)))
        {
            return ScriptedResponse.Error(400, "XMinioAdminInvalidExpiration");
        }

        var policy = body["policy"]?.ToJsonString();
        if (policy is not null && Encoding.UTF8.GetByteCount(policy) > 4096)
        {
            return ScriptedResponse.Error(400, "XMinioAdminResourceTooLarge");
        }

        ServiceAccounts[accessKey] = new FakeServiceAccount
        {
            Parent = parent,
            Secret = secret,
            SessionPolicy = policy,
            Name = name,
            Description = body["description"]?.GetValue<string>(),
            Expiration = expiration,
        };
        return Sealed(JsonSerializer.Serialize(new
        {
            credentials = new { accessKey, secretKey = secret, expiration = expiration ?? DateTimeOffset.UnixEpoch },
        }));
    }

    private static string InfoJson(FakeServiceAccount account) => JsonSerializer.Serialize(new Dictionary<string, object?>
    {
        ["parentUser"] = account.Parent,
        ["accountStatus"] = account.Status,
        ["impliedPolicy"] = account.SessionPolicy is null,
        ["policy"] = account.SessionPolicy ?? "",
        ["name"] = account.Name,
        ["description"] = account.Description,
        ["expiration"] = account.Expiration ?? DateTimeOffset.UnixEpoch,
    });

    private JsonNode Decrypt(RecordedRequest request) =>
        JsonNode.Parse(MinioPayloadCipher.Decrypt(AdminSecret, request.Body)) ?? throw new MinioPayloadException("empty");

    private ScriptedResponse Sealed(string json) => new(200, MinioPayloadCipher.Encrypt(AdminSecret, Encoding.UTF8.GetBytes(json)));

    private static string Query(RecordedRequest request, string key) => request.Query.FirstOrDefault(p => p.Key == key).Value ?? "";

    [GeneratedRegex(@"^AWS4-HMAC-SHA256 Credential=(?<ak>[^/]+)/\d{8}/(?<region>[^/]*)/(?<service>[^/]+)/aws4_request, SignedHeaders=(?<signed>[^,]+), Signature=[0-9a-f]{64}$")]
    private static partial Regex AuthorizationPattern();

    [GeneratedRegex("^[a-zA-Z][a-zA-Z0-9_-]*$")]
    private static partial Regex NamePattern();
}

internal sealed class FakeUser
{
    public string Secret { get; set; } = "";

    public string Status { get; set; } = "enabled";

    public List<string> Policies { get; } = [];

    public bool Enabled => Status == "enabled";
}

internal sealed class FakeServiceAccount
{
    public required string Parent { get; init; }

    public required string Secret { get; set; }

    public string Status { get; set; } = "on";

    public string? SessionPolicy { get; set; }

    public string? Name { get; init; }

    public string? Description { get; init; }

    public DateTimeOffset? Expiration { get; init; }

    public bool Enabled => Status == "on";
}
