using System.Net;
using WorkspaceStorage.Testing.Support;
using k8s.Models;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Logging.Abstractions;
using WorkspaceStorage.Core.Model;
using WorkspaceStorage.Resources;
using WorkspaceStorage.Operator.Hosting;
using WorkspaceStorage.Testing.Kubernetes;

namespace WorkspaceStorage.Operator.Tests.Host;

/// <summary>Cluster mode through a kubeconfig to the real API server, with leader election: the controllers run once the Lease is held.</summary>
public sealed class ClusterModeTests : IDisposable
{
    private readonly string folder = Directory.CreateTempSubdirectory("wso-cluster-").FullName;

    private static CancellationToken Ct => TestContext.Current.CancellationToken;

    public void Dispose() => Directory.Delete(folder, recursive: true);

    [Fact]
    public async Task With_leader_election_the_operator_takes_the_lease_becomes_ready_and_reconciles()
    {
        await using var kube = await KubeCluster.StartAsync(["team", "wso-system"], Ct);
        var kubeconfig = Path.Combine(folder, "kubeconfig");
        await kube.WriteKubeconfigAsync(kubeconfig);
        await kube.SeedAsync(new WorkspaceStorageResource
        {
            Metadata = new V1ObjectMeta { Name = "ws-cluster", NamespaceProperty = "team" },
            Spec = new WorkspaceStorageSpec { BackendRef = new BackendReference { Name = "absent-backend" } },
        });

        var app = new OperatorApplication(new OperatorEnvironment
        {
            GetEnvironmentVariable = name => name == "POD_NAME" ? "operator-test-pod" : null,
            ConfigureLogging = logging => logging.AddProvider(NullLoggerProvider.Instance),
        });
        using var stop = CancellationTokenSource.CreateLinkedTokenSource(Ct);
        var run = app.RunAsync(["--kubeconfig", kubeconfig, "--leader-elect", "--lease-namespace", "wso-system", "--lease-name", "wso-test",
            "--health-addr", "127.0.0.1:0"], stop.Token);
        var address = await app.Listening.WaitAsync(TimeSpan.FromSeconds(30), Ct);
        using var http = new HttpClient(new SocketsHttpHandler { UseProxy = false });

        await Eventually.TrueAsync(async ct => (await http.GetAsync(new Uri(address, "/readyz"), ct)).StatusCode == HttpStatusCode.OK
            && (await kube.GetAsync<WorkspaceStorageResource>("team", "ws-cluster"))?.Status?.ObservedGeneration == 1, "/readyz 200 and the WorkspaceStorage reconciled",
            observe: () => "/readyz or observedGeneration");

        var lease = await kube.GetAsync<V1Lease>("wso-system", "wso-test");
        Assert.Equal("operator-test-pod", lease?.Spec?.HolderIdentity);
        var status = (await kube.GetAsync<WorkspaceStorageResource>("team", "ws-cluster"))!.Status!;
        Assert.False(status.IsTrue(ConditionTypes.Ready)); // its backend does not exist

        await stop.CancelAsync();
        Assert.Equal(OperatorApplication.ExitOk, await run.WaitAsync(TimeSpan.FromSeconds(30), Ct));
    }
}
