using WorkspaceStorage.Storage.Backends;
using WorkspaceStorage.Storage.S3;
using WorkspaceStorage.Testing.S3;

namespace WorkspaceStorage.Storage.Tests.S3;

/// <summary>A fresh bucket on the local Ceph RGW, an admin client for it, and cleanup of what the test left behind.</summary>
internal sealed class RgwS3Context : IAsyncDisposable
{
    private RgwS3Context(RgwTestServer server, string bucket, S3ClientOptions? options)
    {
        Server = server;
        Calls = new BackendCallCounter();
        Factory = new S3ClientFactory(options, Calls);
        Location = new S3Location(server.Endpoint, server.Endpoint, server.Region, bucket);
        Admin = Factory.Create(Location, server.Admin);
        Bucket = new AdminBucketOperations(Admin);
        Plain = new HttpClient(new SocketsHttpHandler { UseProxy = false }) { Timeout = TimeSpan.FromSeconds(60) };
    }

    public RgwTestServer Server { get; }

    public BackendCallCounter Calls { get; }

    public S3ClientFactory Factory { get; }

    public S3Location Location { get; }

    public S3ObjectClient Admin { get; }

    public AdminBucketOperations Bucket { get; }

    /// <summary>A plain HttpClient, as a Hypha client holding a presigned URL would use.</summary>
    public HttpClient Plain { get; }

    public static CancellationToken Cancel => TestContext.Current.CancellationToken;

    /// <summary>Skips (or fails under make test) without RGW; otherwise creates a bucket no other test uses.</summary>
    public static async Task<RgwS3Context> CreateAsync(S3ClientOptions? options = null, bool createBucket = true)
    {
        var server = RgwTestServer.Require();
        var context = new RgwS3Context(server, RgwTestServer.UniqueBucketName("s3c"), options);
        if (createBucket)
        {
            await context.Bucket.EnsureBucketAsync(Cancel);
            context.Calls.Reset();
        }

        return context;
    }

    public async ValueTask DisposeAsync()
    {
        try
        {
            // RGW keeps objects in RAM: leave nothing behind.
            var keys = new List<string>();
            await foreach (var page in Admin.ListAllAsync("", null, null, CancellationToken.None))
            {
                keys.AddRange(page.Objects.Select(o => o.Key));
            }

            await Admin.DeleteManyAsync(keys, CancellationToken.None);
            foreach (var upload in await Admin.ListMultipartUploadsAsync("", CancellationToken.None))
            {
                await Admin.AbortMultipartUploadAsync(upload.Key, upload.UploadId, CancellationToken.None);
            }
        }
        catch (StorageBackendException)
        {
            // the bucket may never have been created
        }

        Plain.Dispose();
        Factory.Dispose();
    }
}

/// <summary>An RGW user made through the Admin Ops API for one test, removed (with its data) afterwards.</summary>
internal sealed class RgwTestUser : IAsyncDisposable
{
    private readonly RgwS3Context context;
    private readonly WorkspaceStorage.Storage.Http.SignedHttpSender sender;

    private RgwTestUser(RgwS3Context context, string uid, WorkspaceStorage.Core.Signing.AwsCredentials credentials,
        WorkspaceStorage.Storage.Http.SignedHttpSender sender)
    {
        this.context = context;
        this.sender = sender;
        Uid = uid;
        Credentials = credentials;
    }

    public string Uid { get; }

    public WorkspaceStorage.Core.Signing.AwsCredentials Credentials { get; }

    /// <summary>A user with no caps that may not create buckets (max-buckets=-1).</summary>
    public static async Task<RgwTestUser> CreateAsync(RgwS3Context context, HttpClient http)
    {
        var uid = "t-" + Guid.NewGuid().ToString("N")[..12];
        var credentials = new WorkspaceStorage.Core.Signing.AwsCredentials(("TK" + Guid.NewGuid().ToString("N"))[..20].ToUpperInvariant(),
            Guid.NewGuid().ToString("N") + Guid.NewGuid().ToString("N")[..8]);
        var sender = new WorkspaceStorage.Storage.Http.SignedHttpSender(http, new WorkspaceStorage.Core.Signing.SigV4Signer(),
            new WorkspaceStorage.Storage.Http.RetryOptions(), NullBackendCallObserver.Instance, "rgw-admin");
        var user = new RgwTestUser(context, uid, credentials, sender);
        var response = await user.AdminAsync(HttpMethod.Put,
            $"user?uid={uid}&display-name={uid}&access-key={credentials.AccessKeyId}&secret-key={credentials.SecretAccessKey}&max-buckets=-1&format=json");
        Assert.True(response.IsSuccess, $"creating the RGW test user failed: HTTP {response.StatusCode}");
        return user;
    }

    public async ValueTask DisposeAsync() => await AdminAsync(HttpMethod.Delete, $"user?uid={Uid}&purge-data=true");

    /// <summary>A bucket policy (set by the admin) that lets this user list <paramref name="bucket"/>.</summary>
    public async Task AllowListingAsync(string bucket)
    {
        var policy = $$"""{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Principal":{"AWS":["arn:aws:iam:::user/{{Uid}}"]},"Action":["s3:ListBucket"],"Resource":["arn:aws:s3:::{{bucket}}"]}]}""";
        var response = await sender.SendAsync(new WorkspaceStorage.Storage.Http.SignedRequest(HttpMethod.Put,
            $"{context.Server.Endpoint.GetLeftPart(UriPartial.Authority)}/{bucket}?policy", context.Server.Admin,
            new WorkspaceStorage.Core.Signing.SigV4Scope(context.Server.Region, "s3"), "PutBucketPolicy", true,
            System.Text.Encoding.UTF8.GetBytes(policy), "application/json"), CancellationToken.None);
        Assert.True(response.IsSuccess, $"PutBucketPolicy failed: HTTP {response.StatusCode}");
    }

    private Task<WorkspaceStorage.Storage.Http.SignedResponse> AdminAsync(HttpMethod method, string pathAndQuery) =>
        sender.SendAsync(new WorkspaceStorage.Storage.Http.SignedRequest(method,
            $"{context.Server.Endpoint.GetLeftPart(UriPartial.Authority)}/admin/{pathAndQuery}", context.Server.Admin,
            new WorkspaceStorage.Core.Signing.SigV4Scope(context.Server.Region, "s3"), "admin-user", true), CancellationToken.None);
}
