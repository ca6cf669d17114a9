using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;
using WorkspaceStorage.Api.Hosting;
using WorkspaceStorage.Api.Workspaces;
using WorkspaceStorage.Testing.Hypha;
using WorkspaceStorage.Testing.Kubernetes;
using WorkspaceStorage.Testing.Support;

namespace WorkspaceStorage.EndToEnd.Tests.WholeSystem;

/// <summary>
/// The companion API's real application (<see cref="ApiApplication"/>) on Kestrel in this process, reading workspaces
/// from the <see cref="LocalCluster"/>'s API server, with the given settings (on-demand provisioning, Hypha registration…).
/// </summary>
internal sealed class CompanionHost : IAsyncDisposable
{
    private CompanionHost(WebApplication app, Uri baseAddress, HyphaTokenFactory tokens, LogCapture logs)
    {
        App = app;
        BaseAddress = baseAddress;
        Tokens = tokens;
        Logs = logs;
        Http = new HttpClient(new SocketsHttpHandler { UseProxy = false, UseCookies = false }) { BaseAddress = baseAddress, Timeout = TimeSpan.FromSeconds(120) };
    }

    public WebApplication App { get; }

    public Uri BaseAddress { get; }

    /// <summary>Mints Hypha tokens with the API's JWT secret.</summary>
    public HyphaTokenFactory Tokens { get; }

    public LogCapture Logs { get; }

    public HttpClient Http { get; }

    /// <summary>Settings every system test's companion gets: the cluster's workspaces, on-demand for ws-user-* in <paramref name="onDemandNamespace"/>.</summary>
    public static Dictionary<string, string?> OnDemandSettings(LocalCluster cluster, string onDemandNamespace) => new()
    {
        ["OnDemand:Enabled"] = "true",
        ["OnDemand:Namespace"] = onDemandNamespace,
        ["OnDemand:AllowedWorkspaces:0"] = "ws-user-*",
        ["OnDemand:Template:BackendRef"] = cluster.BackendName,
        ["OnDemand:Template:DeletionPolicy"] = "Delete",
    };

    public static Task<CompanionHost> StartAsync(LocalCluster cluster, IReadOnlyDictionary<string, string?> settings, string? jwtSecret,
        CancellationToken cancellationToken) =>
        StartAsync(cluster.Kube, settings, jwtSecret, cancellationToken);

    /// <summary>The companion reading workspaces from <paramref name="kube"/> (its client goes through the cluster's proxy).</summary>
    public static async Task<CompanionHost> StartAsync(KubeCluster kube, IReadOnlyDictionary<string, string?> settings, string? jwtSecret,
        CancellationToken cancellationToken)
    {
        var secret = jwtSecret ?? HyphaTokenFactory.NewSecret();
        var logs = new LogCapture();
        var app = ApiApplication.Build([], builder =>
        {
            builder.WebHost.UseUrls(settings.TryGetValue("Urls", out var urls) && urls is not null ? urls : "http://127.0.0.1:0");
            var values = new Dictionary<string, string?>
            {
                ["Hypha:JwtSecret"] = secret,
                ["Api:PublicBaseUrl"] = "http://127.0.0.1:8080/",
                ["Api:WorkspaceSource"] = "kubernetes",
            };
            foreach (var (key, value) in settings)
            {
                values[key] = value;
            }

            builder.Configuration.AddInMemoryCollection(values);
            builder.Logging.AddProvider(logs);
            builder.Services.AddSingleton(KubernetesDirectorySources.FromKubernetes(kube.CreateClient()));
        });
        await app.StartAsync(cancellationToken);
        var host = new CompanionHost(app, new Uri(app.Urls.Single()), new HyphaTokenFactory(secret), logs);
        await Eventually.WaitAsync("the companion's /readyz", TimeSpan.FromSeconds(60), async ct =>
        {
            using var response = await host.Http.GetAsync("/readyz", ct);
            return (response.IsSuccessStatusCode, $"HTTP {(int)response.StatusCode}: {await response.Content.ReadAsStringAsync(ct)}");
        }, cancellationToken);
        return host;
    }

    private int disposed;

    public async ValueTask DisposeAsync()
    {
        if (Interlocked.Exchange(ref disposed, 1) == 1)
        {
            return;
        }

        Http.Dispose();
        await App.StopAsync(CancellationToken.None);
        await App.DisposeAsync();
    }
}
