using Microsoft.Extensions.DependencyInjection;
using WorkspaceStorage.Api.HyphaRpc;
using WorkspaceStorage.Testing.Hypha;
using WorkspaceStorage.Testing.Support;

namespace WorkspaceStorage.EndToEnd.Tests.WholeSystem;

/// <summary>
/// A real Python Hypha server (without <c>--enable-s3</c>: sole mode) sharing its JWT secret with the companions, so the
/// companions can verify the tokens Hypha issues on their HTTP routes. One per collection: Hypha takes seconds to start.
/// </summary>
public class SoleModeHypha : HyphaServerFixture
{
    public string JwtSecret { get; } = HyphaTokenFactory.NewSecret();

    protected override HyphaTestServerOptions ServerOptions => new() { JwtSecret = JwtSecret };
}

[CollectionDefinition(Name)]
public sealed class SoleModeHyphaCollection : ICollectionFixture<SoleModeHypha>
{
    public const string Name = "Hypha without --enable-s3, companions registered";
}

/// <summary>
/// A class fixture holding one <see cref="HyphaSystem"/> (companion registered with <see cref="Settings"/>) for all the
/// tests of a class. Without Python Hypha it starts nothing, and each test that reaches <see cref="System"/> skips with
/// the reason (a class fixture that threw would fail every test of the class instead).
/// </summary>
public abstract class HyphaSystemFixture(SoleModeHypha hypha) : IAsyncLifetime
{
    private HyphaSystem? system;

    internal HyphaSystem System
    {
        get
        {
            if (system is null)
            {
                hypha.Require();
            }

            return system!;
        }
    }

    /// <summary>The companion's settings on top of <see cref="HyphaSystem"/>'s own.</summary>
    protected abstract IReadOnlyDictionary<string, string?> Settings { get; }

    public async ValueTask InitializeAsync()
    {
        if (hypha.IsRunning)
        {
            system = await HyphaSystem.StartAsync(hypha, TestContext.Current.CancellationToken, extra: Settings);
        }
    }

    public async ValueTask DisposeAsync()
    {
        if (system is not null)
        {
            await system.DisposeAsync();
        }

        GC.SuppressFinalize(this);
    }
}

/// <summary>The cluster (operator on the real API server, real RGW), a real Hypha, and companion replicas registered in it.</summary>
internal sealed class HyphaSystem : IAsyncDisposable
{
    public const string OnDemandNamespace = "hypha-users";

    private readonly List<CompanionHost> companions = [];

    private HyphaSystem(LocalCluster cluster, HyphaTestServer hypha, string jwtSecret)
    {
        Cluster = cluster;
        Hypha = hypha;
        JwtSecret = jwtSecret;
    }

    public LocalCluster Cluster { get; }

    public HyphaTestServer Hypha { get; }

    public string JwtSecret { get; }

    public IReadOnlyList<CompanionHost> Companions => companions;

    public CompanionHost Companion => companions[0];

    public static async Task<HyphaSystem> StartAsync(SoleModeHypha fixture, CancellationToken cancellationToken, int replicas = 1,
        IReadOnlyDictionary<string, string?>? extra = null)
    {
        var hypha = fixture.Require();
        var cluster = await LocalCluster.StartAsync([OnDemandNamespace], cancellationToken, maxConcurrentReconciles: 8);
        var system = new HyphaSystem(cluster, hypha, fixture.JwtSecret);
        try
        {
            for (var i = 0; i < replicas; i++)
            {
                await system.AddCompanionAsync(extra, cancellationToken);
            }
        }
        catch
        {
            await system.DisposeAsync();
            throw;
        }

        return system;
    }

    /// <summary>One more companion replica: Kubernetes workspaces, on-demand for every ws-user-*, the /s3 proxy, registered in Hypha.</summary>
    public async Task<CompanionHost> AddCompanionAsync(IReadOnlyDictionary<string, string?>? extra, CancellationToken cancellationToken)
    {
        // The first replica's public URL names its own port, so the port is chosen before it starts (see FreeTcpPort).
        var companion = await FreeTcpPort.StartAsync(port => StartCompanionAsync(port, extra, cancellationToken));
        companions.Add(companion);
        // /readyz does not wait for Hypha (a registration that is not live is only Degraded): wait for it here.
        await companion.App.Services.GetRequiredService<HyphaRegistrationService>().Client
            .WaitUntilRegisteredAsync(cancellationToken).WaitAsync(TimeSpan.FromSeconds(60), cancellationToken);
        return companion;
    }

    private Task<CompanionHost> StartCompanionAsync(int port, IReadOnlyDictionary<string, string?>? extra, CancellationToken cancellationToken)
    {
        var settings = CompanionHost.OnDemandSettings(Cluster, OnDemandNamespace);
        settings["Urls"] = $"http://127.0.0.1:{port}";
        // Replicas share one public URL, as behind a Service or an Ingress: the first replica's stands in for it.
        settings["Api:PublicBaseUrl"] = companions.Count == 0 ? $"http://127.0.0.1:{port}" : companions[0].BaseAddress.ToString().TrimEnd('/');
        settings["Api:S3Proxy:Enabled"] = "true";
        settings["Api:AnonymousUsersMayWrite"] = "true";
        settings["HyphaRegistration:ServerUrl"] = Hypha.Url.ToString();
        settings["HyphaRegistration:RootTokenFile"] = Hypha.RootTokenFile;
        foreach (var (key, value) in extra ?? new Dictionary<string, string?>())
        {
            settings[key] = value;
        }

        return CompanionHost.StartAsync(Cluster, settings, JwtSecret, cancellationToken);
    }

    /// <summary>Runs a Python script with the real hypha_rpc client against Hypha.</summary>
    public Task<PythonRun> PythonAsync(string script, IEnumerable<string> args, IReadOnlyDictionary<string, string>? environment, CancellationToken cancellationToken,
        TimeSpan? timeout = null) =>
        Hypha.RunPythonAsync(script, args, environment, timeout, cancellationToken);

    public async ValueTask DisposeAsync()
    {
        foreach (var companion in companions)
        {
            await companion.DisposeAsync();
        }

        await Cluster.DisposeAsync();
    }
}

/// <summary>
/// A real Hypha that keeps its own s3-storage (<c>--enable-s3</c> on the local RGW, as a deployment does for its
/// artifact manager): the companions run in takeover mode against it.
/// </summary>
public sealed class TakeoverModeHypha : SoleModeHypha
{
    protected override HyphaTestServerOptions ServerOptions
    {
        get
        {
            var rgw = Testing.S3.RgwTestServer.Require();
            var endpoint = rgw.Endpoint.ToString().TrimEnd('/');
            return new HyphaTestServerOptions
            {
                JwtSecret = JwtSecret,
                HyphaFlags =
                [
                    "--enable-s3", $"--access-key-id={rgw.Admin.AccessKeyId}", $"--secret-access-key={rgw.Admin.SecretAccessKey}",
                    $"--endpoint-url={endpoint}", $"--endpoint-url-public={endpoint}", "--s3-admin-type=generic",
                    "--workspace-bucket=hypha-builtin-" + Guid.NewGuid().ToString("N")[..8],
                ],
            };
        }
    }
}

[CollectionDefinition(Name)]
public sealed class TakeoverModeHyphaCollection : ICollectionFixture<TakeoverModeHypha>
{
    public const string Name = "Hypha with --enable-s3, companions taking over";
}
