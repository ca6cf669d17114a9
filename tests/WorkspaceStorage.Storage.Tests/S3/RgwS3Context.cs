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
            await foreach (var page in Admin.ListAllAsync("", null, CancellationToken.None))
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
