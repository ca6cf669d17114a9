using k8s.Models;
using WorkspaceStorage.Kubernetes.Runtime;
using WorkspaceStorage.Testing.Kubernetes;

namespace WorkspaceStorage.Kubernetes.Tests.Runtime;

/// <summary>A test API server with the widget type registered, plus a real KubernetesClient for it.</summary>
internal sealed class KubeHarness : IAsyncDisposable
{
    private KubeHarness(KubeTestServer server)
    {
        Server = server;
        Client = server.CreateClient();
    }

    public KubeTestServer Server { get; }

    public k8s.Kubernetes Client { get; }

    public string Namespace { get; } = "ns-" + Guid.NewGuid().ToString("N")[..8];

    public static async Task<KubeHarness> StartAsync()
    {
        var server = await KubeTestServer.StartAsync(cancellationToken: TestContext.Current.CancellationToken);
        server.Register(Widget.ServerType);
        return new KubeHarness(server);
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
