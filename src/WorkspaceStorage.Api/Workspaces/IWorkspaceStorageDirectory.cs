using WorkspaceStorage.Api.Auth;
using WorkspaceStorage.Core.Workspaces;

namespace WorkspaceStorage.Api.Workspaces;

/// <summary>
/// The workspace directory the storage routes need: <see cref="IWorkspaceDirectory.IsPublicAsync"/> for
/// authorisation plus W's storage. Implementations: <see cref="KubernetesWorkspaceDirectory"/> (informers on
/// WorkspaceStorages, StorageBackends and the operator's Secrets) and <see cref="InMemoryWorkspaceDirectory"/> (tests, benchmarks).
/// </summary>
public interface IWorkspaceStorageDirectory : IWorkspaceDirectory
{
    /// <summary>W's storage, or null when W has none (the routes answer 404).</summary>
    ValueTask<WorkspaceStorageHandle?> FindAsync(WorkspaceId workspace, CancellationToken cancellationToken);

    /// <summary>Every bucket with TTL bookkeeping the sweeper should visit (distinct by endpoint and bucket).</summary>
    ValueTask<IReadOnlyList<BucketBookkeeping>> ListBookkeepingBucketsAsync(CancellationToken cancellationToken);
}

/// <summary>
/// A directory that can tell when its view of one workspace may have changed, so a caller waiting for a workspace to
/// become servable (on-demand provisioning) wakes at once rather than on its next poll.
/// </summary>
public interface IWorkspaceChangeNotifier
{
    /// <summary>
    /// Completes at the next change the directory sees to a WorkspaceStorage of <paramref name="workspace"/>. Ask before
    /// looking the workspace up, so a change between the lookup and the wait is not missed.
    /// </summary>
    Task WhenChanged(WorkspaceId workspace);

    /// <summary>The caller no longer waits for <paramref name="workspace"/>: forget its waiter, which would otherwise
    /// stay until that workspace's next change (never, for a workspace that got no storage).</summary>
    void StopWaiting(WorkspaceId workspace);
}
