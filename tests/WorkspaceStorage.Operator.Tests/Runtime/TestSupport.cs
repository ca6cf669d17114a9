using System.Collections.Concurrent;
using System.Diagnostics;
using System.Text.Json.Serialization;
using k8s;
using k8s.Models;
using Microsoft.Extensions.Logging;
using WorkspaceStorage.Kubernetes.Runtime;
using WorkspaceStorage.Testing.Kubernetes;

namespace WorkspaceStorage.Operator.Tests.Runtime;

/// <summary>A small custom resource so the runtime is tested on a type it knows nothing about.</summary>
[KubernetesEntity(Group = Widget.Group, ApiVersion = "v1", Kind = "Widget", PluralName = "widgets")]
public sealed class Widget : IKubernetesObject<V1ObjectMeta>
{
    public const string Group = "runtime.test.example.com";

    public static ResourceDescriptor Descriptor { get; } = new(Group, "v1", "widgets", "Widget", Namespaced: true);

    public static ResourceType ServerType { get; } = ResourceType.Custom(Group, "v1", "widgets", "Widget", namespaced: true);

    [JsonPropertyName("apiVersion")]
    public string ApiVersion { get; set; } = $"{Group}/v1";

    [JsonPropertyName("kind")]
    public string Kind { get; set; } = "Widget";

    [JsonPropertyName("metadata")]
    public V1ObjectMeta Metadata { get; set; } = new();

    [JsonPropertyName("spec")]
    public WidgetSpec? Spec { get; set; }

    [JsonPropertyName("status")]
    public WidgetStatus? Status { get; set; }

    public static Widget Create(string ns, string name, string size = "small") =>
        new() { Metadata = new V1ObjectMeta { NamespaceProperty = ns, Name = name }, Spec = new WidgetSpec { Size = size } };
}

public sealed class WidgetSpec
{
    [JsonPropertyName("size")]
    public string? Size { get; set; }
}

public sealed class WidgetStatus
{
    [JsonPropertyName("phase")]
    public string? Phase { get; set; }
}

internal static class Eventually
{
    /// <summary>Polls until the condition holds; fails the test with <paramref name="what"/> when it does not in time.</summary>
    public static async Task TrueAsync(Func<bool> condition, string what, TimeSpan? timeout = null)
    {
        var limit = timeout ?? TimeSpan.FromSeconds(10);
        var watch = Stopwatch.StartNew();
        while (!condition())
        {
            if (watch.Elapsed > limit)
            {
                Assert.Fail($"Timed out after {limit} waiting for: {what}");
            }

            await Task.Delay(20, TestContext.Current.CancellationToken);
        }
    }
}

/// <summary>Collects log lines so tests can check what was (not) logged.</summary>
internal class ListLogger : ILogger
{
    public ConcurrentQueue<string> Lines { get; } = new();

    public IDisposable? BeginScope<TState>(TState state)
        where TState : notnull => null;

    public bool IsEnabled(LogLevel logLevel) => true;

    public void Log<TState>(LogLevel logLevel, EventId eventId, TState state, Exception? exception, Func<TState, Exception?, string> formatter)
    {
        Lines.Enqueue($"{logLevel}: {formatter(state, exception)}{(exception is null ? "" : " " + exception)}");
    }

    public string All => string.Join('\n', Lines);
}

/// <summary>A <see cref="ListLogger"/> for classes that ask for an <see cref="ILogger{TCategoryName}"/>.</summary>
internal sealed class ListLogger<T> : ListLogger, ILogger<T>;

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
