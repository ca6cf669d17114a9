using System.Runtime.CompilerServices;
using System.Text.Json.Serialization;
using k8s.Models;
using WorkspaceStorage.Kubernetes.Runtime;

namespace WorkspaceStorage.Resources;

/// <summary>
/// Source-generated JSON for the custom resources and the list bodies the API server returns for them.
/// KubernetesClient.Aot only knows its own models; this context is added to its options
/// (<c>ResourceJson</c> in WorkspaceStorage.Kubernetes, when this assembly loads), so no type is read by reflection at run time.
/// The options match KubernetesJson's (camelCase, nulls omitted); enums carry their own converters.
/// The spec records' defaulted properties have setters, not <c>init</c>: generated code sets every init-only property,
/// so a field missing from the JSON would get null or 0 instead of its initializer's default.
/// </summary>
[JsonSourceGenerationOptions(PropertyNamingPolicy = JsonKnownNamingPolicy.CamelCase, DefaultIgnoreCondition = JsonIgnoreCondition.WhenWritingNull)]
[JsonSerializable(typeof(WorkspaceStorageResource))]
[JsonSerializable(typeof(WorkspaceStorageResourceList))]
[JsonSerializable(typeof(StorageBackendResource))]
[JsonSerializable(typeof(KubernetesList<WorkspaceStorageResource>))]
[JsonSerializable(typeof(KubernetesList<StorageBackendResource>))]
public sealed partial class ResourceJsonContext : JsonSerializerContext
{
#pragma warning disable CA2255 // KubernetesJson must know these types before any client reads one; loading this assembly is the one moment that always precedes that.
    [ModuleInitializer]
    internal static void Register() => ResourceJson.Register(Default);
#pragma warning restore CA2255
}
