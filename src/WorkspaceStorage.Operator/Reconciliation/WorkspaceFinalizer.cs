using Microsoft.Extensions.Logging;
using WorkspaceStorage.Core.Audit;
using WorkspaceStorage.Core.Model;
using WorkspaceStorage.Resources;
using WorkspaceStorage.Core.Workspaces;
using WorkspaceStorage.Kubernetes.Audit;
using WorkspaceStorage.Kubernetes.Runtime;
using WorkspaceStorage.Operator.BackendResolution;
using WorkspaceStorage.Storage.Backends;

namespace WorkspaceStorage.Operator.Reconciliation;

/// <summary>
/// Deletes what a WorkspaceStorage made (identity, keys, policies; data only with deletionPolicy Delete) and then
/// its finalizer. The finalizer stays while the backend cannot be reached: removing it would orphan an identity that
/// can still read the data. A workspace another WorkspaceStorage holds is left untouched; so is one this
/// WorkspaceStorage never held (no key recorded, no credential Secret written), whatever its deletionPolicy; and one
/// the backend's claim ceiling does not let it claim loses only the keys it recorded, never the identity or the data.
/// </summary>
public sealed class WorkspaceFinalizer(IResourceClient<WorkspaceStorageResource> storages, IStorageBackendResolver resolver, WorkspaceClaims claims,
    ClaimAdmission admission, CredentialSecretWriter secrets, WorkspaceStatusReporter status, IEventRecorder events, IAuditTrail audit, WorkspaceUsageReader usage, WorkspaceStorageReconcilerOptions options,
    TimeProvider clock, ILogger logger)
{
    public async Task<ReconcileResult> FinalizeAsync(WorkspaceStorageResource resource, CancellationToken cancellationToken)
    {
        if (!WorkspaceStorageReconciler.HasFinalizer(resource))
        {
            return ReconcileResult.Done;
        }

        var validation = resource.Validate(resolver.HasDefaultBackend);
        // What was provisioned is in the status; the spec may have become invalid since.
        var workspaceText = resource.Status?.Workspace ?? validation.Value?.Workspace.Value;
        var backendName = resource.Status?.Backend is { } provisioned ? (provisioned.Length == 0 ? null : provisioned) : validation.Value?.BackendName;
        string message;
        if (workspaceText is null || !WorkspaceId.TryParse(workspaceText, out var workspace, out _)
            || (resource.Status?.Workspace is null && resource.Status?.AccessKeyId is null && validation.Value is null))
        {
            message = "Nothing was provisioned; finalizer removed";
        }
        else if (!await HasProvisionedAsync(resource, validation.Value, cancellationToken))
        {
            // Never held: what is on the backend under W (identity, keys, data) was made for someone else, or by no one.
            message = $"WorkspaceStorage never held workspace '{workspace}' (no key recorded, no credential Secret); nothing on the backend touched, deletionPolicy not applied";
        }
        else
        {
            // Held while deciding and deleting: a claimant provisioning the workspace meanwhile must not lose it half-made.
            using var hold = await claims.HoldAsync(resource, workspace, backendName, cancellationToken);
            var deleted = await DeleteWorkspaceAsync(resource, validation.Value, workspace, backendName, cancellationToken);
            if (deleted.Retry is { } retry)
            {
                return retry;
            }

            message = deleted.Message!;
        }

        // Owner references let a real cluster's garbage collector do this too; deleting it here keeps the key's
        // lifetime equal to the identity's everywhere (an API server without kube-controller-manager, as in `make run` and
        // the tests, has no collector).
        if ((resource.Status?.SecretName ?? validation.Value?.SecretName) is { } secretName)
        {
            await secrets.DeleteOwnedAsync(resource, secretName, cancellationToken);
        }

        resource.Metadata.Finalizers.Remove(ResourceMetadata.Finalizer);
        await storages.ReplaceAsync(resource, cancellationToken);
        await events.RecordAsync(resource, EventSeverity.Normal, "Deleted", message, cancellationToken);
        logger.LogInformation("Finalized WorkspaceStorage {Namespace}/{Name}: {Outcome}", resource.Metadata.NamespaceProperty, resource.Metadata.Name, message);
        return ReconcileResult.Done;
    }

    /// <returns>What was done, or when to try again (the finalizer stays).</returns>
    private async Task<(string? Message, ReconcileResult? Retry)> DeleteWorkspaceAsync(WorkspaceStorageResource resource, ValidatedWorkspaceStorage? spec,
        WorkspaceId workspace, string? backendName, CancellationToken cancellationToken)
    {
        var policy = resource.Spec?.DeletionPolicy ?? DeletionPolicy.Retain;
        try
        {
            var ceiling = await admission.CeilingAsync(backendName, cancellationToken);
            if (admission.Refusal(ceiling, resource, workspace) is { } refusal)
            {
                await admission.ReleaseAsync(resource, workspace, backendName, spec?.SecretName, cancellationToken);
                return ($"Outside the claim ceiling ({refusal}): revoked the keys this WorkspaceStorage held, if any; the identity and data of workspace '{workspace}' left untouched", null);
            }

            if (await claims.OlderClaimantAsync(resource, workspace, backendName, admission.Admits(ceiling, workspace), cancellationToken) is { } owner)
            {
                return ($"Workspace '{workspace}' belongs to WorkspaceStorage {owner}; left untouched", null);
            }

            var backend = await resolver.ResolveAsync(backendName, cancellationToken);
            await backend.Backend.DeleteWorkspaceAsync(workspace, policy == DeletionPolicy.Delete ? DataDeletion.Delete : DataDeletion.Retain, cancellationToken);
            usage.Forget(backend.Name, workspace); // what the reader remembers must not grow with churn
            // Recorded on every successful delete, a repeat after a crash included: the trail may say it twice, never not at all.
            await audit.RecordAsync(resource, new AuditEvent(AuditEventType.IdentityDeleted, workspace.Value, AuditActor.Operator)
            {
                Backend = backend.Name,
                AccessKeyId = resource.Status?.AccessKeyId,
                Path = $"{backend.Backend.Location.Bucket}/{workspace.Prefix}",
                Reason = policy == DeletionPolicy.Delete ? "deletionPolicy Delete: data removed" : "deletionPolicy Retain: data retained",
            }, cancellationToken);
            return (policy == DeletionPolicy.Delete
                ? $"Removed the identity, keys and policies of workspace '{workspace}' and every object under {workspace.Prefix}"
                : $"Removed the identity, keys and policies of workspace '{workspace}'; data under {workspace.Prefix} retained", null);
        }
        catch (Exception error) when (BackendFailure.From(error, "spec.backendRef") is { } failure)
        {
            var generation = resource.Metadata.Generation;
            var (_, changed) = await status.Writer.UpdateAsync(resource, s =>
                s.Set(ConditionTypes.Reconciling, Conditions.True, ConditionReasons.Deleting, $"deleting: {failure.Message}", generation, clock.GetUtcNow())
                | s.Set(ConditionTypes.Ready, Conditions.False, failure.Reason, failure.Message, generation, clock.GetUtcNow()),
                cancellationToken);
            if (changed)
            {
                await events.RecordAsync(resource, EventSeverity.Warning, failure.Reason, $"Cannot delete workspace '{workspace}' yet: {failure.Message}", cancellationToken);
            }

            if (failure.Stalled)
            {
                return (null, ReconcileResult.RequeueAfter(error is BackendAuthenticationException ? options.AuthenticationRetryDelay : options.ConfigurationRetryDelay));
            }

            throw;
        }
    }

    /// <summary>Whether anything may exist on the backend for <paramref name="resource"/>: a status naming the workspace, or its Secret (written before any key).</summary>
    private async Task<bool> HasProvisionedAsync(WorkspaceStorageResource resource, ValidatedWorkspaceStorage? spec, CancellationToken cancellationToken)
    {
        if (resource.Status?.Workspace is not null || resource.Status?.AccessKeyId is not null)
        {
            return true;
        }

        var secretName = resource.Status?.SecretName ?? spec?.SecretName;
        if (secretName is null)
        {
            return false;
        }

        var secret = await secrets.GetAsync(resource, secretName, cancellationToken);
        return secret is not null && CredentialSecretWriter.IsOwnedBy(secret, resource);
    }
}
