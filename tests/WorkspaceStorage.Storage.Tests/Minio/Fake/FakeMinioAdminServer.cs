using System.Globalization;
using System.Text;
using System.Text.Json.Nodes;
using System.Text.RegularExpressions;
using WorkspaceStorage.Core.Signing;
using WorkspaceStorage.Storage.Minio;

namespace WorkspaceStorage.Storage.Tests.Minio;

/// <summary>
/// A scripted, stateful stand-in for a MinIO server's admin API (users, groups, canned policies, policy mappings,
/// service accounts), built on <see cref="RecordingAdminServer"/>. No MinIO server can run on this machine, so the
/// backend's behaviour is exercised against this fake, which follows the rules in minio-admin-api.md and MinIO's own
/// handlers: SigV4 checked against the known secrets, X-Amz-Content-Sha256 checked, encrypted payloads, 404 codes,
/// PolicyInUse, already-applied attach, 426 on older servers, service-account expiration ≥ now + 15 min, name pattern,
/// session policy ≤ 4096 bytes. The real mc drives it in FakeServerUnderMcTests. One file per admin area, like
/// madmin-go and the client; this one authenticates and routes.
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

    /// <summary>
    /// Behave like a server before RELEASE.2023-02-27: add-service-account ignores name, description and expiration
    /// (the account never expires) and answers credentials without an expiration.
    /// </summary>
    public bool IgnoresServiceAccountOptions { get; set; }

    public Dictionary<string, FakeUser> Users { get; } = new(StringComparer.Ordinal);

    public Dictionary<string, FakeGroup> Groups { get; } = new(StringComparer.Ordinal);

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
                return Route(request);
            }
            catch (MinioPayloadException)
            {
                return ScriptedResponse.Error(400, "XMinioAdminConfigBadJSON");
            }
        }
    }

    /// <summary>The admin routes this fake serves (MinIO's cmd/admin-router.go); anything else is 426, as on MinIO.</summary>
    private ScriptedResponse Route(RecordedRequest request) => (request.Method, request.Command) switch
    {
        ("GET", "info") => ScriptedResponse.Json("""{"mode":"online","deploymentID":"fake","servers":[]}"""),
        ("PUT", "add-user") => AddUser(request),
        ("DELETE", "remove-user") => RemoveUser(request),
        ("GET", "list-users") => ListUsers(),
        ("GET", "user-info") => UserInfo(request),
        ("PUT", "set-user-status") => SetUserStatus(request),
        ("PUT", "update-group-members") => UpdateGroupMembers(request),
        ("GET", "group") => GroupInfo(request),
        ("GET", "groups") => ListGroups(),
        ("PUT", "set-group-status") => SetGroupStatus(request),
        ("PUT", "add-canned-policy") => AddCannedPolicy(request),
        ("DELETE", "remove-canned-policy") => RemoveCannedPolicy(request),
        ("GET", "info-canned-policy") => InfoCannedPolicy(request),
        ("GET", "list-canned-policies") => ListCannedPolicies(),
        ("POST", "idp/builtin/policy/attach" or "idp/builtin/policy/detach") =>
            LegacyPolicyMapping ? ScriptedResponse.Error(426, MinioAdminException.VersionMismatch) : AttachOrDetach(request),
        ("PUT", "set-user-or-group-policy") => SetUserOrGroupPolicy(request),
        ("GET", "idp/builtin/policy-entities") => PolicyEntities(request),
        ("PUT", "add-service-account") => AddServiceAccount(Decrypt(request)),
        ("POST", "update-service-account") => UpdateServiceAccount(request),
        ("GET", "info-service-account") => InfoServiceAccount(request),
        ("GET", "list-service-accounts") => ListServiceAccounts(request),
        ("DELETE", "delete-service-account") => DeleteServiceAccount(request),
        ("GET", "list-access-keys-bulk") => ListAccessKeysBulk(request),
        _ => ScriptedResponse.Error(426, MinioAdminException.VersionMismatch),
    };

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
            return new ScriptedResponse(200, MinioPayloadCipher.Encrypt(account.Secret, Encoding.UTF8.GetBytes(InfoJson(caller, account))));
        }

        return ScriptedResponse.Error(403, "AccessDenied");
    }

    private JsonNode Decrypt(RecordedRequest request) =>
        JsonNode.Parse(MinioPayloadCipher.Decrypt(AdminSecret, request.Body)) ?? throw new MinioPayloadException("empty");

    /// <summary>A 200 answer encrypted with the admin secret (the caller's), as MinIO seals its secret-bearing answers.</summary>
    private ScriptedResponse Sealed(string json) => new(200, MinioPayloadCipher.Encrypt(AdminSecret, Encoding.UTF8.GetBytes(json)));

    private static string Query(RecordedRequest request, string key) => request.Query.FirstOrDefault(p => p.Key == key).Value ?? "";

    /// <summary>set-user-status and set-group-status: 404 for an unknown name, 400 for a status other than enabled or disabled.</summary>
    private static ScriptedResponse SetStatus<T>(Dictionary<string, T> entities, string name, string missingCode, RecordedRequest request,
        Action<T, string> set)
    {
        if (!entities.TryGetValue(name, out var entity))
        {
            return ScriptedResponse.Error(404, missingCode);
        }

        var status = Query(request, "status");
        if (status is not ("enabled" or "disabled"))
        {
            return ScriptedResponse.Error(400, "XMinioAdminInvalidArgument");
        }

        set(entity, status);
        return ScriptedResponse.Empty(200);
    }

    private static IEnumerable<string> QueryAll(RecordedRequest request, string key) => request.Query.Where(p => p.Key == key).Select(p => p.Value);

    [GeneratedRegex(@"^AWS4-HMAC-SHA256 Credential=(?<ak>[^/]+)/\d{8}/(?<region>[^/]*)/(?<service>[^/]+)/aws4_request, SignedHeaders=(?<signed>[^,]+), Signature=[0-9a-f]{64}$")]
    private static partial Regex AuthorizationPattern();

    [GeneratedRegex("^[a-zA-Z][a-zA-Z0-9_-]*$")]
    private static partial Regex NamePattern();
}
