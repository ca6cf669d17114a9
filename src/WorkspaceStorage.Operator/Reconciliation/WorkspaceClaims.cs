using WorkspaceStorage.Core.Resources;
using WorkspaceStorage.Core.Workspaces;
using WorkspaceStorage.Kubernetes.Runtime;
using WorkspaceStorage.Operator.BackendResolution;

namespace WorkspaceStorage.Operator.Reconciliation;

/// <summary>
/// Decides who holds a workspace when two WorkspaceStorages claim the same one on the same backend: the one already
/// holding it (status names the workspace and a key), then the oldest (creationTimestamp has whole seconds only),
/// then by namespace/name, so every reconcile agrees.
/// </summary>
/// <param name="cache">The informer's cache of all WorkspaceStorages, to find a second claimant without a list call;
/// null lists through <paramref name="storages"/>.</param>
public sealed class WorkspaceClaims(IResourceClient<WorkspaceStorageResource> storages, IResourceCache<WorkspaceStorageResource>? cache)
{
    /// <summary>"namespace/name" of the oldest other WorkspaceStorage claiming the same workspace on the same backend, when it is older.</summary>
    public async Task<string?> OlderClaimantAsync(WorkspaceStorageResource resource, WorkspaceId workspace, string? backendName, CancellationToken cancellationToken)
    {
        var backend = backendName ?? StorageBackendResolver.DefaultBackendName;
        IEnumerable<WorkspaceStorageResource> all = cache is not null
            ? cache.List()
            : (await storages.ListAsync(null, null, cancellationToken).ConfigureAwait(false)).Items;
        var mine = ClaimOrder(resource, workspace);
        var others = all.Where(other => other.Metadata.Uid != resource.Metadata.Uid && Claims(other, workspace, backend)).ToList();

        // Rare (normally no other claimant), so judge on the stored objects: the cache may lag behind a deletion or
        // behind the status that says who holds the workspace.
        WorkspaceStorageResource? oldest = null;
        foreach (var candidate in others)
        {
            var live = await storages.GetAsync(ResourceKey.Of(candidate), cancellationToken).ConfigureAwait(false);
            if (live is not null && live.Metadata.Uid == candidate.Metadata.Uid && Claims(live, workspace, backend)
                && ClaimOrder(live, workspace).CompareTo(mine) < 0
                && (oldest is null || ClaimOrder(live, workspace).CompareTo(ClaimOrder(oldest, workspace)) < 0))
            {
                oldest = live;
            }
        }

        return oldest is null ? null : $"{oldest.Metadata.NamespaceProperty}/{oldest.Metadata.Name}";
    }

    private static bool Claims(WorkspaceStorageResource other, WorkspaceId workspace, string backendName)
    {
        var otherWorkspace = other.Status?.Workspace ?? other.Spec?.Workspace ?? other.Metadata.Name;
        var otherBackend = other.Spec?.BackendRef?.Name ?? StorageBackendResolver.DefaultBackendName;
        return otherWorkspace == workspace.Value && otherBackend == backendName;
    }

    private static (int Holds, DateTime Created, string Key) ClaimOrder(WorkspaceStorageResource resource, WorkspaceId workspace) =>
        (resource.Status is { AccessKeyId: not null } status && status.Workspace == workspace.Value ? 0 : 1,
            resource.Metadata.CreationTimestamp ?? DateTime.MaxValue,
            $"{resource.Metadata.NamespaceProperty}/{resource.Metadata.Name}");
}
