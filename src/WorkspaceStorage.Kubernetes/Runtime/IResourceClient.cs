using k8s;
using k8s.Models;

namespace WorkspaceStorage.Kubernetes.Runtime;

/// <summary>
/// The cluster store as the reconciler sees it, for one resource type <typeparamref name="T"/>.
/// </summary>
/// <remarks>
/// Contract every implementation keeps (the Kubernetes adapter and the local directory-of-manifests adapter):
/// <list type="bullet">
/// <item>Objects are addressed by <see cref="ResourceKey"/>; the namespace is null exactly when the type is cluster-scoped.</item>
/// <item>Every write returns the object as stored, with its new <c>metadata.resourceVersion</c>.</item>
/// <item>Optimistic concurrency: <see cref="ReplaceAsync"/> and <see cref="ReplaceStatusAsync"/> send the
///   resourceVersion they were given; when the stored object has moved on they throw
///   <see cref="ResourceConflictException"/> and change nothing.</item>
/// <item><see cref="ReplaceAsync"/> ignores <c>status</c>; <see cref="ReplaceStatusAsync"/> changes only <c>status</c>.</item>
/// <item>Errors are typed: <see cref="ResourceNotFoundException"/> (404), <see cref="ResourceConflictException"/> /
///   <see cref="ResourceAlreadyExistsException"/> (409), <see cref="ResourceGoneException"/> (410),
///   <see cref="ResourceRejectedException"/> (other 4xx), <see cref="ResourceClientException"/> (5xx, transport,
///   timeout: <see cref="ResourceClientException.IsTransient"/> is true). No transport exception leaks out.</item>
/// <item>Each call is bounded by the adapter's request timeout as well as by the caller's token; a call cut by the
///   timeout throws a transient <see cref="ResourceClientException"/>, one cut by the token throws
///   <see cref="OperationCanceledException"/>.</item>
/// <item>Objects returned are the caller's to change; the adapter keeps no reference to them.</item>
/// </list>
/// </remarks>
public interface IResourceClient<T>
    where T : class, IKubernetesObject<V1ObjectMeta>
{
    /// <summary>What this client talks to.</summary>
    ResourceDescriptor Resource { get; }

    /// <summary>Reads one object; null when it does not exist (404 is an answer here, not an error).</summary>
    Task<T?> GetAsync(ResourceKey key, CancellationToken cancellationToken);

    /// <summary>Lists objects in one namespace (or all namespaces / the cluster when null), optionally filtered by a
    /// label selector ("k=v,k2=v2"). The result carries the collection's resourceVersion to watch from.</summary>
    Task<ResourceList<T>> ListAsync(string? @namespace, string? labelSelector, CancellationToken cancellationToken);

    /// <summary>Creates the object; <see cref="ResourceAlreadyExistsException"/> when the name is taken.</summary>
    Task<T> CreateAsync(T resource, CancellationToken cancellationToken);

    /// <summary>Replaces spec/metadata of the object, guarded by its resourceVersion.</summary>
    Task<T> ReplaceAsync(T resource, CancellationToken cancellationToken);

    /// <summary>Replaces the status subresource of the object, guarded by its resourceVersion.</summary>
    Task<T> ReplaceStatusAsync(T resource, CancellationToken cancellationToken);

    /// <summary>Applies a patch to the object (not to its status). <see cref="ResourceNotFoundException"/> when absent.</summary>
    Task<T> PatchAsync(ResourceKey key, ResourcePatch patch, CancellationToken cancellationToken);

    /// <summary>Asks for deletion. Returns false when the object was already gone. With finalizers present the
    /// object stays (with <c>metadata.deletionTimestamp</c> set) until they are removed.</summary>
    Task<bool> DeleteAsync(ResourceKey key, CancellationToken cancellationToken);
}

/// <summary>
/// The list-and-watch source an <see cref="Informer{T}"/> reads from.
/// </summary>
/// <remarks>
/// Contract: <see cref="ListAsync"/> returns a consistent snapshot and its resourceVersion. <see cref="WatchAsync"/>
/// yields every change after the given resourceVersion, in order, each event carrying the object's new
/// resourceVersion; the stream ends normally when the store closes the watch (the caller resumes from the last
/// resourceVersion it saw). When the resourceVersion is too old to resume from, the stream throws
/// <see cref="ResourceGoneException"/> (the Kubernetes adapter maps both an HTTP 410 and an in-stream ERROR event with
/// code 410 to it), and the caller lists again. A store that cannot resume at all may always throw it.
/// </remarks>
public interface IResourceWatcher<T>
    where T : class, IKubernetesObject<V1ObjectMeta>
{
    /// <inheritdoc cref="IResourceClient{T}.ListAsync"/>
    Task<ResourceList<T>> ListAsync(string? @namespace, string? labelSelector, CancellationToken cancellationToken);

    /// <summary>Watches changes after <paramref name="resourceVersion"/>. The token ends the watch.</summary>
    IAsyncEnumerable<ResourceWatchEvent<T>> WatchAsync(string? @namespace, string resourceVersion, string? labelSelector, CancellationToken cancellationToken);
}

/// <summary>A list result: the objects and the collection resourceVersion to watch from.</summary>
public sealed record ResourceList<T>(IReadOnlyList<T> Items, string ResourceVersion);

/// <summary>What happened to an object.</summary>
public enum ResourceWatchEventType
{
    Added,
    Modified,
    Deleted,

    /// <summary>No change, only a newer resourceVersion to resume from (the object carries just that).</summary>
    Bookmark,
}

/// <summary>One watch event; <see cref="ResourceVersion"/> is where to resume after it.</summary>
public sealed record ResourceWatchEvent<T>(ResourceWatchEventType Type, T Object, string ResourceVersion);

/// <summary>How a patch document is to be applied.</summary>
public enum ResourcePatchType
{
    /// <summary>RFC 7386 JSON merge patch (application/merge-patch+json).</summary>
    MergePatch,

    /// <summary>RFC 6902 JSON patch (application/json-patch+json).</summary>
    JsonPatch,
}

/// <summary>A patch document and its type.</summary>
public sealed record ResourcePatch(ResourcePatchType Type, string Json)
{
    public static ResourcePatch Merge(string json) => new(ResourcePatchType.MergePatch, json);

    // The document may hold data (a Secret's, say): never print it.
    public override string ToString() => $"ResourcePatch {{ Type = {Type}, Length = {Json.Length} }}";
}
