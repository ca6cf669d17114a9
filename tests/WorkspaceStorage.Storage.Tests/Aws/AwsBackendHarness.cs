using System.Net;
using Amazon.S3;
using Amazon.S3.Model;
using Microsoft.Extensions.Logging.Abstractions;
using WorkspaceStorage.Core.Signing;
using WorkspaceStorage.Core.Workspaces;
using WorkspaceStorage.Storage.Aws;
using WorkspaceStorage.Storage.Backends;
using WorkspaceStorage.Storage.Http;
using WorkspaceStorage.Storage.Iam;
using WorkspaceStorage.Storage.S3;
using WorkspaceStorage.Storage.Tests.Contract;
using WorkspaceStorage.Storage.Tests.CephRgw;
using WorkspaceStorage.Testing.S3;
using S3Location = WorkspaceStorage.Storage.Backends.S3Location;

namespace WorkspaceStorage.Storage.Tests.Aws;

/// <summary>
/// One AWS backend on moto with a bucket of its own, IAM authorization on (every call below is authenticated and
/// checked against the policies moto holds), plus an admin IAM client for changing things behind the backend's back.
/// </summary>
internal sealed class AwsBackendHarness : IBackendContractHarness
{
    private readonly List<WorkspaceId> workspaces = [];
    private readonly S3ClientFactory s3Factory = new();
    private readonly QueryApiConnection adminQuery;
    private readonly HttpClient http = new(new SocketsHttpHandler { UseProxy = false, ConnectTimeout = TimeSpan.FromSeconds(5) }) { Timeout = Timeout.InfiniteTimeSpan };

    private AwsBackendHarness(MotoTestServer server, string bucket, AwsCredentials? admin)
    {
        Server = server;
        Location = new S3Location(server.Endpoint, server.Endpoint, server.Region, bucket);
        var buckets = new AdminBucketOperations(s3Factory.Create(Location, server.Admin));
        var options = new AwsBackendOptions(Location, admin ?? server.Admin)
        {
            Retry = new RetryOptions { AttemptTimeout = TimeSpan.FromSeconds(10), MaxAttempts = 3 },
        };
        Backend = new AwsStorageBackend(options, http, buckets, Counter, NullLogger<AwsStorageBackend>.Instance);
        var sender = new SignedHttpSender(http, new SigV4Signer(), new RetryOptions(), NullBackendCallObserver.Instance, "test");
        adminQuery = new QueryApiConnection(AwsStorageBackend.BackendType, server.Endpoint, server.Region, server.Admin, sender, "test admin");
        Iam = new IamClient(adminQuery);
        AdminS3 = server.CreateAwsS3Client(server.Admin);
    }

    public MotoTestServer Server { get; }

    public S3Location Location { get; }

    public string Bucket => Location.Bucket;

    public BackendCallCounter Counter { get; } = new();

    public AwsStorageBackend Backend { get; }

    /// <summary>The admin's IAM, for looking (and meddling) behind the backend's back.</summary>
    public IamClient Iam { get; }

    public AmazonS3Client AdminS3 { get; }

    public static CancellationToken Ct => TestContext.Current.CancellationToken;

    public static async Task<AwsBackendHarness> StartAsync()
    {
        var harness = new AwsBackendHarness(MotoTestServer.Require(), RgwTestServer.UniqueBucketName("awsb"), null);
        await harness.Backend.EnsureBucketAsync(Ct);
        return harness;
    }

    /// <summary>A harness whose backend signs with other credentials (nothing is created).</summary>
    public static AwsBackendHarness WithAdmin(AwsCredentials admin) => new(MotoTestServer.Require(), RgwTestServer.UniqueBucketName("awsb"), admin);

    public WorkspaceId NewWorkspace(string stem, string? random = null, string suffix = "")
    {
        var id = WorkspaceId.Parse($"ws-{stem}{random ?? RgwBackendHarness.RandomPart()}{suffix}");
        workspaces.Add(id);
        return id;
    }

    public WorkspaceId Track(WorkspaceId id)
    {
        workspaces.Add(id);
        return id;
    }

    public static BackendNames Names(WorkspaceId workspace) => BackendNames.For(workspace, AwsStorageBackend.MaxNameLength);

    /// <summary>Ensures W's identity and has IAM make its first key.</summary>
    public async Task<AwsCredentials> IdentityAsync(WorkspaceId workspace, AccessLevel access = AccessLevel.ReadWrite)
    {
        await Backend.EnsureIdentityAsync(workspace, access, Ct);
        return await Backend.CreateKeyAsync(workspace, [], Ct);
    }

    public AmazonS3Client Client(AwsCredentials credentials) => Server.CreateAwsS3Client(credentials);

    /// <summary>Any IAM action as the admin (the backend's client has only what the backend calls); the answer's body.</summary>
    public async Task<byte[]> AdminCallAsync(string action, params (string Name, string Value)[] parameters)
    {
        var response = await adminQuery.PostFormAsync("iam", action, "2010-05-08", isWrite: true,
            parameters.Select(p => KeyValuePair.Create(p.Name, p.Value)), Ct);
        Assert.True(response.IsSuccess, $"{action}: HTTP {response.StatusCode} {System.Text.Encoding.UTF8.GetString(response.Body)}");
        return response.Body;
    }

    IStorageBackend IBackendContractHarness.Backend => Backend;

    /// <summary>Measured on moto 5.1.1 (issue 24): it authorizes S3 calls against IAM policies but ignores their conditions.</summary>
    public string? ListConfinementLimit =>
        "moto 5.1.1 does not evaluate the s3:prefix condition of ListBucket, so list confinement cannot be proven on it; " +
        "the same policy document is proven on Ceph RGW (RgwConfinementTests, the RGW run of this contract)";

    public string? PrefixListLimit => MotoPrefixListLimit;

    public const string MotoPrefixListLimit =
        "moto 5.1.1 computes the SigV4 signature of a query value holding '/' differently from AWS (botocore's own ListObjectsV2 " +
        "with Prefix=\"W/\" is refused with SignatureDoesNotMatch too), so no prefixed listing, and so no deletion of W's objects, " +
        "can run on it; the same code is proven on Ceph RGW (the RGW run of this contract)";

    public string? SessionPolicyLimit =>
        "moto 5.1.1 does not intersect an AssumeRole session with its session policy; the narrowing is proven on Ceph RGW " +
        "(RgwTemporaryCredentialsTests) and, on AWS, is AWS's documented rule";

    /// <summary>A key made by IAM, keeping every key W already has (AWS allows two).</summary>
    public async Task<AwsCredentials> NewKeyAsync(WorkspaceId workspace) =>
        await Backend.CreateKeyAsync(workspace, [.. await Backend.ListKeysAsync(workspace, Ct)], Ct);

    public async Task<bool> IdentityExistsAsync(WorkspaceId workspace) => await Iam.GetUserAsync(Names(workspace).Identity, Ct) is not null;

    public Task WidenBehindBackAsync(WorkspaceId workspace) => Iam.PutUserPolicyAsync(Names(workspace).Identity, "sneaky", RgwBackendHarness.WidePolicy, Ct);

    public async Task<(HttpStatusCode Status, string? Code)> PutAsync(AwsCredentials credentials, string key)
    {
        using var s3 = Client(credentials);
        return await S3Outcome.Of(() => s3.PutObjectAsync(new PutObjectRequest { BucketName = Bucket, Key = key, ContentBody = "content of " + key }, Ct));
    }

    public async Task<(HttpStatusCode Status, string? Code)> GetAsync(AwsCredentials credentials, string key)
    {
        using var s3 = Client(credentials);
        return await S3Outcome.Of(async () =>
        {
            using var response = await s3.GetObjectAsync(Bucket, key, Ct);
        });
    }

    public async Task PutAsAdminAsync(string key, string content) =>
        await AdminS3.PutObjectAsync(new PutObjectRequest { BucketName = Bucket, Key = key, ContentBody = content }, Ct);

    public async Task<List<string>> KeysAsAdminAsync(string prefix)
    {
        // moto 5.1.1 refuses (SignatureDoesNotMatch) any list whose prefix holds a '/': ask without it and filter here.
        var response = await AdminS3.ListObjectsV2Async(new ListObjectsV2Request { BucketName = Bucket, Prefix = prefix.Replace("/", "", StringComparison.Ordinal) }, Ct);
        return [.. (response.S3Objects ?? []).Select(o => o.Key).Where(k => k.StartsWith(prefix, StringComparison.Ordinal))];
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
                // best effort: a test about refused credentials has nothing to clean
            }
        }

        AdminS3.Dispose();
        s3Factory.Dispose();
        http.Dispose();
    }
}
