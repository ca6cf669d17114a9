using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Logging.Abstractions;
using WorkspaceStorage.Resources;
using WorkspaceStorage.Core.Workspaces;
using WorkspaceStorage.Kubernetes.Runtime;
using WorkspaceStorage.Operator.BackendResolution;

namespace WorkspaceStorage.Operator.Reconciliation;

/// <summary>
/// Decides who holds a workspace when two WorkspaceStorages claim the same one on the same backend, and who holds a
/// Secret name when two of one namespace ask for the same one: the one already holding it (status names it and a key),
/// then the oldest (creationTimestamp has whole seconds only), then by namespace/name, so every reconcile agrees.
/// </summary>
/// <param name="cache">The informer's cache of all WorkspaceStorages, to find a second claimant without a list call;
/// null lists through <paramref name="storages"/>.</param>
public sealed class WorkspaceClaims(IResourceClient<WorkspaceStorageResource> storages, IResourceCache<WorkspaceStorageResource>? cache, ILogger? logger = null)
{
    private readonly ILogger log = logger ?? NullLogger.Instance;
    private readonly Dictionary<(string Backend, string Workspace), Slot> slots = [];
    private readonly Lock slotsGate = new();

    /// <summary>"namespace/name" of the oldest other WorkspaceStorage claiming the same workspace on the same backend, when it is older.</summary>
    /// <param name="admitted">Whether the backend's claim ceiling lets another claimant claim the workspace at all; one it
    /// refuses is skipped, however old, and whatever its status says it held.</param>
    public Task<string?> OlderClaimantAsync(WorkspaceStorageResource resource, WorkspaceId workspace, string? backendName,
        Func<WorkspaceStorageResource, bool> admitted, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(admitted);
        var backend = backendName ?? StorageBackendResolver.DefaultBackendName;
        return OlderAsync(resource, null, other => ClaimsWorkspace(other, workspace, backend) && admitted(other),
            holder => holder.Status is { AccessKeyId: not null } status && status.Workspace == workspace.Value, cancellationToken);
    }

    /// <summary>"namespace/name" of the oldest other WorkspaceStorage of the same namespace asking for the Secret
    /// <paramref name="secretName"/>, when it is older: two owners of one Secret would overwrite each other's key.</summary>
    public Task<string?> OlderSecretClaimantAsync(WorkspaceStorageResource resource, string secretName, CancellationToken cancellationToken) =>
        OlderAsync(resource, resource.Metadata.NamespaceProperty, other => other.SecretName() == secretName,
            holder => holder.Status is { AccessKeyId: not null } status && status.SecretName == secretName, cancellationToken);

    /// <summary>
    /// Holds the workspace on the backend for the rest of one reconcile, from the claim check to the status that records
    /// its outcome. Without it, two claimants reconciled at once (created in the same second, say) may both pass the
    /// check before either status says it holds the workspace, and both provision it, each revoking the other's key.
    /// One operator process leads at a time, so a lock of this process suffices.
    /// </summary>
    public async Task<IDisposable> HoldAsync(WorkspaceStorageResource resource, WorkspaceId workspace, string? backendName, CancellationToken cancellationToken)
    {
        var key = (backendName ?? StorageBackendResolver.DefaultBackendName, workspace.Value);
        var claimant = $"{resource.Metadata.NamespaceProperty}/{resource.Metadata.Name}";
        Slot slot;
        lock (slotsGate)
        {
            if (!slots.TryGetValue(key, out slot!))
            {
                slot = new Slot();
                slots[key] = slot;
            }

            slot.Users++;
        }

        try
        {
            if (!slot.Gate.Wait(0, CancellationToken.None))
            {
                string? holder;
                lock (slotsGate)
                {
                    holder = slot.Holder;
                }

                log.LogDebug("WorkspaceStorage {Claimant} waits for WorkspaceStorage {Holder}, which is reconciling workspace {Workspace} on backend '{Backend}'",
                    claimant, holder ?? "(another)", workspace.Value, key.Item1);
                await slot.Gate.WaitAsync(cancellationToken);
            }
        }
        catch
        {
            Leave(key, slot, release: false);
            throw;
        }

        lock (slotsGate)
        {
            slot.Holder = claimant;
        }

        return new Hold(this, key, slot);
    }

    private void Leave((string, string) key, Slot slot, bool release)
    {
        lock (slotsGate)
        {
            if (release)
            {
                slot.Holder = null;
            }

            if (--slot.Users == 0)
            {
                slots.Remove(key);
            }
        }

        if (release)
        {
            slot.Gate.Release();
        }
    }

    private async Task<string?> OlderAsync(WorkspaceStorageResource resource, string? @namespace, Func<WorkspaceStorageResource, bool> claims,
        Func<WorkspaceStorageResource, bool> holds, CancellationToken cancellationToken)
    {
        IEnumerable<WorkspaceStorageResource> all = cache is not null
            ? cache.List(@namespace)
            : (await storages.ListAsync(@namespace, null, cancellationToken)).Items;
        var mine = ClaimOrder(resource, holds);
        var others = all.Where(other => other.Metadata.Uid != resource.Metadata.Uid && claims(other)).ToList();

        // Rare (normally no other claimant), so judge on the stored objects: the cache may lag behind a deletion or
        // behind the status that says who holds the claim.
        WorkspaceStorageResource? oldest = null;
        foreach (var candidate in others)
        {
            var live = await storages.GetAsync(ResourceKey.Of(candidate), cancellationToken);
            if (live is not null && live.Metadata.Uid == candidate.Metadata.Uid && claims(live)
                && ClaimOrder(live, holds).CompareTo(mine) < 0
                && (oldest is null || ClaimOrder(live, holds).CompareTo(ClaimOrder(oldest, holds)) < 0))
            {
                oldest = live;
            }
        }

        return oldest is null ? null : $"{oldest.Metadata.NamespaceProperty}/{oldest.Metadata.Name}";
    }

    private static bool ClaimsWorkspace(WorkspaceStorageResource other, WorkspaceId workspace, string backendName)
    {
        var otherWorkspace = other.Status?.Workspace ?? other.Spec?.Workspace ?? other.Metadata.Name;
        var otherBackend = other.Spec?.BackendRef?.Name ?? StorageBackendResolver.DefaultBackendName;
        return otherWorkspace == workspace.Value && otherBackend == backendName;
    }

    private static (int Holds, DateTime Created, string Key) ClaimOrder(WorkspaceStorageResource resource, Func<WorkspaceStorageResource, bool> holds) =>
        (holds(resource) ? 0 : 1,
            resource.Metadata.CreationTimestamp ?? DateTime.MaxValue,
            $"{resource.Metadata.NamespaceProperty}/{resource.Metadata.Name}");

    private sealed class Slot
    {
        public SemaphoreSlim Gate { get; } = new(1, 1);

        public int Users { get; set; }

        public string? Holder { get; set; }
    }

    private sealed class Hold(WorkspaceClaims owner, (string, string) key, Slot slot) : IDisposable
    {
        private int disposed;

        public void Dispose()
        {
            if (Interlocked.Exchange(ref disposed, 1) == 0)
            {
                owner.Leave(key, slot, release: true);
            }
        }
    }
}
