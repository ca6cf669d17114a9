using System.Net;
using Amazon.S3;
using Amazon.S3.Model;
using S3Location = WorkspaceStorage.Storage.Backends.S3Location;
using Microsoft.Extensions.Logging.Abstractions;
using WorkspaceStorage.Core.Credentials;
using WorkspaceStorage.Core.Signing;
using WorkspaceStorage.Core.Workspaces;
using WorkspaceStorage.Storage.Backends;
using WorkspaceStorage.Storage.CephRgw;
using WorkspaceStorage.Storage.Http;
using WorkspaceStorage.Storage.Iam;
using WorkspaceStorage.Storage.S3;
using WorkspaceStorage.Storage.Tests.Contract;
using WorkspaceStorage.Testing.S3;

namespace WorkspaceStorage.Storage.Tests.CephRgw;

/// <summary>
/// One backend on the real local RGW with a bucket of its own, plus the clients an attacker would use.
/// Workspace ids get a random part because RGW users are global across buckets and tests run in parallel.
/// </summary>
internal sealed class RgwBackendHarness : IBackendContractHarness
{
    private readonly List<WorkspaceId> workspaces = [];
    private readonly S3ClientFactory s3Factory;
    private readonly HttpClient http;

    private RgwBackendHarness(RgwTestServer server, string bucket, RetryOptions? retry, AwsCredentials? admin, Uri? endpoint, bool adminOwnsBucket = false)
    {
        Server = server;
        Location = new S3Location(endpoint ?? server.Endpoint, endpoint ?? server.Endpoint, server.Region, bucket);
        s3Factory = new S3ClientFactory();
        Buckets = new AdminBucketOperations(s3Factory.Create(new S3Location(server.Endpoint, server.Endpoint, server.Region, bucket),
            adminOwnsBucket ? admin ?? server.Admin : server.Admin));
        http = new HttpClient(new SocketsHttpHandler { UseProxy = false, ConnectTimeout = TimeSpan.FromSeconds(5) }) { Timeout = Timeout.InfiniteTimeSpan };
        var options = new CephRgwBackendOptions(Location, admin ?? server.Admin) { Retry = retry ?? new RetryOptions { AttemptTimeout = TimeSpan.FromSeconds(10), MaxAttempts = 3 } };
        Backend = new CephRgwStorageBackend(options, http, Buckets, Counter, NullLogger<CephRgwStorageBackend>.Instance);
        var connection = new RgwConnection(server.Endpoint, server.Region, server.Admin,
            new SignedHttpSender(http, new SigV4Signer(), new RetryOptions(), NullBackendCallObserver.Instance, "test"));
        AdminOps = new RgwAdminOpsClient(connection);
        Iam = new IamClient(connection.Query);
        Sts = new StsClient(connection.Query);
        AdminS3 = server.CreateAwsS3Client(server.Admin);
    }

    public RgwTestServer Server { get; }

    public S3Location Location { get; }

    public string Bucket => Location.Bucket;

    public BackendCallCounter Counter { get; } = new();

    public CephRgwStorageBackend Backend { get; }

    public AdminBucketOperations Buckets { get; }

    /// <summary>Admin-side clients for looking behind the backend's back.</summary>
    public RgwAdminOpsClient AdminOps { get; }

    public IamClient Iam { get; }

    public StsClient Sts { get; }

    public AmazonS3Client AdminS3 { get; }

    public static CancellationToken Ct => TestContext.Current.CancellationToken;

    /// <summary>A harness with its own bucket already created.</summary>
    public static async Task<RgwBackendHarness> StartAsync()
    {
        var harness = new RgwBackendHarness(RgwTestServer.Require(), RgwTestServer.UniqueBucketName("rgwb"), null, null, null);
        await harness.Backend.EnsureBucketAsync(Ct);
        return harness;
    }

    /// <summary>A harness whose backend uses other admin credentials or endpoint (nothing is created).</summary>
    public static RgwBackendHarness WithBackend(AwsCredentials? admin = null, Uri? endpoint = null, RetryOptions? retry = null) =>
        new(RgwTestServer.Require(), RgwTestServer.UniqueBucketName("rgwb"), retry, admin, endpoint);

    /// <summary>
    /// A harness whose backend does everything, bucket calls included, as <paramref name="admin"/> (as the operator
    /// does with its one admin key); the looking-behind-the-back clients stay the test server's full admin. Nothing is created.
    /// </summary>
    public static RgwBackendHarness ForAdmin(AwsCredentials admin, string? bucket = null) =>
        new(RgwTestServer.Require(), bucket ?? RgwTestServer.UniqueBucketName("rgwb"), null, admin, null, adminOwnsBucket: true);

    /// <summary>A fresh workspace id "ws-{stem}{random}{suffix}"; remembered so the identity is removed afterwards.</summary>
    public WorkspaceId NewWorkspace(string stem, string? random = null, string suffix = "")
    {
        var id = WorkspaceId.Parse($"ws-{stem}{random ?? RandomPart()}{suffix}");
        workspaces.Add(id);
        return id;
    }

    public static string RandomPart() => Guid.NewGuid().ToString("N")[..8];

    /// <summary>Ensures W's identity and gives it a new long-lived key.</summary>
    public async Task<AwsCredentials> IdentityAsync(WorkspaceId workspace, AccessLevel access = AccessLevel.ReadWrite)
    {
        await Backend.EnsureIdentityAsync(workspace, access, Ct);
        var key = AccessKeyGenerator.Generate();
        Assert.Equal(EnsureOutcome.Created, await Backend.EnsureKeyAsync(workspace, key, Ct));
        return key;
    }

    public AmazonS3Client Client(AwsCredentials credentials) => Server.CreateAwsS3Client(credentials);

    IStorageBackend IBackendContractHarness.Backend => Backend;

    /// <summary>RGW evaluates ListBucket's s3:prefix condition (RgwConfinementTests prove it).</summary>
    public string? ListConfinementLimit => null;

    public string? SessionPolicyLimit => null;

    public string? PrefixListLimit => null;

    /// <summary>RGW imports the key the caller made, as the operator does it.</summary>
    public async Task<AwsCredentials> NewKeyAsync(WorkspaceId workspace)
    {
        var key = AccessKeyGenerator.Generate();
        Assert.Equal(EnsureOutcome.Created, await Backend.EnsureKeyAsync(workspace, key, Ct));
        return key;
    }

    public async Task<bool> IdentityExistsAsync(WorkspaceId workspace) =>
        await AdminOps.GetUserAsync(RgwNames.For(workspace, CephRgwStorageBackend.MaxNameLength).Identity, Ct) is not null;

    public Task WidenBehindBackAsync(WorkspaceId workspace) =>
        Iam.PutUserPolicyAsync(RgwNames.For(workspace, CephRgwStorageBackend.MaxNameLength).Identity, "sneaky", WidePolicy, Ct);

    /// <summary>Every S3 action on every bucket: what a careless admin might attach.</summary>
    public const string WidePolicy = """{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":["s3:*"],"Resource":["arn:aws:s3:::*"]}]}""";

    /// <summary>Tries a PUT that must be refused (on connections of its own, as every test client has).</summary>
    public async Task DeniedPutAsync(AwsCredentials credentials, string key, string what)
    {
        using var fresh = Client(credentials);
        await S3Outcome.Denied(() => fresh.PutObjectAsync(new PutObjectRequest { BucketName = Bucket, Key = key, ContentBody = "pwned" }, Ct), what);
    }

    public async Task PutAsAdminAsync(string key, string content) =>
        await AdminS3.PutObjectAsync(new PutObjectRequest { BucketName = Bucket, Key = key, ContentBody = content }, Ct);

    public async Task<string?> ReadAsAdminAsync(string key)
    {
        try
        {
            using var response = await AdminS3.GetObjectAsync(Bucket, key, Ct);
            using var reader = new StreamReader(response.ResponseStream);
            return await reader.ReadToEndAsync(Ct);
        }
        catch (AmazonS3Exception ex) when (ex.StatusCode == HttpStatusCode.NotFound)
        {
            return null;
        }
    }

    public async Task<List<string>> KeysAsAdminAsync(string prefix)
    {
        var response = await AdminS3.ListObjectsV2Async(new ListObjectsV2Request { BucketName = Bucket, Prefix = prefix }, Ct);
        return [.. (response.S3Objects ?? []).Select(o => o.Key)];
    }

    /// <summary>Presigns with the project's signer, as the companion API does.</summary>
    public string Presign(string method, string key, AwsCredentials credentials, TimeSpan? expires = null)
    {
        var endpoint = Server.Endpoint;
        return new SigV4Signer().Presign(method, endpoint.GetLeftPart(UriPartial.Authority), $"{endpoint.Host}:{endpoint.Port}",
            $"/{Bucket}/{AwsUriEncoding.Escape(key, keepSlash: true)}", credentials, new SigV4Scope(Server.Region, "s3"),
            DateTimeOffset.UtcNow, expires ?? TimeSpan.FromMinutes(5));
    }

    /// <summary>
    /// Sends a request whose path goes on the wire exactly as <paramref name="wirePath"/>, signed over
    /// <paramref name="signedPath"/> (default: the wire path). Signing the decoded form while sending an encoded one
    /// gets past the signature check when the server decodes before it verifies, so the policy itself is what is tested.
    /// </summary>
    public async Task<(HttpStatusCode Status, string Body)> SendRawAsync(HttpMethod method, string wirePath, AwsCredentials credentials,
        string? body = null, string? signedPath = null)
    {
        var endpoint = Server.Endpoint;
        using var message = new HttpRequestMessage(method, HttpRequestSigning.UnescapedUri(endpoint.GetLeftPart(UriPartial.Authority) + wirePath));
        var payload = body is null ? [] : System.Text.Encoding.UTF8.GetBytes(body);
        if (body is not null)
        {
            message.Content = new ByteArrayContent(payload);
        }

        var now = DateTimeOffset.UtcNow;
        var host = $"{endpoint.Host}:{endpoint.Port}";
        var payloadHash = SigV4Signer.HashHex(payload);
        var amzDate = now.UtcDateTime.ToString(SigV4Signer.DateFormat, System.Globalization.CultureInfo.InvariantCulture);
        message.Headers.TryAddWithoutValidation("x-amz-date", amzDate);
        message.Headers.TryAddWithoutValidation("x-amz-content-sha256", payloadHash);
        var headers = new List<KeyValuePair<string, string>> { new("host", host), new("x-amz-date", amzDate), new("x-amz-content-sha256", payloadHash) };
        var signable = new SigV4Request(method.Method, host, signedPath ?? wirePath, [], headers, payloadHash);
        message.Headers.TryAddWithoutValidation("Authorization",
            new SigV4Signer().ComputeAuthorization(signable, credentials, new SigV4Scope(Server.Region, "s3"), now));
        using var response = await http.SendAsync(message, Ct);
        return (response.StatusCode, await response.Content.ReadAsStringAsync(Ct));
    }

    public async Task<(HttpStatusCode Status, string Body)> GetUrlAsync(string url, HttpMethod? method = null, string? body = null)
    {
        using var message = new HttpRequestMessage(method ?? HttpMethod.Get, HttpRequestSigning.UnescapedUri(url));
        if (body is not null)
        {
            message.Content = new StringContent(body);
            message.Content.Headers.ContentType = null; // presigned URLs sign only the host
        }

        using var response = await http.SendAsync(message, Ct);
        return (response.StatusCode, await response.Content.ReadAsStringAsync(Ct));
    }

    public async ValueTask DisposeAsync()
    {
        foreach (var workspace in workspaces)
        {
            try
            {
                await Backend.DeleteWorkspaceAsync(workspace, DataDeletion.Retain, CancellationToken.None);
            }
            catch (StorageBackendException)
            {
                // best effort: a test about broken admin credentials has nothing to clean
            }
        }

        AdminS3.Dispose();
        s3Factory.Dispose();
        http.Dispose();
    }
}

/// <summary>Runs an S3 call and reports the HTTP status and error code instead of throwing.</summary>
internal static class S3Outcome
{
    public static async Task<(HttpStatusCode Status, string? Code)> Of(Func<Task> call)
    {
        try
        {
            await call();
            return (HttpStatusCode.OK, null);
        }
        catch (AmazonS3Exception ex)
        {
            return (ex.StatusCode, ex.ErrorCode);
        }
    }

    public static async Task Denied(Func<Task> call, string what)
    {
        var (status, code) = await Of(call);
        Assert.True(status == HttpStatusCode.Forbidden, $"{what}: expected 403, got {(int)status} {code}");
    }

    public static async Task Allowed(Func<Task> call, string what)
    {
        var (status, code) = await Of(call);
        Assert.True(status == HttpStatusCode.OK, $"{what}: expected success, got {(int)status} {code}");
    }
}
