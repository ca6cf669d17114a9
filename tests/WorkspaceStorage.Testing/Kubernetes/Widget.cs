using System.Text.Json.Serialization;
using k8s;
using k8s.Models;
using WorkspaceStorage.Kubernetes.Runtime;

namespace WorkspaceStorage.Testing.Kubernetes;

/// <summary>A small custom resource so the runtime is tested on a type it knows nothing about.</summary>
[KubernetesEntity(Group = Widget.Group, ApiVersion = "v1", Kind = "Widget", PluralName = "widgets")]
public sealed class Widget : IKubernetesObject<V1ObjectMeta>
{
    public const string Group = "runtime.test.example.com";

    public static ResourceDescriptor Descriptor { get; } = new(Group, "v1", "widgets", "Widget", Namespaced: true);

    /// <summary>The CRD that serves widgets on a real API server: spec.size and status.phase, a status subresource.</summary>
    public static V1CustomResourceDefinition Definition { get; } = new()
    {
        Metadata = new V1ObjectMeta { Name = $"widgets.{Group}" },
        Spec = new V1CustomResourceDefinitionSpec
        {
            Group = Group,
            Scope = "Namespaced",
            Names = new V1CustomResourceDefinitionNames { Plural = "widgets", Singular = "widget", Kind = "Widget", ListKind = "WidgetList" },
            Versions =
            [
                new V1CustomResourceDefinitionVersion
                {
                    Name = "v1",
                    Served = true,
                    Storage = true,
                    Subresources = new V1CustomResourceSubresources { Status = new object() },
                    Schema = new V1CustomResourceValidation
                    {
                        OpenAPIV3Schema = new V1JSONSchemaProps
                        {
                            Type = "object",
                            Properties = new Dictionary<string, V1JSONSchemaProps>
                            {
                                ["spec"] = new() { Type = "object", Properties = new Dictionary<string, V1JSONSchemaProps> { ["size"] = new() { Type = "string" } } },
                                ["status"] = new() { Type = "object", Properties = new Dictionary<string, V1JSONSchemaProps> { ["phase"] = new() { Type = "string" } } },
                            },
                        },
                    },
                },
            ],
        },
    };

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
