using k8s;
using Testcontainers.K3s;
using WorkspaceStorage.EndToEnd.Tests.Infrastructure;
using WorkspaceStorage.Testing.Support;

[assembly: AssemblyFixture(typeof(K3sCluster))]

namespace WorkspaceStorage.EndToEnd.Tests.Infrastructure;

/// <summary>
/// One K3s cluster for the whole suite (a real API server: CRD schemas, defaults, CEL rules, finalizers, garbage
/// collection), with the CRDs of crds/ installed and the operator running in this process against its kubeconfig.
/// Without a Docker engine nothing starts and every test calls <see cref="Require"/>, which reports it skipped with
/// the reason (or fails, with <see cref="DockerAvailability.RequiredVariable"/>=1).
/// </summary>
public sealed class K3sCluster : IAsyncLifetime
{
    /// <summary>CEL <c>isURL</c>/<c>url()</c> (1.27) and validation rules with <c>reason</c>/<c>fieldPath</c> (1.28) need a recent API server.</summary>
    public const string DefaultImage = "rancher/k3s:v1.31.5-k3s1";

    public const string ImageVariable = "WSO_E2E_K3S_IMAGE";

    private static readonly TimeSpan StartTimeout = TimeSpan.FromMinutes(5);

    private readonly string workDirectory = Path.Combine(Path.GetTempPath(), "wso-e2e-" + Guid.NewGuid().ToString("N")[..8]);
    private readonly DockerAvailability docker = DockerAvailability.Detect();
    private K3sContainer? container;
    private k8s.Kubernetes? kubernetes;
    private InProcessOperator? operatorProcess;

    /// <summary>A cluster-admin client (the test's kubectl).</summary>
    public IKubernetes Kubernetes => kubernetes ?? throw new InvalidOperationException("the cluster is not running; call Require() first");

    public string KubeconfigPath => Path.Combine(workDirectory, "kubeconfig.yaml");

    internal InProcessOperator Operator => operatorProcess ?? throw new InvalidOperationException("the operator is not running; call Require() first");

    /// <summary>Skips the calling test when there is no Docker engine; fails it when the cluster or the operator is not up.</summary>
    public void Require()
    {
        if (!docker.Available)
        {
            if (Environment.GetEnvironmentVariable(DockerAvailability.RequiredVariable) == "1")
            {
                Assert.Fail($"Docker is not available here: {docker.Reason}; {DockerAvailability.RequiredVariable}=1 requires it");
            }

            Assert.Skip($"Docker is not available here: {docker.Reason}");
        }

        if (kubernetes is null || operatorProcess is null)
        {
            Assert.Fail("Docker answers but the K3s cluster or the operator did not start; see the fixture's error");
        }

        if (!operatorProcess.IsRunning)
        {
            Assert.Fail($"The in-process operator stopped on its own. Its last log lines:\n{operatorProcess.Logs.Tail(40)}");
        }
    }

    public async ValueTask InitializeAsync()
    {
        if (!docker.Available)
        {
            return;
        }

        using var timeout = new CancellationTokenSource(StartTimeout);
        Directory.CreateDirectory(workDirectory);
        var image = Environment.GetEnvironmentVariable(ImageVariable) is { Length: > 0 } custom ? custom : DefaultImage;
        container = new K3sBuilder(image).Build();
        try
        {
            await container.StartAsync(timeout.Token);
        }
        catch (OperationCanceledException) when (timeout.IsCancellationRequested)
        {
            throw new TimeoutException($"K3s ({image}) did not start within {StartTimeout.TotalMinutes:0} minutes");
        }

        await File.WriteAllTextAsync(KubeconfigPath, await container.GetKubeconfigAsync(), timeout.Token);
        kubernetes = new k8s.Kubernetes(WorkspaceStorage.Kubernetes.Runtime.KubeconfigFile.Load(KubeconfigPath));
        await WaitForApiServerAsync(kubernetes, timeout.Token);
        await CrdManifests.InstallAsync(kubernetes, TimeSpan.FromMinutes(1), timeout.Token);
        operatorProcess = await InProcessOperator.StartAsync(KubeconfigPath, timeout.Token);
    }

    public async ValueTask DisposeAsync()
    {
        if (operatorProcess is not null)
        {
            await operatorProcess.DisposeAsync();
        }

        kubernetes?.Dispose();
        if (container is not null)
        {
            await container.DisposeAsync();
        }

        if (Directory.Exists(workDirectory))
        {
            Directory.Delete(workDirectory, recursive: true);
        }
    }

    /// <summary>K3s reports started before every API group is served; the default namespace's service account is a late sign.</summary>
    private static Task WaitForApiServerAsync(IKubernetes client, CancellationToken cancellationToken) =>
        Eventually.WaitAsync("the K3s API server to serve the default service account", TimeSpan.FromMinutes(2), async ct =>
        {
            var accounts = await client.CoreV1.ListNamespacedServiceAccountAsync("default", cancellationToken: ct);
            return (accounts.Items.Any(a => a.Metadata.Name == "default"), $"{accounts.Items.Count} service accounts in default");
        }, cancellationToken);
}
