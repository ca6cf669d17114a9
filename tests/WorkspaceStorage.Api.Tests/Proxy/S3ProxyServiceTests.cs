using System.Net;
using System.Net.Http.Headers;
using System.Net.Http.Json;
using System.Text;
using System.Text.Json;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging.Abstractions;
using WorkspaceStorage.Api.Workspaces;
using WorkspaceStorage.Core.Credentials;
using WorkspaceStorage.Core.Workspaces;
using WorkspaceStorage.Storage.Backends;
using WorkspaceStorage.Storage.CephRgw;
using WorkspaceStorage.Storage.S3;
using WorkspaceStorage.Testing.S3;

namespace WorkspaceStorage.Api.Tests.Proxy;

/// <summary>
/// The seam end to end: the s3-storage service hands out URLs rewritten to /s3, signed with the workspace's OWN RGW
/// key (an RGW user confined to W/ by policy), and they work through the proxy — while S3 still enforces the prefix.
/// </summary>
public sealed class S3ProxyServiceTests
{
    private static CancellationToken Cancel => TestContext.Current.CancellationToken;

    [Fact]
    public async Task ServiceUrlsGoThroughTheProxyAndTheWorkspaceKeyStaysConfined()
    {
        var server = RgwTestServer.Require();
        var publicEndpoint = new UriBuilder(server.Endpoint) { Host = "localhost" }.Uri;
        var location = new S3Location(server.Endpoint, publicEndpoint, server.Region, RgwTestServer.UniqueBucketName("proxysvc"));
        using var clients = new S3ClientFactory();
        using var backendHttp = new HttpClient(new SocketsHttpHandler { UseProxy = false }) { Timeout = Timeout.InfiniteTimeSpan };
        var adminClient = clients.Create(location, server.Admin);
        var backend = new CephRgwStorageBackend(new CephRgwBackendOptions(location, server.Admin), backendHttp,
            new AdminBucketOperations(adminClient), NullBackendCallObserver.Instance, NullLogger<CephRgwStorageBackend>.Instance);
        await backend.EnsureBucketAsync(Cancel);

        var workspace = WorkspaceId.Parse($"ws-proxy-{Guid.NewGuid():N}"[..20]);
        var directory = new InMemoryWorkspaceDirectory();
        await backend.EnsureIdentityAsync(workspace, AccessLevel.ReadWrite, Cancel);
        var key = AccessKeyGenerator.Generate();
        await backend.EnsureKeyAsync(workspace, key, Cancel);
        directory.Put(new WorkspaceStorageHandle(workspace, location, key, AccessLevel.ReadWrite, false, new BackendTemporaryCredentialIssuer(backend)));
        var workspaceClient = clients.Create(location, key);
        try
        {
            await using var api = await ProxyApi.StartAsync([location],
                configure: b => b.Services.AddSingleton<IWorkspaceStorageDirectory>(directory));
            var token = api.Api.Tokens.ForWorkspace(workspace.Value, "rw");
            var data = Encoding.UTF8.GetBytes("through the proxy with W's own key");

            var putUrl = await CallAsync(api, workspace, token, "put_file", new { file_path = "docs/a b+c.txt" });
            Assert.StartsWith(api.BaseAddress.ToString().TrimEnd('/') + "/s3/" + location.Bucket + "/", putUrl, StringComparison.Ordinal);
            Assert.Contains(key.AccessKeyId, putUrl, StringComparison.Ordinal); // signed with W's key, not the admin's
            using (var put = await api.Client.PutAsync(ProxyApi.Exact(putUrl), new ByteArrayContent(data), Cancel))
            {
                Assert.Equal(HttpStatusCode.OK, put.StatusCode);
            }

            var getUrl = await CallAsync(api, workspace, token, "get_file", new { file_path = "docs/a b+c.txt" });
            Assert.StartsWith(api.BaseAddress.ToString().TrimEnd('/') + "/s3/", getUrl, StringComparison.Ordinal);
            Assert.Equal(data, await api.Client.GetByteArrayAsync(ProxyApi.Exact(getUrl), Cancel));

            // W's key through the proxy still cannot reach outside W/: S3 refuses a URL signed by W's key for another
            // prefix (the signature is valid; the policy is not).
            var outside = api.Proxied(workspaceClient.Presign(HttpMethod.Put, "ws-other-prefix/planted.txt", TimeSpan.FromMinutes(5)));
            using (var planted = await api.Client.PutAsync(ProxyApi.Exact(outside), new StringContent("x"), Cancel))
            {
                Assert.Equal(HttpStatusCode.Forbidden, planted.StatusCode);
            }

            var prefixEdge = api.Proxied(workspaceClient.Presign(HttpMethod.Put, workspace.Value + "x/planted.txt", TimeSpan.FromMinutes(5)));
            using (var edge = await api.Client.PutAsync(ProxyApi.Exact(prefixEdge), new StringContent("x"), Cancel))
            {
                Assert.Equal(HttpStatusCode.Forbidden, edge.StatusCode);
            }
        }
        finally
        {
            await backend.DeleteWorkspaceAsync(workspace, DataDeletion.Delete, CancellationToken.None);
        }
    }

    private static async Task<string> CallAsync(ProxyApi api, WorkspaceId workspace, string token, string method, object arguments)
    {
        using var request = new HttpRequestMessage(HttpMethod.Post, $"/{workspace}/services/s3-storage/{method}")
        {
            Content = JsonContent.Create(arguments),
        };
        request.Headers.Authorization = new AuthenticationHeaderValue("Bearer", token);
        using var response = await api.Client.SendAsync(request, Cancel);
        var body = await response.Content.ReadAsStringAsync(Cancel);
        Assert.True(response.StatusCode == HttpStatusCode.OK, $"{method}: {(int)response.StatusCode} {body}");
        return JsonDocument.Parse(body).RootElement.GetString()!;
    }
}
