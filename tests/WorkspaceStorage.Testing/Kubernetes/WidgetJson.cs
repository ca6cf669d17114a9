using System.Runtime.CompilerServices;
using System.Text.Json.Serialization;
using k8s.Models;
using WorkspaceStorage.Kubernetes.Runtime;

namespace WorkspaceStorage.Testing.Kubernetes;

/// <summary>Source-generated JSON for <see cref="Widget"/>, as a resource type of another assembly registers its own.</summary>
[JsonSourceGenerationOptions(PropertyNamingPolicy = JsonKnownNamingPolicy.CamelCase, DefaultIgnoreCondition = JsonIgnoreCondition.WhenWritingNull)]
[JsonSerializable(typeof(Widget))]
[JsonSerializable(typeof(KubernetesList<Widget>))]
public sealed partial class WidgetJsonContext : JsonSerializerContext
{
#pragma warning disable CA2255 // Test support: the Widget type must be known before any test touches a client.
    [ModuleInitializer]
    internal static void Register() => ResourceJson.Register(Default);
#pragma warning restore CA2255
}
