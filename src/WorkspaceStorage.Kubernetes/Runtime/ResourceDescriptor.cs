using System.Reflection;
using k8s.Models;

namespace WorkspaceStorage.Kubernetes.Runtime;

/// <summary>
/// Where a resource type lives in the API: group ("" for the core group), version, plural, kind and scope.
/// </summary>
public sealed record ResourceDescriptor(string Group, string Version, string Plural, string Kind, bool Namespaced)
{
    /// <summary>core/v1 Secrets.</summary>
    public static ResourceDescriptor Secrets { get; } = new("", "v1", "secrets", "Secret", Namespaced: true);

    /// <summary>core/v1 Events.</summary>
    public static ResourceDescriptor Events { get; } = new("", "v1", "events", "Event", Namespaced: true);

    /// <summary>core/v1 Namespaces (cluster-scoped).</summary>
    public static ResourceDescriptor Namespaces { get; } = new("", "v1", "namespaces", "Namespace", Namespaced: false);

    /// <summary>core/v1 ConfigMaps.</summary>
    public static ResourceDescriptor ConfigMaps { get; } = new("", "v1", "configmaps", "ConfigMap", Namespaced: true);

    /// <summary>The descriptor of a model class from its <see cref="KubernetesEntityAttribute"/> (which does not say
    /// the scope, hence <paramref name="namespaced"/>).</summary>
    public static ResourceDescriptor For<T>(bool namespaced)
    {
        var entity = typeof(T).GetCustomAttribute<KubernetesEntityAttribute>()
            ?? throw new ArgumentException($"{typeof(T).Name} has no [KubernetesEntity] attribute naming its group, version, kind and plural.", nameof(T));
        if (string.IsNullOrEmpty(entity.ApiVersion) || string.IsNullOrEmpty(entity.Kind) || string.IsNullOrEmpty(entity.PluralName))
        {
            throw new ArgumentException($"[KubernetesEntity] on {typeof(T).Name} must set ApiVersion, Kind and PluralName.", nameof(T));
        }

        return new ResourceDescriptor(entity.Group ?? "", entity.ApiVersion, entity.PluralName, entity.Kind, namespaced);
    }

    /// <summary>"group/version", or "version" for the core group: the value of an object's apiVersion.</summary>
    public string ApiVersion => Group.Length == 0 ? Version : $"{Group}/{Version}";
}
