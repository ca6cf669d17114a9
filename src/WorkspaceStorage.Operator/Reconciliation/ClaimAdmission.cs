using Microsoft.Extensions.Logging;
using WorkspaceStorage.Core.Model;
using WorkspaceStorage.Resources;
using WorkspaceStorage.Core.Workspaces;
using WorkspaceStorage.Kubernetes.Runtime;
using WorkspaceStorage.Operator.BackendResolution;
using WorkspaceStorage.Storage.Backends;

namespace WorkspaceStorage.Operator.Reconciliation;

/// <summary>
/// Applies a backend's claim ceiling (<see cref="ClaimCeiling"/>: who may claim which workspace, written by an admin in
/// the StorageBackend or the operator's flags) to WorkspaceStorages. A claim outside it is refused before anything is
/// made on the storage server; one that held the workspace under an earlier ceiling loses the keys it recorded and
/// its credential Secret, so a claim moved by the admin leaves the old holder without access even before a new holder
/// takes over. Nothing else of the workspace (its identity, other holders' keys, its data) is touched.
/// </summary>
public sealed class ClaimAdmission(IStorageBackendResolver resolver, NamespaceLabels namespaces, CredentialSecretWriter secrets, WorkspaceStatusReporter status,
    ILogger logger)
{
    public Task<ClaimCeiling> CeilingAsync(string? backendName, CancellationToken cancellationToken) => resolver.CeilingAsync(backendName, cancellationToken);

    /// <summary>Null when <paramref name="resource"/>'s namespace may claim <paramref name="workspace"/> under <paramref name="ceiling"/>; else why not.</summary>
    public string? Refusal(ClaimCeiling ceiling, WorkspaceStorageResource resource, WorkspaceId workspace)
    {
        ArgumentNullException.ThrowIfNull(ceiling);
        ArgumentNullException.ThrowIfNull(resource);
        var @namespace = resource.Metadata.NamespaceProperty ?? string.Empty;
        return ceiling.Refusal(@namespace, namespaces.Of, workspace);
    }

    /// <summary>Whether another claimant counts at all: one the ceiling refuses holds nothing and is in nobody's way.</summary>
    public Func<WorkspaceStorageResource, bool> Admits(ClaimCeiling ceiling, WorkspaceId workspace) => other => Refusal(ceiling, other, workspace) is null;

    /// <summary>
    /// Refuses a claim: first takes back what it held under an earlier ceiling (the keys its status records, revoked on
    /// the backend; its credential Secret), then Stalled with reason <see cref="ConditionReasons.ClaimNotAllowed"/> and
    /// a Warning event naming the ceiling.
    /// </summary>
    public async Task RefuseAsync(WorkspaceStorageResource resource, WorkspaceId workspace, string? backendName, string? secretName, string refusal,
        CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(resource);
        resource = await ReleaseAsync(resource, workspace, backendName, secretName, cancellationToken);
        await status.StallAsync(resource, ConditionReasons.ClaimNotAllowed, $"spec.workspace: {refusal}", cancellationToken);
    }

    /// <summary>
    /// Revokes the keys <paramref name="resource"/>'s status records (and only those: the operator wrote them there, a
    /// tenant cannot) on W's identity, deletes its own credential Secret and clears the key from its status. Writes
    /// nothing when it holds no key.
    /// </summary>
    public async Task<WorkspaceStorageResource> ReleaseAsync(WorkspaceStorageResource resource, WorkspaceId workspace, string? backendName, string? secretName,
        CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(resource);
        string[] recorded = [.. new[] { resource.Status?.AccessKeyId, resource.Status?.PreviousAccessKeyId }.OfType<string>().Where(id => id.Length > 0).Distinct(StringComparer.Ordinal)];
        if (recorded.Length > 0)
        {
            var backend = await resolver.ResolveAsync(backendName, cancellationToken);
            foreach (var keyId in recorded)
            {
                if (await backend.Backend.RevokeKeyAsync(workspace, keyId, cancellationToken) != EnsureOutcome.Unchanged)
                {
                    logger.LogWarning("Revoked key {AccessKeyId} of workspace {Workspace}: WorkspaceStorage {Namespace}/{Name} is outside the claim ceiling",
                        keyId, workspace.Value, resource.Metadata.NamespaceProperty, resource.Metadata.Name);
                }
            }
        }

        if ((resource.Status?.SecretName ?? secretName) is { } name)
        {
            await secrets.DeleteOwnedAsync(resource, name, cancellationToken);
        }

        if (recorded.Length == 0 && resource.Status?.Workspace is null)
        {
            return resource;
        }

        var (updated, _) = await status.Writer.UpdateAsync(resource, s =>
        {
            var changed = s.Workspace is not null || s.AccessKeyId is not null || s.PreviousAccessKeyId is not null || s.PreviousKeyRevokeAfter is not null;
            s.Workspace = null;
            s.AccessKeyId = null;
            s.PreviousAccessKeyId = null;
            s.PreviousKeyRevokeAfter = null;
            s.CredentialsRotatedAt = null;
            return changed;
        }, cancellationToken);
        return updated;
    }
}
