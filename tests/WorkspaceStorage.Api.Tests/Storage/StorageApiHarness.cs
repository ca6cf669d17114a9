using System.Net;
using System.Net.Http.Headers;
using System.Net.Http.Json;
using System.Text.Json;
using Microsoft.AspNetCore.Builder;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging.Abstractions;
using WorkspaceStorage.Api.Tests.Host;
using WorkspaceStorage.Api.Workspaces;
using WorkspaceStorage.Core.Credentials;
using WorkspaceStorage.Core.Workspaces;
using WorkspaceStorage.Storage.Backends;
using WorkspaceStorage.Storage.CephRgw;
using WorkspaceStorage.Storage.Http;
using WorkspaceStorage.Storage.S3;
using WorkspaceStorage.Testing.S3;

namespace WorkspaceStorage.Api.Tests.Storage;

/// <summary>
/// The real API on Kestrel (loopback) in front of the real local Ceph RGW: a bucket of its own, workspaces provisioned
/// by <see cref="CephRgwStorageBackend"/> (an RGW user + prefix policy + a long-lived key each), and the in-memory
/// directory the API reads them from. Disposal removes the workspaces' identities and data.
/// </summary>
internal sealed class StorageApiHarness : IAsyncDisposable
{
    private readonly List<WorkspaceId> workspaces = [];
    private readonly HttpClient backendHttp;
    private readonly Dictionary<string, string?> settings;

    private readonly Action<WebApplicationBuilder>? configure;

    private StorageApiHarness(RgwTestServer server, Dictionary<string, string?> settings, Action<WebApplicationBuilder>? configure)
    {
        this.configure = configure;
        Server = server;
        this.settings = settings;
        Location = new S3Location(server.Endpoint, server.Endpoint, server.Region, RgwTestServer.UniqueBucketName("api"));
        Clients = new S3ClientFactory();
        AdminClient = Clients.Create(Location, server.Admin);
        backendHttp = new HttpClient(new SocketsHttpHandler { UseProxy = false }) { Timeout = Timeout.InfiniteTimeSpan };
        Backend = new CephRgwStorageBackend(
            new CephRgwBackendOptions(Location, server.Admin) { Retry = new RetryOptions { AttemptTimeout = TimeSpan.FromSeconds(15), MaxAttempts = 3 } },
            backendHttp, new AdminBucketOperations(AdminClient), NullBackendCallObserver.Instance, NullLogger<CephRgwStorageBackend>.Instance);
    }

    public RgwTestServer Server { get; }

    public S3Location Location { get; }

    public S3ClientFactory Clients { get; }

    /// <summary>The admin's S3 client on the test bucket, for looking behind the API's back.</summary>
    public S3ObjectClient AdminClient { get; }

    public CephRgwStorageBackend Backend { get; }

    public InMemoryWorkspaceDirectory Directory { get; } = new();

    public TestApi Api { get; private set; } = null!;

    public HttpClient Http => Api.Client;

    public static CancellationToken Ct => TestContext.Current.CancellationToken;

    /// <param name="server">The RGW to use; null: the shared one (<see cref="RgwTestServer.Require"/>). A test that stops RGW passes its own.</param>
    public static async Task<StorageApiHarness> StartAsync(IReadOnlyDictionary<string, string?>? extraSettings = null,
        Action<WebApplicationBuilder>? configure = null, RgwTestServer? server = null)
    {
        var settings = new Dictionary<string, string?> { ["Storage:TtlSweepPeriod"] = "00:00:01" };
        foreach (var (key, value) in extraSettings ?? new Dictionary<string, string?>())
        {
            settings[key] = value;
        }

        var harness = new StorageApiHarness(server ?? RgwTestServer.Require(), settings, configure);
        await harness.Backend.EnsureBucketAsync(Ct);
        harness.Api = await harness.StartApiAsync();
        return harness;
    }

    /// <summary>Stops the API and starts a fresh one on the same directory and bucket (a process restart, as far as the API knows).</summary>
    public async Task RestartApiAsync()
    {
        await StopApiAsync();
        Api = await StartApiAsync();
        stopped = false;
    }

    public async Task StopApiAsync()
    {
        await Api.DisposeAsync();
        stopped = true;
    }

    private bool stopped;

    private Task<TestApi> StartApiAsync() =>
        TestApi.StartAsync(configure: b =>
        {
            b.Services.AddSingleton<IWorkspaceStorageDirectory>(Directory);
            configure?.Invoke(b);
        }, settings: settings);

    /// <summary>A provisioned workspace "ws-{stem}{random}{suffix}" with its own key, registered in the directory.</summary>
    public async Task<WorkspaceStorageHandle> AddWorkspaceAsync(string stem, AccessLevel access = AccessLevel.ReadWrite, bool isPublic = false,
        string? random = null, string suffix = "")
    {
        var id = WorkspaceId.Parse($"ws-{stem}{random ?? RandomPart()}{suffix}");
        workspaces.Add(id);
        await Backend.EnsureIdentityAsync(id, access, Ct);
        var key = AccessKeyGenerator.Generate();
        await Backend.EnsureKeyAsync(id, key, Ct);
        var handle = new WorkspaceStorageHandle(id, Location, key, access, isPublic, new BackendTemporaryCredentialIssuer(Backend), Server.Admin);
        Directory.Put(handle);
        return handle;
    }

    public static string RandomPart() => Guid.NewGuid().ToString("N")[..8];

    public string Token(WorkspaceId workspace, string permission) => Api.Tokens.ForWorkspace(workspace.Value, permission);

    public HttpRequestMessage Request(HttpMethod method, string path, string? token, HttpContent? content = null)
    {
        var request = new HttpRequestMessage(method, path) { Content = content };
        if (token is not null)
        {
            request.Headers.Authorization = new AuthenticationHeaderValue("Bearer", token);
        }

        return request;
    }

    public async Task<HttpResponseMessage> SendAsync(HttpMethod method, string path, string? token, HttpContent? content = null)
    {
        using var request = Request(method, path, token, content);
        return await Http.SendAsync(request, Ct);
    }

    /// <summary>POST /{W}/services/s3-storage/{method} with a JSON body of keyword arguments.</summary>
    public Task<HttpResponseMessage> CallAsync(WorkspaceId workspace, string method, string? token, object? arguments = null) =>
        SendAsync(HttpMethod.Post, $"/{workspace}/services/s3-storage/{method}", token, JsonContent.Create(arguments ?? new Dictionary<string, object>()));

    /// <summary>Calls and expects 200; returns the JSON answer.</summary>
    public async Task<JsonElement> CallOkAsync(WorkspaceId workspace, string method, string? token, object? arguments = null)
    {
        using var response = await CallAsync(workspace, method, token, arguments);
        var body = await response.Content.ReadAsStringAsync(Ct);
        Assert.True(response.StatusCode == HttpStatusCode.OK, $"{method}: {(int)response.StatusCode} {body}");
        return JsonDocument.Parse(body).RootElement.Clone();
    }

    public async Task<HttpResponseMessage> PutFileAsync(WorkspaceId workspace, string path, byte[] content, string? token)
    {
        using var body = new ByteArrayContent(content);
        return await SendAsync(HttpMethod.Put, $"/{workspace}/files/{path}", token, body);
    }

    /// <summary>A plain HTTP client with no credentials, for presigned URLs (as a browser would use them).</summary>
    public static HttpClient UrlClient() => new(new SocketsHttpHandler { UseProxy = false, UseCookies = false }) { Timeout = TimeSpan.FromSeconds(60) };

    /// <summary>
    /// Reads an object with the key of the workspace its key starts with (on RGW an object belongs to its uploader;
    /// the bucket owner may not read W's objects). Null when absent.
    /// </summary>
    public async Task<byte[]?> ReadObjectAsync(string key)
    {
        var client = OwnerClient(key);
        if (!await WorkspaceStorage.Api.Workspaces.WorkspaceObjects.ExistsAsync(client, key, Ct))
        {
            return null;
        }

        await using var got = await client.GetAsync(key, cancellationToken: Ct);
        using var buffer = new MemoryStream();
        await got.Body.CopyToAsync(buffer, Ct);
        return buffer.ToArray();
    }

    public Task<bool> ExistsAsync(string key) => WorkspaceStorage.Api.Workspaces.WorkspaceObjects.ExistsAsync(OwnerClient(key), key, Ct);

    /// <summary>Writes an object as the workspace its key starts with.</summary>
    public async Task PutObjectAsync(string key, byte[] content)
    {
        using var body = new MemoryStream(content);
        await OwnerClient(key).PutAsync(key, body, content.Length, cancellationToken: Ct);
    }

    public S3ObjectClient OwnerClient(string key)
    {
        var workspace = key[..key.IndexOf('/')];
        var handle = Directory.FindAsync(WorkspaceId.Parse(workspace), Ct).AsTask().GetAwaiter().GetResult()
            ?? throw new InvalidOperationException($"no test workspace {workspace}");
        return Clients.Create(handle.Location, handle.Key);
    }

    public static byte[] RandomBytes(int length)
    {
        var bytes = new byte[length];
        Random.Shared.NextBytes(bytes);
        return bytes;
    }

    public async ValueTask DisposeAsync()
    {
        if (!stopped)
        {
            await Api.DisposeAsync();
        }

        foreach (var workspace in workspaces)
        {
            try
            {
                await Backend.DeleteWorkspaceAsync(workspace, DataDeletion.Delete, CancellationToken.None);
            }
            catch (StorageBackendException)
            {
                // best effort: the RGW is a throwaway test server
            }
        }

        try
        {
            await new AdminBucketOperations(AdminClient).DeletePrefixAsync("etc/", CancellationToken.None);
        }
        catch (StorageBackendException)
        {
        }

        backendHttp.Dispose();
        Clients.Dispose();
    }
}
