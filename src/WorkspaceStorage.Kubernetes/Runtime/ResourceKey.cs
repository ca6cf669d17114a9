using k8s.Models;

namespace WorkspaceStorage.Kubernetes.Runtime;

/// <summary>
/// Identifies one object: namespace (null for cluster-scoped resources) and name. It is the work-queue key and the
/// cache key, so a reconcile is always about one object, never about one event.
/// </summary>
public readonly record struct ResourceKey
{
    public ResourceKey(string? @namespace, string name)
    {
        ArgumentException.ThrowIfNullOrWhiteSpace(name);
        Namespace = string.IsNullOrEmpty(@namespace) ? null : @namespace;
        Name = name;
    }

    /// <summary>Null for cluster-scoped objects.</summary>
    public string? Namespace { get; }

    public string Name { get; }

    /// <summary>The key of an object from its metadata.</summary>
    public static ResourceKey Of(IMetadata<V1ObjectMeta> resource)
    {
        ArgumentNullException.ThrowIfNull(resource);
        var metadata = resource.Metadata ?? throw new ArgumentException("The object has no metadata.", nameof(resource));
        return new ResourceKey(metadata.NamespaceProperty, metadata.Name);
    }

    /// <summary>Parses "namespace/name" or "name" (cluster-scoped).</summary>
    public static ResourceKey Parse(string text)
    {
        ArgumentException.ThrowIfNullOrWhiteSpace(text);
        var slash = text.IndexOf('/', StringComparison.Ordinal);
        return slash < 0 ? new ResourceKey(null, text) : new ResourceKey(text[..slash], text[(slash + 1)..]);
    }

    public override string ToString() => Namespace is null ? Name : $"{Namespace}/{Name}";
}
