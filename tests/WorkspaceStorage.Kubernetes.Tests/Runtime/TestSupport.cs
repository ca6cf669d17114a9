using k8s.Models;
using WorkspaceStorage.Kubernetes.Runtime;
using WorkspaceStorage.Testing.Kubernetes;

namespace WorkspaceStorage.Kubernetes.Tests.Runtime;

/// <summary>The real API server (emptied, behind a proxy of its own) with the widget CRD installed and a namespace of
/// the test's own, plus a real KubernetesClient through the proxy.</summary>
internal sealed class KubeHarness : IAsyncDisposable
{
    private KubeHarness(KubeCluster server, string ns)
    {
        Server = server;
        Client = server.CreateClient();
        Namespace = ns;
    }

    public KubeCluster Server { get; }

    public k8s.Kubernetes Client { get; }

    public string Namespace { get; }

    public static async Task<KubeHarness> StartAsync()
    {
        var ns = "ns-" + Guid.NewGuid().ToString("N")[..8];
        // "operators" holds the Leases of LeaderElectionRunnerTests; "ns" and "elsewhere" are ResourceClientContract's and InformerTests' own.
        var server = await KubeCluster.StartAsync([ns, "operators", "ns", "elsewhere"], TestContext.Current.CancellationToken);
        await server.EnsureCustomResourceDefinitionAsync(Widget.Definition);
        return new KubeHarness(server, ns);
    }

    public KubernetesResourceClient<Widget> Widgets(ResourceClientOptions? options = null) => new(Client, Widget.Descriptor, options);

    public KubernetesResourceClient<V1Secret> Secrets() => new(Client, ResourceDescriptor.Secrets);

    public KubernetesResourceClient<V1ConfigMap> ConfigMaps() => new(Client, ResourceDescriptor.ConfigMaps);

    public async ValueTask DisposeAsync()
    {
        Client.Dispose();
        await Server.DisposeAsync();
    }
}
