using System.Text.Json.Serialization;
using k8s;
using k8s.Models;
using WorkspaceStorage.Kubernetes.Runtime;
using WorkspaceStorage.Kubernetes.InMemory;

namespace WorkspaceStorage.Testing.Kubernetes;

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
