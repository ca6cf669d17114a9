using System.Security.Cryptography.X509Certificates;
using WorkspaceStorage.Testing.Repository;
using WorkspaceStorage.Testing.Support;

namespace WorkspaceStorage.Testing.Kubernetes;

/// <summary>
/// A real Kubernetes API server for one test assembly: etcd and tools/kube-apiserver (Kubernetes' own apiserver and
/// apiextensions-apiserver code from Debian sid), installed by scripts/install-kube-apiserver.sh (cached: a second run
/// returns at once) and started by scripts/kube-apiserver.sh with a data folder of its own under out/, removed at the
/// end. The project's CRDs are applied once. Never skipped: a missing piece fails the tests with the script's one-line
/// reason. Register it with <c>[assembly: AssemblyFixture(typeof(RealKubeApiServer))]</c>; tests reach it through
/// <c>KubeCluster.StartAsync</c>, which also empties it, so the assembly's tests (run one at a time, see
/// tests/xunit.runner.json) each see a clean cluster, or take it in their constructor to drive kubectl (such tests
/// create what they need themselves: another test may have emptied the server in between). A program outside xunit
/// (make bench) starts one with <see cref="StartAsync"/>.
/// </summary>
public sealed class RealKubeApiServer : IAsyncLifetime
{
    private static readonly TimeSpan InstallLimit = TimeSpan.FromMinutes(25);
    private static readonly TimeSpan StartLimit = TimeSpan.FromMinutes(2);

    private readonly string _data;

    /// <summary>A server whose data folder is a new one under out/kube-apiserver-tests (removed when disposed).</summary>
    public RealKubeApiServer()
        : this("kube-apiserver-tests")
    {
    }

    private RealKubeApiServer(string folder) => _data = RepositoryRoot.Combine("out", folder, Guid.NewGuid().ToString("N")[..12]);

    /// <summary>Installs (cached) and starts a server for a program that is not an xunit test; the caller disposes it.</summary>
    public static async Task<RealKubeApiServer> StartAsync(string folder, CancellationToken cancellationToken)
    {
        var server = new RealKubeApiServer(folder);
        try
        {
            await server.StartCoreAsync(cancellationToken);
            return server;
        }
        catch
        {
            await server.DisposeAsync();
            throw;
        }
    }

    /// <summary>https://127.0.0.1:{port}, the server itself (no proxy).</summary>
    public Uri BaseAddress { get; private set; } = null!;

    /// <summary>The admin's kubeconfig (system:masters).</summary>
    public string AdminKubeconfig { get; private set; } = "";

    /// <summary>The admin's bearer token (system:masters); never printed.</summary>
    internal string AdminToken { get; private set; } = "";

    /// <summary>The server's self-signed serving certificate, which clients trust.</summary>
    internal X509Certificate2 Certificate { get; private set; } = null!;

    /// <summary>etcd's client URL, for compacting its history.</summary>
    internal Uri EtcdAddress { get; private set; } = null!;

    /// <summary>Debian sid's kubectl, the version matching the server.</summary>
    public string Kubectl { get; private set; } = "";

    /// <summary>The kubeconfig of a service account the script gave a token (see WSO_KUBE_SERVICE_ACCOUNTS).</summary>
    public string ServiceAccountKubeconfig(string ns, string name) => Path.Combine(_data, "apiserver", $"kubeconfig-{ns}-{name}");

    /// <summary>A client straight to the server as the admin (not counted by any proxy).</summary>
    public k8s.Kubernetes CreateAdminClient() => new(WorkspaceStorage.Kubernetes.Runtime.KubeconfigFile.Load(AdminKubeconfig));

    public async ValueTask InitializeAsync() => await StartCoreAsync(CancellationToken.None);

    private async Task StartCoreAsync(CancellationToken cancellationToken)
    {
        var install = await RunScriptAsync("install-kube-apiserver.sh", [], InstallLimit, cancellationToken);
        Require(install.ExitCode == 0, $"scripts/install-kube-apiserver.sh failed: {install.Error.Trim()}");
        var up = await RunScriptAsync("kube-apiserver.sh", ["up"], StartLimit, cancellationToken);
        Require(up.ExitCode == 0, $"scripts/kube-apiserver.sh up failed: {up.Error.Trim()}");
        var env = await RunScriptAsync("kube-apiserver.sh", ["env"], StartLimit, cancellationToken);
        Require(env.ExitCode == 0, $"scripts/kube-apiserver.sh env failed: {env.Error.Trim()}");
        var values = env.Output.Split('\n', StringSplitOptions.RemoveEmptyEntries)
            .Select(l => l.StartsWith("export ", StringComparison.Ordinal) ? l[7..] : l)
            .Where(l => l.Contains('=', StringComparison.Ordinal))
            .ToDictionary(l => l[..l.IndexOf('=', StringComparison.Ordinal)], l => l[(l.IndexOf('=', StringComparison.Ordinal) + 1)..], StringComparer.Ordinal);
        AdminKubeconfig = values["KUBECONFIG"];
        Kubectl = values["WSO_KUBECTL"];
        var config = WorkspaceStorage.Kubernetes.Runtime.KubeconfigFile.Load(AdminKubeconfig);
        BaseAddress = new Uri(config.Host);
        AdminToken = config.AccessToken ?? throw new InvalidOperationException($"{AdminKubeconfig} holds no token");
        Certificate = X509CertificateLoader.LoadCertificateFromFile(Path.Combine(_data, "apiserver", "apiserver.crt"));
        EtcdAddress = new Uri($"http://127.0.0.1:{(await File.ReadAllTextAsync(Path.Combine(_data, "etcd.port"), cancellationToken)).Trim()}");

        var crds = await KubectlAsync(["apply", "-f", RepositoryRoot.Combine("crds")], cancellationToken: cancellationToken);
        Require(crds.ExitCode == 0, $"kubectl apply -f crds/ failed: {crds.Error.Trim()}");
        var established = await KubectlAsync(["wait", "--for=condition=Established", "--timeout=60s", "crd", "--all"], cancellationToken: cancellationToken);
        Require(established.ExitCode == 0, $"the CRDs did not become Established: {established.Error.Trim()}");
        // Established is not yet servable: the first requests answer 429 "storage is (re)initializing" for a moment.
        await Eventually.TrueAsync(async token =>
            (await KubectlAsync(["get", "workspacestorages,storagebackends", "-A"], cancellationToken: token)).ExitCode == 0, "the CRDs' storage to serve",
            TimeSpan.FromSeconds(60), cancellationToken: cancellationToken);
    }

    private static void Require(bool condition, string failure)
    {
        if (!condition)
        {
            throw new InvalidOperationException(failure);
        }
    }

    public async ValueTask DisposeAsync()
    {
        await RunScriptAsync("kube-apiserver.sh", ["down"], StartLimit, CancellationToken.None);
        Certificate?.Dispose();
        try
        {
            Directory.Delete(_data, recursive: true);
        }
        catch (IOException)
        {
        }
    }

    /// <summary>kubectl with the admin's kubeconfig, or <paramref name="kubeconfig"/> (manifests go in files: no stdin).</summary>
    public Task<ChildProcessOutcome> KubectlAsync(IEnumerable<string> arguments, string? kubeconfig = null, CancellationToken? cancellationToken = null) =>
        ChildProcessRunner.RunAsync(Kubectl, arguments, new Dictionary<string, string> { ["KUBECONFIG"] = kubeconfig ?? AdminKubeconfig },
            RepositoryRoot.Path, TimeSpan.FromSeconds(60), cancellationToken ?? TestContext.Current.CancellationToken);

    /// <summary>kubectl that must succeed (the failure names the command and the server's words); returns its output.</summary>
    public async Task<string> KubectlOkAsync(string[] arguments)
    {
        var outcome = await KubectlAsync(arguments);
        Assert.True(outcome.ExitCode == 0, $"kubectl {string.Join(' ', arguments)} failed: {outcome.Error.Trim()}");
        return outcome.Output;
    }

    /// <summary><c>kubectl apply -f</c> of <paramref name="manifest"/> (YAML or JSON), written to a file of its own and removed after.</summary>
    public async Task<ChildProcessOutcome> ApplyAsync(string manifest)
    {
        var file = Path.Combine(_data, $"manifest-{Guid.NewGuid():N}.yaml");
        await File.WriteAllTextAsync(file, manifest, TestContext.Current.CancellationToken);
        try
        {
            return await KubectlAsync(["apply", "-f", file]);
        }
        finally
        {
            File.Delete(file);
        }
    }

    private Task<ChildProcessOutcome> RunScriptAsync(string script, string[] arguments, TimeSpan limit, CancellationToken cancellationToken) =>
        ChildProcessRunner.RunAsync(RepositoryRoot.Combine("scripts", script), arguments,
            new Dictionary<string, string> { ["WSO_KUBE_DATA_DIR"] = _data }, RepositoryRoot.Path, limit, cancellationToken);
}
