using WorkspaceStorage.Testing.Support;

namespace WorkspaceStorage.Kubernetes.Tests.RealApiServer;

/// <summary>
/// A real Kubernetes API server for the test run: etcd and tools/kube-apiserver (Kubernetes' own apiserver and
/// apiextensions-apiserver code from Debian), installed by scripts/install-kube-apiserver.sh (cached: a second run
/// returns at once) and started by scripts/kube-apiserver.sh with a data folder of its own under out/, removed at the
/// end. Never skipped: a missing piece fails the tests with the script's one-line reason. One server for every class of
/// <see cref="RealApiServerCollection"/>: they share its objects, so each test names its own or creates them idempotently.
/// </summary>
public sealed class RealApiServer : IAsyncLifetime
{
    private static readonly TimeSpan InstallLimit = TimeSpan.FromMinutes(20);
    private static readonly TimeSpan StartLimit = TimeSpan.FromMinutes(2);

    private readonly Lock _crdsLock = new();
    private Task? _crds;
    private readonly string _data = RepositoryRoot.Combine("out", "kube-apiserver-tests", Guid.NewGuid().ToString("N")[..12]);

    /// <summary>The admin's kubeconfig (system:masters).</summary>
    public string AdminKubeconfig { get; private set; } = "";

    /// <summary>Debian sid's kubectl, the version matching the server.</summary>
    public string Kubectl { get; private set; } = "";

    /// <summary>The kubeconfig of a service account the script gave a token (see WSO_KUBE_SERVICE_ACCOUNTS).</summary>
    public string ServiceAccountKubeconfig(string ns, string name) => Path.Combine(_data, "apiserver", $"kubeconfig-{ns}-{name}");

    public async ValueTask InitializeAsync()
    {
        var install = await RunScriptAsync("install-kube-apiserver.sh", [], InstallLimit);
        Assert.True(install.ExitCode == 0, $"scripts/install-kube-apiserver.sh failed: {install.Error.Trim()}");
        var up = await RunScriptAsync("kube-apiserver.sh", ["up"], StartLimit);
        Assert.True(up.ExitCode == 0, $"scripts/kube-apiserver.sh up failed: {up.Error.Trim()}");
        var env = await RunScriptAsync("kube-apiserver.sh", ["env"], StartLimit);
        Assert.True(env.ExitCode == 0, $"scripts/kube-apiserver.sh env failed: {env.Error.Trim()}");
        var values = env.Output.Split('\n', StringSplitOptions.RemoveEmptyEntries)
            .Select(l => l.StartsWith("export ", StringComparison.Ordinal) ? l[7..] : l)
            .Where(l => l.Contains('=', StringComparison.Ordinal))
            .ToDictionary(l => l[..l.IndexOf('=', StringComparison.Ordinal)], l => l[(l.IndexOf('=', StringComparison.Ordinal) + 1)..], StringComparer.Ordinal);
        AdminKubeconfig = values["KUBECONFIG"];
        Kubectl = values["WSO_KUBECTL"];
    }

    public async ValueTask DisposeAsync()
    {
        await RunScriptAsync("kube-apiserver.sh", ["down"], StartLimit);
        try
        {
            Directory.Delete(_data, recursive: true);
        }
        catch (IOException)
        {
        }
    }

    /// <summary>kubectl with the admin's kubeconfig, or <paramref name="kubeconfig"/> (manifests go in files: no stdin).</summary>
    public Task<ChildProcessOutcome> KubectlAsync(IEnumerable<string> arguments, string? kubeconfig = null) =>
        ChildProcessRunner.RunAsync(Kubectl, arguments, new Dictionary<string, string> { ["KUBECONFIG"] = kubeconfig ?? AdminKubeconfig },
            RepositoryRoot.Path, TimeSpan.FromSeconds(60), TestContext.Current.CancellationToken);

    /// <summary>kubectl that must succeed (the failure names the command and the server's words); returns its output.</summary>
    public async Task<string> KubectlOkAsync(string[] arguments)
    {
        var outcome = await KubectlAsync(arguments);
        Assert.True(outcome.ExitCode == 0, $"kubectl {string.Join(' ', arguments)} failed: {outcome.Error.Trim()}");
        return outcome.Output;
    }

    /// <summary>
    /// Applies the repository's CRDs (crds/) and waits until the server serves both kinds: once for the server, as
    /// every kubectl run costs about half a second on a loaded 2-core machine and table rows each need the CRDs.
    /// </summary>
    public Task ApplyCrdsAsync()
    {
        lock (_crdsLock)
        {
            return _crds ??= ApplyCrdsOnceAsync();
        }
    }

    private async Task ApplyCrdsOnceAsync()
    {
        await KubectlOkAsync(["apply", "-f", "crds/"]);
        await KubectlOkAsync(["wait", "--for=condition=Established", "--timeout=30s", "crd/workspacestorages.workspacestorage.hypha.amun.ai", "crd/storagebackends.workspacestorage.hypha.amun.ai"]);
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

    private Task<ChildProcessOutcome> RunScriptAsync(string script, string[] arguments, TimeSpan limit) =>
        ChildProcessRunner.RunAsync(RepositoryRoot.Combine("scripts", script), arguments,
            new Dictionary<string, string> { ["WSO_KUBE_DATA_DIR"] = _data }, RepositoryRoot.Path, limit, CancellationToken.None);
}

/// <summary>The test classes that share one <see cref="RealApiServer"/> (started once, for the first of them to run).</summary>
[CollectionDefinition(nameof(RealApiServerCollection))]
public sealed class RealApiServerCollection : ICollectionFixture<RealApiServer>;
