using Microsoft.Extensions.Logging;
using WorkspaceStorage.Core.Policies;
using WorkspaceStorage.Core.Model;
using WorkspaceStorage.Resources;
using WorkspaceStorage.Operator.BackendResolution;
using WorkspaceStorage.Kubernetes.Runtime;
using WorkspaceStorage.Storage.Backends;

namespace WorkspaceStorage.Operator.Reconciliation;

/// <summary>What <see cref="StorageBackendReconciler"/> needs of the backend clients (<see cref="StorageBackendResolver"/> in the operator).</summary>
public interface IStorageBackendClients
{
    /// <summary>
    /// The backend <paramref name="resource"/> describes, as the reconciler just read it (not another copy, which may be
    /// older), with its bucket ensured. Throws as <see cref="IStorageBackendResolver.ResolveAsync"/> does.
    /// </summary>
    Task<ResolvedBackend> ResolveAsync(StorageBackendResource resource, CancellationToken cancellationToken);

    /// <summary>Forgets the clients of a backend (its StorageBackend was deleted): a new one by that name starts afresh.</summary>
    void Evict(string name);
}

/// <summary>
/// Reports whether a StorageBackend can be used: valid spec, admin Secret present, bucket ensured, admin endpoint
/// healthy. Ready / Stalled (configuration the user must fix) / Reconciling (backend unreachable: backs off and retries).
/// Keeps the StorageBackend's own CORS rule (its id says whose it is) among the bucket's rules, and removes that rule,
/// and only it, when CORS is turned off or the StorageBackend is deleted (its finalizer waits for that).
/// </summary>
public sealed class StorageBackendReconciler(IResourceClient<StorageBackendResource> backends, IStorageBackendClients clients, IEventRecorder events,
    ILogger<StorageBackendReconciler> logger, TimeProvider? time = null) : IReconciler<StorageBackendResource>
{
    private readonly TimeProvider clock = time ?? TimeProvider.System;
    private readonly StatusWriter<StorageBackendResource, StorageBackendStatus> status = new(backends);

    /// <summary>How soon a stalled backend is checked again without a change (admin keys may be fixed on the server side).</summary>
    public TimeSpan StalledRetryDelay { get; init; } = TimeSpan.FromMinutes(5);

    public async Task<ReconcileResult> ReconcileAsync(ReconcileRequest<StorageBackendResource> request, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(request);
        var resource = await backends.GetAsync(request.Key, cancellationToken);
        if (resource is null)
        {
            clients.Evict(request.Key.Name);
            return ReconcileResult.Done;
        }

        if (resource.Metadata.DeletionTimestamp is not null)
        {
            return await FinalizeAsync(resource, cancellationToken);
        }

        var generation = resource.Metadata.Generation;
        var validation = resource.Validate();
        if (!validation.IsValid)
        {
            await WriteAsync(resource, s => s.MarkStalled(generation, ConditionReasons.InvalidSpec, validation.Message, clock.GetUtcNow()), EventSeverity.Warning,
                ConditionReasons.InvalidSpec, validation.Message, cancellationToken);
            return ReconcileResult.Done;
        }

        try
        {
            var backend = await clients.ResolveAsync(resource, cancellationToken);
            var health = await backend.Backend.CheckHealthAsync(cancellationToken);
            if (!health.Healthy)
            {
                throw new BackendUnavailableException($"health check failed: {health.Detail}");
            }

            // The finalizer first: a CORS rule written without it would outlive a StorageBackend deleted meanwhile.
            resource = await EnsureFinalizerAsync(resource, cancellationToken);
            var ruleId = BucketCorsRule.OperatorRuleId(resource.Metadata.Name);
            string cors;
            if (validation.Value!.Cors is { } rule)
            {
                cors = $"CORS allows origins {string.Join(' ', rule.AllowedOrigins)} (rule {ruleId})";
                var outcome = await backend.Backend.EnsureBucketCorsAsync(rule, cancellationToken);
                if (outcome != EnsureOutcome.Unchanged)
                {
                    // Made now, or repaired after someone changed it behind the operator's back.
                    await events.RecordAsync(resource, EventSeverity.Normal, outcome == EnsureOutcome.Created ? "BucketCorsSet" : "BucketCorsRepaired",
                        $"Bucket {backend.Backend.Location.Bucket}: {cors}; the bucket's other CORS rules are kept", cancellationToken);
                }
            }
            else
            {
                cors = $"CORS: no rule of this StorageBackend (spec.cors.enabled: false); the bucket's other rules are left alone";
                if (await backend.Backend.RemoveBucketCorsAsync(ruleId, cancellationToken) == EnsureOutcome.Deleted)
                {
                    await events.RecordAsync(resource, EventSeverity.Normal, "BucketCorsRemoved",
                        $"Bucket {backend.Backend.Location.Bucket}: removed CORS rule {ruleId} (spec.cors.enabled: false); the other rules are kept", cancellationToken);
                }
            }

            var message = $"{backend.Backend.Type} at {backend.Backend.Location.Endpoint} answers; bucket {backend.Backend.Location.Bucket} exists; {cors}";
            await WriteAsync(resource, s => s.MarkReady(generation, ConditionReasons.Reconciled, message, clock.GetUtcNow()), EventSeverity.Normal,
                "BackendReady", message, cancellationToken);
            return ReconcileResult.Done;
        }
        catch (Exception error) when (BackendFailure.From(error, "spec.adminCredentialsSecretRef",
            config => config.Field == "spec.backendRef.name" ? config.Rule : config.Message) is { } failure)
        {
            // Seen from the StorageBackend itself, "spec.backendRef.name" (a WorkspaceStorage's field) is itself: only the rule is shown.
            await WriteAsync(resource, s => failure.ApplyTo(s, generation, clock.GetUtcNow()), EventSeverity.Warning, failure.Reason, failure.Message,
                cancellationToken);
            if (!failure.Stalled)
            {
                throw; // transient: the work queue backs off and retries
            }

            return ReconcileResult.RequeueAfter(StalledRetryDelay);
        }
    }

    private async Task<StorageBackendResource> EnsureFinalizerAsync(StorageBackendResource resource, CancellationToken cancellationToken)
    {
        if (resource.Metadata.Finalizers?.Contains(ResourceMetadata.Finalizer) == true)
        {
            return resource;
        }

        resource.Metadata.Finalizers ??= [];
        resource.Metadata.Finalizers.Add(ResourceMetadata.Finalizer);
        return await backends.ReplaceAsync(resource, cancellationToken);
    }

    /// <summary>
    /// Removes this StorageBackend's CORS rule from the bucket (every other rule stays), then the finalizer. A backend
    /// that cannot be used (invalid, admin Secret gone, a second name for a bucket: it never wrote a rule, or cannot
    /// reach it now for good) lets go with a warning; an unreachable one keeps the finalizer and is retried.
    /// </summary>
    private async Task<ReconcileResult> FinalizeAsync(StorageBackendResource resource, CancellationToken cancellationToken)
    {
        if (resource.Metadata.Finalizers?.Contains(ResourceMetadata.Finalizer) != true)
        {
            clients.Evict(resource.Metadata.Name);
            return ReconcileResult.Done;
        }

        var ruleId = BucketCorsRule.OperatorRuleId(resource.Metadata.Name);
        string message;
        var severity = EventSeverity.Normal;
        try
        {
            if (!resource.Validate().IsValid)
            {
                throw new BackendConfigurationException("spec", "is invalid");
            }

            var backend = await clients.ResolveAsync(resource, cancellationToken);
            var outcome = await backend.Backend.RemoveBucketCorsAsync(ruleId, cancellationToken);
            message = outcome == EnsureOutcome.Deleted
                ? $"Bucket {backend.Backend.Location.Bucket}: removed CORS rule {ruleId}; the bucket's other rules are kept"
                : $"Bucket {backend.Backend.Location.Bucket}: no CORS rule {ruleId} to remove";
        }
        catch (Exception error) when (error is BackendConfigurationException or BackendNotUsableException)
        {
            severity = EventSeverity.Warning;
            message = $"Could not reach the bucket to remove CORS rule {ruleId} ({error.Message}); an admin may remove it by hand";
        }
        catch (BackendAuthenticationException error)
        {
            severity = EventSeverity.Warning;
            message = $"Could not remove CORS rule {ruleId}: the admin credentials were refused ({error.Message}); an admin may remove it by hand";
        }

        resource.Metadata.Finalizers.Remove(ResourceMetadata.Finalizer);
        await backends.ReplaceAsync(resource, cancellationToken);
        clients.Evict(resource.Metadata.Name);
        logger.LogInformation("Finalized StorageBackend {Name}: {Outcome}", resource.Metadata.Name, message);
        await events.RecordAsync(resource, severity, "Deleted", message, cancellationToken);
        return ReconcileResult.Done;
    }

    private async Task WriteAsync(StorageBackendResource resource, Func<StorageBackendStatus, bool> change, EventSeverity severity, string reason, string message,
        CancellationToken cancellationToken)
    {
        var (_, changed) = await status.UpdateAsync(resource, change, cancellationToken);
        if (!changed)
        {
            return;
        }

        logger.LogInformation("StorageBackend {Name}: {Reason}", resource.Metadata.Name, reason);
        await events.RecordAsync(resource, severity, reason, message, cancellationToken);
    }
}
