using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Logging.Abstractions;
using WorkspaceStorage.Api.Auth;
using WorkspaceStorage.Api.Http;
using WorkspaceStorage.Api.Hosting;
using WorkspaceStorage.Api.Proxy;
using WorkspaceStorage.Api.Workspaces;
using WorkspaceStorage.Benchmarks.Harness;
using WorkspaceStorage.Core.Credentials;
using WorkspaceStorage.Core.Signing;
using WorkspaceStorage.Core.Workspaces;
using WorkspaceStorage.Storage.Backends;
using WorkspaceStorage.Storage.CephRgw;
using WorkspaceStorage.Storage.Http;
using WorkspaceStorage.Storage.S3;
using WorkspaceStorage.Testing.Hypha;

namespace WorkspaceStorage.Benchmarks.Benchmarks;

/// <summary>
/// The companion API on Kestrel (loopback) in this process, in front of the local RGW: one provisioned workspace
/// (RGW user, prefix policy, role, long-lived key) in the in-memory directory, a Hypha token for it, and beside it a
/// bare Kestrel app answering a constant string (the baseline of row 2). A second API on the same directory runs with
/// <c>Storage:FileDownloadMode=Redirect</c> (row 3's other mode).
/// </summary>
public sealed class ApiWorld : IAsyncDisposable
{
    private readonly WebApplication api;
    private readonly WebApplication redirectingApi;
    private readonly WebApplication bare;
    private readonly string secret;
    private readonly InMemoryWorkspaceDirectory directory;

    private ApiWorld(WebApplication api, WebApplication redirectingApi, WebApplication bare, ApiFixture fixture, string secret,
        InMemoryWorkspaceDirectory directory)
    {
        this.secret = secret;
        this.directory = directory;
        this.api = api;
        this.redirectingApi = redirectingApi;
        this.bare = bare;
        Fixture = fixture;
        ApiUrl = new Uri(api.Urls.Single());
        RedirectingApiUrl = new Uri(redirectingApi.Urls.Single());
        BareUrl = new Uri(bare.Urls.Single());
    }

    public ApiFixture Fixture { get; }

    public Uri ApiUrl { get; }

    /// <summary>The same API answering file GETs with a redirect to a presigned URL.</summary>
    public Uri RedirectingApiUrl { get; }

    public Uri BareUrl { get; }

    /// <summary>The API's services (e.g. its Hypha registration).</summary>
    public IServiceProvider Services => api.Services;

    /// <summary>
    /// Starts the API (and the bare app). <paramref name="settings"/> add to the API's configuration (row 10: its Hypha
    /// registration); <paramref name="workspace"/> names the provisioned workspace (row 10: the Hypha user's own).
    /// </summary>
    public static async Task<ApiWorld> StartAsync(BenchContext context, IReadOnlyDictionary<string, string?>? settings = null, WorkspaceId? workspace = null)
    {
        var fixture = await ApiFixture.CreateAsync(context, workspace);
        var directory = new InMemoryWorkspaceDirectory();
        directory.Put(fixture.Handle);
        var secret = HyphaTokenFactory.NewSecret();
        fixture.Token = new HyphaTokenFactory(secret).ForWorkspace(fixture.Workspace.Value, "rw", lifetime: TimeSpan.FromHours(2));

        var api = BuildApi(secret, directory, nameof(FileDownloadMode.Relay), settings);
        // Diagnostics for row 2 (where the time goes): the API's pipeline with a constant answer, without and with
        // the Hypha token check and workspace permission.
        api.MapPost("/bench/constant", () => Results.Text("constant")).SkipHyphaAuthentication();
        api.MapPost("/{workspace}/bench/constant", () => Results.Text("constant")).RequireWorkspacePermission(Permission.Read);
        await api.StartAsync(context.CancellationToken);
        var redirectingApi = BuildApi(secret, directory, nameof(FileDownloadMode.Redirect), settings);
        await redirectingApi.StartAsync(context.CancellationToken);

        var bareBuilder = WebApplication.CreateSlimBuilder();
        bareBuilder.Logging.ClearProviders();
        bareBuilder.WebHost.UseUrls("http://127.0.0.1:0");
        bareBuilder.WebHost.ConfigureKestrel(k => k.AddServerHeader = false);
        var bare = bareBuilder.Build();
        bare.MapPost("/", () => Results.Text("constant"));
        bare.MapGet("/", () => Results.Text("constant"));
        await bare.StartAsync(context.CancellationToken);
        return new ApiWorld(api, redirectingApi, bare, fixture, secret, directory);
    }

    /// <summary>
    /// Row 17: one more API on the same directory with the <c>/s3</c> proxy on, serving the fixture's bucket (started
    /// only when asked, so rows 2 to 5 measure the same process as before). Presigned URLs for the bucket on RGW
    /// reach RGW unchanged through <c>{url}/s3/{bucket}/{key}</c>.
    /// </summary>
    public async Task<WebApplication> StartProxyingApiAsync(CancellationToken cancellationToken)
    {
        var proxying = BuildApi(secret, directory, nameof(FileDownloadMode.Relay), new Dictionary<string, string?> { ["Api:S3Proxy:Enabled"] = "true" },
            services => services.AddSingleton<IS3ProxyTargets>(new StaticS3ProxyTargets([Fixture.Location])));
        await proxying.StartAsync(cancellationToken);
        return proxying;
    }

    private static WebApplication BuildApi(string secret, InMemoryWorkspaceDirectory directory, string downloadMode,
        IReadOnlyDictionary<string, string?>? settings, Action<IServiceCollection>? services = null) => ApiApplication.Build([], builder =>
    {
        builder.WebHost.UseUrls("http://127.0.0.1:0");
        builder.Configuration.AddInMemoryCollection(new Dictionary<string, string?>
        {
            ["Hypha:JwtSecret"] = secret,
            ["Api:PublicBaseUrl"] = "http://127.0.0.1:8080/",
            ["Storage:FileDownloadMode"] = downloadMode,
            // Production logs at Information; request lines at Warning+ only, as a deployment would run under load.
            ["Logging:LogLevel:Default"] = "Warning",
        });
        builder.Configuration.AddInMemoryCollection(settings ?? new Dictionary<string, string?>());
        builder.Services.AddSingleton<IWorkspaceStorageDirectory>(directory);
        services?.Invoke(builder.Services);
    });

    public async ValueTask DisposeAsync()
    {
        await api.StopAsync(CancellationToken.None);
        await api.DisposeAsync();
        await redirectingApi.StopAsync(CancellationToken.None);
        await redirectingApi.DisposeAsync();
        await bare.StopAsync(CancellationToken.None);
        await bare.DisposeAsync();
        await Fixture.DisposeAsync();
    }
}

/// <summary>A bucket and one provisioned workspace on the local RGW, through the real backend.</summary>
public sealed class ApiFixture : IAsyncDisposable
{
    private readonly HttpClient backendHttp;

    private ApiFixture(HttpClient backendHttp, S3ClientFactory clients, CephRgwStorageBackend backend, WorkspaceId workspace, AwsCredentials key,
        S3Location location, AwsCredentials admin)
    {
        this.backendHttp = backendHttp;
        Clients = clients;
        Backend = backend;
        Workspace = workspace;
        Location = location;
        Handle = new WorkspaceStorageHandle(workspace, location, key, AccessLevel.ReadWrite, false, new BackendTemporaryCredentialIssuer(backend), admin);
        Owner = clients.Create(location, key);
    }

    public S3ClientFactory Clients { get; }

    public CephRgwStorageBackend Backend { get; }

    public WorkspaceId Workspace { get; }

    public S3Location Location { get; }

    public WorkspaceStorageHandle Handle { get; }

    /// <summary>W's own key on the bucket: direct (baseline) transfers and clean-up.</summary>
    public S3ObjectClient Owner { get; }

    public string Token { get; set; } = "";

    public static async Task<ApiFixture> CreateAsync(BenchContext context, WorkspaceId? workspace = null)
    {
        var location = new S3Location(context.RgwEndpoint, context.RgwEndpoint, context.Region, "bench-" + Guid.NewGuid().ToString("N")[..10]);
        var clients = new S3ClientFactory();
        var http = new HttpClient(QuickAckConnections.Apply(new SocketsHttpHandler { UseProxy = false })) { Timeout = Timeout.InfiniteTimeSpan };
        var backend = new CephRgwStorageBackend(new CephRgwBackendOptions(location, context.Admin), http,
            new AdminBucketOperations(clients.Create(location, context.Admin)), NullBackendCallObserver.Instance, NullLogger<CephRgwStorageBackend>.Instance);
        await backend.EnsureBucketAsync(context.CancellationToken);
        workspace ??= WorkspaceId.Parse("ws-bench-" + Guid.NewGuid().ToString("N")[..8]);
        await backend.EnsureIdentityAsync(workspace, AccessLevel.ReadWrite, context.CancellationToken);
        var key = AccessKeyGenerator.Generate();
        await backend.EnsureKeyAsync(workspace, key, context.CancellationToken);
        return new ApiFixture(http, clients, backend, workspace, key, location, context.Admin);
    }

    public async ValueTask DisposeAsync()
    {
        try
        {
            await Backend.DeleteWorkspaceAsync(Workspace, DataDeletion.Delete, CancellationToken.None);
        }
        catch (StorageBackendException)
        {
            // the bench RGW is thrown away after the run
        }

        backendHttp.Dispose();
        Clients.Dispose();
    }
}
