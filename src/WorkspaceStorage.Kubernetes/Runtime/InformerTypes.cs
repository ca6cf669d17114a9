using k8s;
using k8s.Models;
using WorkspaceStorage.Core.Resilience;

namespace WorkspaceStorage.Kubernetes.Runtime;

/// <summary>Settings of an <see cref="Informer{T}"/>.</summary>
public sealed record InformerOptions
{
    /// <summary>Only this namespace; null = all namespaces (or the cluster, for cluster-scoped types).</summary>
    public string? Namespace { get; init; }

    /// <summary>Only objects matching this label selector ("k=v,k2=v2"); null = all.</summary>
    public string? LabelSelector { get; init; }

    /// <summary>Every this often each cached object is handed to the handlers again (as <see cref="InformerEventType.Resync"/>),
    /// so drift made outside Kubernetes (in the storage backend) is found even when no object changes. Null = never.</summary>
    public TimeSpan? ResyncPeriod { get; init; } = TimeSpan.FromMinutes(10);

    /// <summary>Delays between attempts after list or watch errors.</summary>
    public ExponentialBackoff Backoff { get; init; } = new(TimeSpan.FromMilliseconds(500), TimeSpan.FromSeconds(30));

    /// <summary>A watch that closes sooner than this without an event counts as a failure (so a server that drops
    /// every watch at once is not hammered).</summary>
    public TimeSpan MinimumHealthyWatch { get; init; } = TimeSpan.FromSeconds(1);
}

/// <summary>What an informer saw.</summary>
public enum InformerEventType
{
    Added,
    Updated,
    Deleted,

    /// <summary>No change seen: the periodic resync hands every cached object out again.</summary>
    Resync,
}

/// <summary>One informer notification; <see cref="Previous"/> is the cached object an update replaced.</summary>
public sealed record InformerEvent<T>(InformerEventType Type, T Object, T? Previous = null)
    where T : class;

/// <summary>The informer's local copy of the objects, as the reconciler reads it. Thread-safe. The objects are
/// shared: treat them as read-only and copy (<see cref="ResourceCopy.Clone{T}"/>) before changing one.</summary>
public interface IResourceCache<T>
    where T : class, IKubernetesObject<V1ObjectMeta>
{
    /// <summary>True once the first list has been loaded into the cache, while the informer runs.</summary>
    bool HasSynced { get; }

    /// <summary>The cached object, or null.</summary>
    T? Get(ResourceKey key);

    /// <summary>All cached objects (of one namespace, when given).</summary>
    IReadOnlyList<T> List(string? @namespace = null);
}

/// <summary>What a controller or the readiness probe needs of any informer.</summary>
public interface IInformer
{
    /// <summary>A name for logs and readiness reports (the resource plural).</summary>
    string Name { get; }

    /// <inheritdoc cref="IResourceCache{T}.HasSynced"/>
    bool HasSynced { get; }

    /// <summary>Lists, then watches, until cancelled.</summary>
    Task RunAsync(CancellationToken cancellationToken);

    /// <summary>Completes once <see cref="HasSynced"/> is true.</summary>
    Task WaitForSyncAsync(CancellationToken cancellationToken);
}
