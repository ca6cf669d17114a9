using System.Runtime.CompilerServices;
using System.Text.Json;
using System.Text.Json.Serialization;
using System.Text.Json.Serialization.Metadata;
using k8s;
using k8s.Models;

namespace WorkspaceStorage.Kubernetes.Runtime;

/// <summary>
/// Where KubernetesClient.Aot finds the JSON metadata of types it does not generate itself: the custom resources and
/// the generic list bodies. An assembly of resource types registers its context (WorkspaceStorage.Resources does so
/// when it loads). KubernetesJson's shared options (which every <see cref="KubernetesClientConfiguration"/>
/// copies when a client is made) get one resolver that asks the registered source-generated contexts, so nothing is
/// serialized by reflection. Contexts may be registered later (tests add their own resource types); the resolver reads
/// the current set on each first lookup of a type.
/// </summary>
public static class ResourceJson
{
    private static IJsonTypeInfoResolver[] registered = [KubernetesListJsonContext.Default];

    static ResourceJson()
    {
        KubernetesJson.AddJsonOptions(options => options.TypeInfoResolverChain.Add(new RegisteredResolvers()));
        Options = CopyOfKubernetesOptions();
    }

    /// <summary>KubernetesJson's options, with the registered contexts in their chain.</summary>
    public static JsonSerializerOptions Options { get; }

    /// <summary>Makes sure KubernetesJson knows the registered contexts; call before making a client.</summary>
    public static void Ensure()
    {
        // The static constructor did the work.
    }

    /// <summary>Adds a source-generated context (for resource types of another assembly).</summary>
    public static void Register(IJsonTypeInfoResolver resolver)
    {
        ArgumentNullException.ThrowIfNull(resolver);
        IJsonTypeInfoResolver[] current, next;
        do
        {
            current = Volatile.Read(ref registered);
            if (current.Contains(resolver))
            {
                return;
            }

            next = [.. current, resolver];
        }
        while (Interlocked.CompareExchange(ref registered, next, current) != current);
    }

    public static string Serialize<T>(T value) => KubernetesJson.Serialize(value!, Options);

    public static T Deserialize<T>(string json) => KubernetesJson.Deserialize<T>(json, Options);

    public static T Deserialize<T>(JsonElement json) => KubernetesJson.Deserialize<T>(json, Options);

    private static JsonSerializerOptions CopyOfKubernetesOptions()
    {
        JsonSerializerOptions? copy = null;
        KubernetesJson.AddJsonOptions(options => copy = new JsonSerializerOptions(options));
        return copy!;
    }

#pragma warning disable CA2255 // The registration must precede any client; a library initializer is the one place that always does.
    [ModuleInitializer]
    internal static void Initialize() => Ensure();
#pragma warning restore CA2255

    private sealed class RegisteredResolvers : IJsonTypeInfoResolver
    {
        public JsonTypeInfo? GetTypeInfo(Type type, JsonSerializerOptions options)
        {
            foreach (var resolver in Volatile.Read(ref registered))
            {
                if (resolver.GetTypeInfo(type, options) is { } info)
                {
                    return info;
                }
            }

            return null;
        }
    }
}

/// <summary>
/// The list bodies of the built-in kinds the adapters read through the generic list call, and JsonElement: the run-time
/// type of the models' <c>object</c> fields (managedFields' fieldsV1, a CRD's status subresource), which
/// KubernetesClient.Aot's own context lacks, so writing an object read from the server would otherwise fail.
/// </summary>
[JsonSourceGenerationOptions(PropertyNamingPolicy = JsonKnownNamingPolicy.CamelCase, DefaultIgnoreCondition = JsonIgnoreCondition.WhenWritingNull)]
[JsonSerializable(typeof(KubernetesList<V1Secret>))]
[JsonSerializable(typeof(KubernetesList<V1ConfigMap>))]
[JsonSerializable(typeof(KubernetesList<V1Namespace>))]
[JsonSerializable(typeof(KubernetesList<Corev1Event>))]
[JsonSerializable(typeof(JsonElement))]
public sealed partial class KubernetesListJsonContext : JsonSerializerContext;
