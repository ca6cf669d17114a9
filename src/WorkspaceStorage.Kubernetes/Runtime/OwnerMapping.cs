using k8s.Models;

namespace WorkspaceStorage.Kubernetes.Runtime;

/// <summary>
/// Maps an owned object (a Secret, say) back to the key of the object that owns it, so a change to the owned
/// object (edited or deleted by hand) makes its owner reconcile.
/// </summary>
public static class OwnerMapping
{
    /// <summary>Owners named by a controller ownerReference of the given kind and API group (any version).
    /// A namespaced owner lives in the owned object's namespace; a cluster-scoped owner has none.</summary>
    public static Func<TOwned, IEnumerable<ResourceKey>> ByOwnerReference<TOwned>(ResourceDescriptor owner)
        where TOwned : IMetadata<V1ObjectMeta>
    {
        ArgumentNullException.ThrowIfNull(owner);
        return owned =>
        {
            var references = owned.Metadata?.OwnerReferences;
            if (references is null)
            {
                return [];
            }

            return references
                .Where(reference => string.Equals(reference.Kind, owner.Kind, StringComparison.Ordinal)
                    && string.Equals(GroupOf(reference.ApiVersion), owner.Group, StringComparison.Ordinal)
                    && !string.IsNullOrEmpty(reference.Name))
                .Select(reference => new ResourceKey(owner.Namespaced ? owned.Metadata!.NamespaceProperty : null, reference.Name))
                .Distinct()
                .ToList();
        };
    }

    /// <summary>Owners named by labels on the owned object: <paramref name="nameLabel"/> holds the owner's name and
    /// <paramref name="namespaceLabel"/> its namespace (when null, the owned object's own namespace is used for a
    /// namespaced owner). Works across namespaces, where ownerReferences cannot.</summary>
    public static Func<TOwned, IEnumerable<ResourceKey>> ByLabels<TOwned>(ResourceDescriptor owner, string nameLabel, string? namespaceLabel = null)
        where TOwned : IMetadata<V1ObjectMeta>
    {
        ArgumentNullException.ThrowIfNull(owner);
        ArgumentException.ThrowIfNullOrWhiteSpace(nameLabel);
        return owned =>
        {
            var labels = owned.Metadata?.Labels;
            if (labels is null || !labels.TryGetValue(nameLabel, out var name) || string.IsNullOrEmpty(name))
            {
                return [];
            }

            if (!owner.Namespaced)
            {
                return [new ResourceKey(null, name)];
            }

            var @namespace = namespaceLabel is not null && labels.TryGetValue(namespaceLabel, out var labelled) && !string.IsNullOrEmpty(labelled)
                ? labelled
                : owned.Metadata!.NamespaceProperty;
            return string.IsNullOrEmpty(@namespace) ? [] : [new ResourceKey(@namespace, name)];
        };
    }

    private static string GroupOf(string? apiVersion)
    {
        if (string.IsNullOrEmpty(apiVersion))
        {
            return "";
        }

        var slash = apiVersion.IndexOf('/', StringComparison.Ordinal);
        return slash < 0 ? "" : apiVersion[..slash];
    }
}
