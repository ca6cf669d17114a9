using WorkspaceStorage.Storage.Backends;
using WorkspaceStorage.Storage.S3;
using WorkspaceStorage.Testing.S3;

namespace WorkspaceStorage.Api.Tests.Proxy;

/// <summary>
/// A fresh bucket on the local Ceph RGW and the API proxying it. Presigned URLs are signed for the PUBLIC endpoint
/// <c>http://localhost:PORT</c> while the proxy forwards to the INTERNAL <c>http://127.0.0.1:PORT</c>: both reach the
/// same RGW, but the Host differs, as it does in a real deployment.
/// </summary>
internal sealed class RgwProxyContext : IAsyncDisposable
{
    private RgwProxyContext(RgwTestServer server, S3ClientFactory factory, S3Location location, S3ObjectClient admin, ProxyApi api)
    {
        Server = server;
        Factory = factory;
        Location = location;
        Admin = admin;
        Api = api;
    }

    public RgwTestServer Server { get; }

    public S3ClientFactory Factory { get; }

    public S3Location Location { get; }

    /// <summary>Presigns with the RGW admin key (the proxy does not care whose key signed).</summary>
    public S3ObjectClient Admin { get; }

    public ProxyApi Api { get; }

    public HttpClient Client => Api.Client;

    public static CancellationToken Cancel => TestContext.Current.CancellationToken;

    public static async Task<RgwProxyContext> CreateAsync(TimeSpan? headersTimeout = null)
    {
        var server = RgwTestServer.Require();
        var publicEndpoint = new UriBuilder(server.Endpoint) { Host = "localhost" }.Uri;
        Assert.NotEqual(server.Endpoint.Host, publicEndpoint.Host);
        var location = new S3Location(server.Endpoint, publicEndpoint, server.Region, RgwTestServer.UniqueBucketName("proxy"));
        var factory = new S3ClientFactory();
        var admin = factory.Create(location, server.Admin);
        await new AdminBucketOperations(admin).EnsureBucketAsync(Cancel);
        var api = await ProxyApi.StartAsync([location], headersTimeout: headersTimeout);
        return new RgwProxyContext(server, factory, location, admin, api);
    }

    /// <summary>A presigned URL for the public endpoint, rewritten through the proxy.</summary>
    public string Proxied(HttpMethod method, string key, TimeSpan? expiry = null) =>
        Api.Proxied(Admin.Presign(method, key, expiry ?? TimeSpan.FromMinutes(10)));

    public async Task<HttpResponseMessage> SendAsync(HttpMethod method, string url, HttpContent? content = null, Action<HttpRequestMessage>? edit = null,
        HttpCompletionOption completion = HttpCompletionOption.ResponseContentRead)
    {
        using var request = new HttpRequestMessage(method, ProxyApi.Exact(url)) { Content = content };
        edit?.Invoke(request);
        return await Client.SendAsync(request, completion, Cancel);
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
        finally
        {
            await Api.DisposeAsync();
            Factory.Dispose();
        }
    }
}
