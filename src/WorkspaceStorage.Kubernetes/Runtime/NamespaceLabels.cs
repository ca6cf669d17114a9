using k8s.Models;

namespace WorkspaceStorage.Kubernetes.Runtime;

/// <summary>
/// The labels of a namespace, from an informer's cache of Namespaces, for label selectors on namespaces (a
/// StorageBackend's claim ceiling). Unknown (no cache, not synced, no such namespace) is null, never "no labels":
/// a selector must then match nothing, so a namespace the cache has not seen is refused, not admitted.
/// </summary>
public sealed class NamespaceLabels(IResourceCache<V1Namespace>? cache)
{
    /// <summary>Labels are never known: every label selector matches nothing.</summary>
    public static NamespaceLabels None { get; } = new(null);

    public IReadOnlyDictionary<string, string>? Of(string @namespace)
    {
        ArgumentNullException.ThrowIfNull(@namespace);
        if (cache is not { HasSynced: true } || cache.Get(new ResourceKey(null, @namespace)) is not { } found)
        {
            return null;
        }

        return found.Metadata.Labels is { } labels ? new Dictionary<string, string>(labels, StringComparer.Ordinal) : new Dictionary<string, string>();
    }
}
