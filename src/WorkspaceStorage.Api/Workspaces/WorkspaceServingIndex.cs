using WorkspaceStorage.Core.Model;
using WorkspaceStorage.Core.Workspaces;
using WorkspaceStorage.Kubernetes.Runtime;
using WorkspaceStorage.Resources;

namespace WorkspaceStorage.Api.Workspaces;

/// <summary>
/// Which WorkspaceStorage serves each workspace W: one whose Ready condition is True (or was, until the operator lost
/// the storage server: BackendUnavailable), whose <c>status.workspace</c> is W, and whose StorageBackend's claim
/// ceiling (<c>spec.allowedClaims</c>) lets its namespace claim W (a status that says Ready is not enough: the
/// operator may not have judged it under the current ceiling yet). When two are served, the oldest wins, as the
/// operator orders claims. The index is rebuilt lazily after <see cref="Invalidate"/>; every answer is checked against
/// the cached object again.
/// </summary>
internal sealed class WorkspaceServingIndex(IResourceCache<WorkspaceStorageResource> storages, IResourceCache<StorageBackendResource> backends,
    StorageBackendViews views, NamespaceLabels namespaceLabels)
{
    private volatile Dictionary<string, ResourceKey>? index;

    /// <summary>After any change to a WorkspaceStorage, a StorageBackend (its ceiling) or a namespace (its labels).</summary>
    public void Invalidate() => index = null;

    /// <summary>The WorkspaceStorage serving <paramref name="workspace"/>, or null.</summary>
    public WorkspaceStorageResource? Find(WorkspaceId workspace)
    {
        var current = index ?? Build();
        return current.TryGetValue(workspace.Value, out var key) && storages.Get(key) is { } resource && IsServing(resource, workspace.Value)
            ? resource
            : null;
    }

    /// <summary>
    /// Whether <paramref name="resource"/>'s StorageBackend lets its namespace claim its workspace (the status's, else the
    /// spec's). False for an unknown or invalid StorageBackend, the operator's default backend (not served here) and a
    /// workspace id that is not one. On-demand provisioning counts only such claims: a refused one is nobody's.
    /// </summary>
    public bool IsWithinCeiling(WorkspaceStorageResource resource)
    {
        ArgumentNullException.ThrowIfNull(resource);
        var workspaceText = resource.Status?.Workspace ?? resource.Spec?.Workspace ?? resource.Metadata.Name;
        var backendName = resource.Status?.Backend is { Length: > 0 } provisioned ? provisioned : resource.Spec?.BackendRef?.Name;
        if (string.IsNullOrEmpty(backendName) || !WorkspaceId.TryParse(workspaceText, out var workspace, out _) || CeilingOf(backendName) is not { } ceiling)
        {
            return false;
        }

        var @namespace = resource.Metadata.NamespaceProperty ?? string.Empty;
        return ceiling.Refusal(@namespace, namespaceLabels.Of, workspace) is null;
    }

    /// <summary>The ceiling of StorageBackend <paramref name="name"/> from the cache; null when unknown or invalid.</summary>
    private ClaimCeiling? CeilingOf(string name) => backends.Get(new ResourceKey(null, name)) is { } resource ? views.Of(resource).Ceiling : null;

    private bool IsServing(WorkspaceStorageResource resource, string workspace) =>
        resource.Metadata.DeletionTimestamp is null
        && resource.Status is { } status
        && (status.IsTrue(ConditionTypes.Ready) || IsProvisionedButBackendUnreachable(resource, status))
        && string.Equals(status.Workspace, workspace, StringComparison.Ordinal)
        && IsWithinCeiling(resource);

    /// <summary>
    /// Ready for this generation until the operator could not reach the storage server: the identity and the key in the
    /// Secret still exist there (nothing was revoked), the operator only could not check them. Dropping W would turn an
    /// S3 outage into "no storage" (404, or a new on-demand claim waited on for a minute) and stop presigning, which
    /// needs no server at all; served, presigning goes on and data calls answer 503 until the server is back.
    /// </summary>
    private static bool IsProvisionedButBackendUnreachable(WorkspaceStorageResource resource, WorkspaceStorageStatus status) =>
        status.AccessKeyId is { Length: > 0 }
        && status.ObservedGeneration == resource.Metadata.Generation
        && status.Find(ConditionTypes.Reconciling) is { Status: Conditions.True, Reason: ConditionReasons.BackendUnavailable }
        && status.Find(ConditionTypes.Ready) is { Status: Conditions.False, Reason: ConditionReasons.BackendUnavailable };

    private Dictionary<string, ResourceKey> Build()
    {
        var built = new Dictionary<string, ResourceKey>(StringComparer.Ordinal);
        // Oldest first, then by namespace/name (the operator's order of claims), so the first one served for W stays.
        foreach (var resource in storages.List().OrderBy(r => r.Metadata.CreationTimestamp ?? DateTime.MaxValue)
                     .ThenBy(r => $"{r.Metadata.NamespaceProperty}/{r.Metadata.Name}", StringComparer.Ordinal))
        {
            if (resource.Status?.Workspace is { Length: > 0 } workspace && IsServing(resource, workspace))
            {
                built.TryAdd(workspace, ResourceKey.Of(resource));
            }
        }

        index = built;
        return built;
    }
}
