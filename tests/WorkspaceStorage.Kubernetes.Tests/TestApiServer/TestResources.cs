using System.Net;
using System.Text.Json.Serialization;
using k8s;
using k8s.Autorest;
using k8s.Models;
using WorkspaceStorage.Testing.Kubernetes;

namespace WorkspaceStorage.Kubernetes.Tests.TestApiServer;

/// <summary>A minimal WorkspaceStorage shape, enough to drive the custom-resource paths of the test server.</summary>
[KubernetesEntity(Group = KubeResources.WorkspaceStorageGroup, ApiVersion = KubeResources.WorkspaceStorageVersion, Kind = "WorkspaceStorage", PluralName = "workspacestorages")]
public sealed class TestWorkspaceStorage : IKubernetesObject<V1ObjectMeta>
{
    [JsonPropertyName("apiVersion")]
    public string ApiVersion { get; set; } = $"{KubeResources.WorkspaceStorageGroup}/{KubeResources.WorkspaceStorageVersion}";

    [JsonPropertyName("kind")]
    public string Kind { get; set; } = "WorkspaceStorage";

    [JsonPropertyName("metadata")]
    public V1ObjectMeta Metadata { get; set; } = new();

    [JsonPropertyName("spec")]
    public TestWorkspaceStorageSpec? Spec { get; set; }

    [JsonPropertyName("status")]
    public TestWorkspaceStorageStatus? Status { get; set; }

    public static TestWorkspaceStorage New(string name, string ns = "default", string workspace = "ws", IDictionary<string, string>? labels = null) => new()
    {
        Metadata = new V1ObjectMeta { Name = name, NamespaceProperty = ns, Labels = labels },
        Spec = new TestWorkspaceStorageSpec { Workspace = workspace, Access = "ReadWrite" },
    };
}

public sealed class TestWorkspaceStorageSpec
{
    [JsonPropertyName("workspace")]
    public string? Workspace { get; set; }

    [JsonPropertyName("access")]
    public string? Access { get; set; }
}

public sealed class TestWorkspaceStorageStatus
{
    [JsonPropertyName("phase")]
    public string? Phase { get; set; }

    [JsonPropertyName("observedGeneration")]
    public long? ObservedGeneration { get; set; }
}

[KubernetesEntity(Group = KubeResources.WorkspaceStorageGroup, ApiVersion = KubeResources.WorkspaceStorageVersion, Kind = "StorageBackend", PluralName = "storagebackends")]
public sealed class TestStorageBackend : IKubernetesObject<V1ObjectMeta>
{
    [JsonPropertyName("apiVersion")]
    public string ApiVersion { get; set; } = $"{KubeResources.WorkspaceStorageGroup}/{KubeResources.WorkspaceStorageVersion}";

    [JsonPropertyName("kind")]
    public string Kind { get; set; } = "StorageBackend";

    [JsonPropertyName("metadata")]
    public V1ObjectMeta Metadata { get; set; } = new();

    [JsonPropertyName("spec")]
    public Dictionary<string, string>? Spec { get; set; }

    [JsonPropertyName("status")]
    public Dictionary<string, string>? Status { get; set; }
}

public sealed class TestList<T> : IKubernetesObject<V1ListMeta>
{
    [JsonPropertyName("apiVersion")]
    public string ApiVersion { get; set; } = "";

    [JsonPropertyName("kind")]
    public string Kind { get; set; } = "";

    [JsonPropertyName("metadata")]
    public V1ListMeta Metadata { get; set; } = new();

    [JsonPropertyName("items")]
    public List<T> Items { get; set; } = [];
}

internal static class Api
{
    public const string Group = KubeResources.WorkspaceStorageGroup;
    public const string Version = KubeResources.WorkspaceStorageVersion;
    public const string WorkspaceStorages = "workspacestorages";

    public static CancellationToken Timeout(int seconds = 20)
    {
        var cts = CancellationTokenSource.CreateLinkedTokenSource(TestContext.Current.CancellationToken);
        cts.CancelAfter(TimeSpan.FromSeconds(seconds));
        return cts.Token;
    }

    /// <summary>Runs a call that must fail and returns the HTTP status plus the Status reason the server sent.</summary>
    public static async Task<(HttpStatusCode Code, string? Reason, string Body)> FailureOf(Func<Task> call)
    {
        var error = await Assert.ThrowsAsync<HttpOperationException>(call);
        var status = KubernetesJson.Deserialize<V1Status>(error.Response.Content);
        Assert.Equal("Status", status.Kind);
        Assert.Equal((int)error.Response.StatusCode, status.Code);
        return (error.Response.StatusCode, status.Reason, error.Response.Content);
    }

    public static GenericClient WorkspaceStorageClient(IKubernetes client) => new(client, Group, Version, WorkspaceStorages, disposeClient: false);

    /// <summary>Reads watch events until <paramref name="count"/> arrived or the stream ended.</summary>
    public static async Task<List<(WatchEventType Type, T Object)>> Collect<T>(
        IAsyncEnumerable<(WatchEventType, T)> events, int count, CancellationToken cancellationToken)
    {
        var received = new List<(WatchEventType, T)>();
        try
        {
            await foreach (var item in events.WithCancellation(cancellationToken))
            {
                received.Add(item);
                if (received.Count >= count)
                {
                    break;
                }
            }
        }
        catch (OperationCanceledException) when (cancellationToken.IsCancellationRequested)
        {
            // The caller asserts on what arrived.
        }

        return received;
    }
}
