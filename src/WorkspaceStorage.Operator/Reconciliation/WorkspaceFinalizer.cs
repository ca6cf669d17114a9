using Microsoft.Extensions.Logging;
using WorkspaceStorage.Core.Resources;
using WorkspaceStorage.Core.Workspaces;
using WorkspaceStorage.Kubernetes.Runtime;
using WorkspaceStorage.Operator.BackendResolution;
using WorkspaceStorage.Storage.Backends;

namespace WorkspaceStorage.Operator.Reconciliation;

/// <summary>
/// Deletes what a WorkspaceStorage made (identity, keys, policies; data only with deletionPolicy Delete) and then
/// its finalizer. The finalizer stays while the backend cannot be reached: removing it would orphan an identity that
/// can still read the data. A workspace another WorkspaceStorage holds is left untouched.
/// </summary>
public sealed class WorkspaceFinalizer(IResourceClient<WorkspaceStorageResource> storages, IStorageBackendResolver resolver, WorkspaceClaims claims,
    CredentialSecretWriter secrets, WorkspaceStatusReporter status, IEventRecorder events, WorkspaceStorageReconcilerOptions options, TimeProvider clock,
    ILogger logger)
{
    public async Task<ReconcileResult> FinalizeAsync(WorkspaceStorageResource resource, CancellationToken cancellationToken)
    {
        if (!WorkspaceStorageReconciler.HasFinalizer(resource))
        {
            return ReconcileResult.Done;
        }

        var validation = WorkspaceStorageValidator.Validate(resource, resolver.HasDefaultBackend);
        // What was provisioned is in the status; the spec may have become invalid since.
        var workspaceText = resource.Status?.Workspace ?? validation.Value?.Workspace.Value;
        var backendName = resource.Status?.Backend is { } provisioned ? (provisioned.Length == 0 ? null : provisioned) : validation.Value?.BackendName;
        string message;
        if (workspaceText is null || !WorkspaceId.TryParse(workspaceText, out var workspace, out _)
            || (resource.Status?.Workspace is null && resource.Status?.AccessKeyId is null && validation.Value is null))
        {
            message = "Nothing was provisioned; finalizer removed";
        }
        else
        {
            // Held while deciding and deleting: a claimant provisioning the workspace meanwhile must not lose it half-made.
            using var hold = await claims.HoldAsync(resource, workspace, backendName, cancellationToken).ConfigureAwait(false);
            if (await claims.OlderClaimantAsync(resource, workspace, backendName, cancellationToken).ConfigureAwait(false) is { } owner)
            {
                message = $"Workspace '{workspace}' belongs to WorkspaceStorage {owner}; left untouched";
            }
            else
            {
                var deleted = await DeleteWorkspaceAsync(resource, validation.Value, workspace, backendName, cancellationToken).ConfigureAwait(false);
                if (deleted.Retry is { } retry)
                {
                    return retry;
                }

                message = deleted.Message!;
            }
        }

        // Owner references let a real cluster's garbage collector do this too; deleting it here keeps the key's
        // lifetime equal to the identity's everywhere (an API server without kube-controller-manager, as in `make run` and
        // the tests, has no collector).
        if ((resource.Status?.SecretName ?? validation.Value?.SecretName) is { } secretName)
        {
            await secrets.DeleteOwnedAsync(resource, secretName, cancellationToken).ConfigureAwait(false);
        }

        resource.Metadata.Finalizers.Remove(ResourceMetadata.Finalizer);
        await storages.ReplaceAsync(resource, cancellationToken).ConfigureAwait(false);
        await events.RecordAsync(resource, EventSeverity.Normal, "Deleted", message, cancellationToken).ConfigureAwait(false);
        logger.LogInformation("Finalized WorkspaceStorage {Namespace}/{Name}: {Outcome}", resource.Metadata.NamespaceProperty, resource.Metadata.Name, message);
        return ReconcileResult.Done;
    }

    /// <returns>What was done, or when to try again (the finalizer stays).</returns>
    private async Task<(string? Message, ReconcileResult? Retry)> DeleteWorkspaceAsync(WorkspaceStorageResource resource, ResolvedWorkspaceStorage? spec,
        WorkspaceId workspace, string? backendName, CancellationToken cancellationToken)
    {
        var policy = resource.Spec?.DeletionPolicy ?? DeletionPolicy.Retain;
        var provisionedSomething = await HasProvisionedAsync(resource, spec, cancellationToken).ConfigureAwait(false);
        try
        {
            var backend = await resolver.ResolveAsync(backendName, cancellationToken).ConfigureAwait(false);
            await backend.Backend.DeleteWorkspaceAsync(workspace, policy == DeletionPolicy.Delete ? DataDeletion.Delete : DataDeletion.Retain, cancellationToken)
                .ConfigureAwait(false);
            return (policy == DeletionPolicy.Delete
                ? $"Removed the identity, keys and policies of workspace '{workspace}' and every object under {workspace.Prefix}"
                : $"Removed the identity, keys and policies of workspace '{workspace}'; data under {workspace.Prefix} retained", null);
        }
        catch (BackendConfigurationException error) when (!provisionedSomething)
        {
            // A backend that never existed (a typo in backendRef) must not block deletion forever: nothing was
            // recorded as made there (no status, no Secret), so there is nothing to orphan.
            return ($"Nothing was provisioned ({error.Message}); finalizer removed", null);
        }
        catch (Exception error) when (BackendFailure.From(error, "spec.backendRef") is { } failure)
        {
            var generation = resource.Metadata.Generation;
            var (_, changed) = await status.Writer.UpdateAsync(resource, s =>
                s.Set(ConditionTypes.Reconciling, Conditions.True, ConditionReasons.Deleting, $"deleting: {failure.Message}", generation, clock.GetUtcNow())
                | s.Set(ConditionTypes.Ready, Conditions.False, failure.Reason, failure.Message, generation, clock.GetUtcNow()),
                cancellationToken).ConfigureAwait(false);
            if (changed)
            {
                await events.RecordAsync(resource, EventSeverity.Warning, failure.Reason, $"Cannot delete workspace '{workspace}' yet: {failure.Message}", cancellationToken)
                    .ConfigureAwait(false);
            }

            if (failure.Stalled)
            {
                return (null, ReconcileResult.RequeueAfter(error is BackendAuthenticationException ? options.AuthenticationRetryDelay : options.ConfigurationRetryDelay));
            }

            throw;
        }
    }

    /// <summary>Whether anything may exist on the backend for <paramref name="resource"/>: a status naming the workspace, or its Secret (written before any key).</summary>
    private async Task<bool> HasProvisionedAsync(WorkspaceStorageResource resource, ResolvedWorkspaceStorage? spec, CancellationToken cancellationToken)
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

        var secret = await secrets.GetAsync(resource, secretName, cancellationToken).ConfigureAwait(false);
        return secret is not null && CredentialSecretWriter.IsOwnedBy(secret, resource);
    }
}
