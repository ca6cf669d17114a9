using Microsoft.Extensions.Logging;
using WorkspaceStorage.Core.Resources;
using WorkspaceStorage.Operator.BackendResolution;
using WorkspaceStorage.Kubernetes.Runtime;
using WorkspaceStorage.Storage.Backends;

namespace WorkspaceStorage.Operator.Reconciliation;

/// <summary>
/// Reports whether a StorageBackend can be used: valid spec, admin Secret present, bucket ensured, admin endpoint
/// healthy. Ready / Stalled (configuration the user must fix) / Reconciling (backend unreachable: backs off and retries).
/// </summary>
public sealed class StorageBackendReconciler(IResourceClient<StorageBackendResource> backends, IStorageBackendResolver resolver, IEventRecorder events,
    ILogger<StorageBackendReconciler> logger, TimeProvider? time = null) : IReconciler<StorageBackendResource>
{
    private readonly TimeProvider clock = time ?? TimeProvider.System;
    private readonly StatusWriter<StorageBackendResource, StorageBackendStatus> status = new(backends);

    /// <summary>How soon a stalled backend is checked again without a change (admin keys may be fixed on the server side).</summary>
    public TimeSpan StalledRetryDelay { get; init; } = TimeSpan.FromMinutes(5);

    public async Task<ReconcileResult> ReconcileAsync(ReconcileRequest<StorageBackendResource> request, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(request);
        var resource = await backends.GetAsync(request.Key, cancellationToken).ConfigureAwait(false);
        if (resource is null || resource.Metadata.DeletionTimestamp is not null)
        {
            (resolver as StorageBackendResolver)?.Evict(request.Key.Name);
            return ReconcileResult.Done;
        }

        var generation = resource.Metadata.Generation;
        var validation = StorageBackendValidator.Validate(resource);
        if (!validation.IsValid)
        {
            await WriteAsync(resource, s => s.MarkStalled(generation, ConditionReasons.InvalidSpec, validation.Message, clock.GetUtcNow()), EventSeverity.Warning,
                ConditionReasons.InvalidSpec, validation.Message, cancellationToken).ConfigureAwait(false);
            return ReconcileResult.Done;
        }

        try
        {
            var backend = await resolver.ResolveAsync(resource.Metadata.Name, cancellationToken).ConfigureAwait(false);
            var health = await backend.Backend.CheckHealthAsync(cancellationToken).ConfigureAwait(false);
            if (!health.Healthy)
            {
                throw new BackendUnavailableException($"health check failed: {health.Detail}");
            }

            var cors = "CORS left alone (spec.cors.enabled: false)";
            if (validation.Value!.Cors is { } rule)
            {
                cors = $"CORS allows origins {string.Join(' ', rule.AllowedOrigins)}";
                var outcome = await backend.Backend.EnsureBucketCorsAsync(rule, cancellationToken).ConfigureAwait(false);
                if (outcome != EnsureOutcome.Unchanged)
                {
                    // Made now, or repaired after someone changed it behind the operator's back.
                    await events.RecordAsync(resource, EventSeverity.Normal, outcome == EnsureOutcome.Created ? "BucketCorsSet" : "BucketCorsRepaired",
                        $"Bucket {backend.Backend.Location.Bucket}: {cors}", cancellationToken).ConfigureAwait(false);
                }
            }

            var message = $"{backend.Backend.Type} at {backend.Backend.Location.Endpoint} answers; bucket {backend.Backend.Location.Bucket} exists; {cors}";
            await WriteAsync(resource, s => s.MarkReady(generation, ConditionReasons.Reconciled, message, clock.GetUtcNow()), EventSeverity.Normal,
                "BackendReady", message, cancellationToken).ConfigureAwait(false);
            return ReconcileResult.Done;
        }
        catch (Exception error) when (BackendFailure.From(error, "spec.adminCredentialsSecretRef",
            config => config.Field == "spec.backendRef.name" ? config.Rule : config.Message) is { } failure)
        {
            // Seen from the StorageBackend itself, "spec.backendRef.name" (a WorkspaceStorage's field) is itself: only the rule is shown.
            await WriteAsync(resource, s => failure.ApplyTo(s, generation, clock.GetUtcNow()), EventSeverity.Warning, failure.Reason, failure.Message,
                cancellationToken).ConfigureAwait(false);
            if (!failure.Stalled)
            {
                throw; // transient: the work queue backs off and retries
            }

            return ReconcileResult.RequeueAfter(StalledRetryDelay);
        }
    }

    private async Task WriteAsync(StorageBackendResource resource, Func<StorageBackendStatus, bool> change, EventSeverity severity, string reason, string message,
        CancellationToken cancellationToken)
    {
        var (_, changed) = await status.UpdateAsync(resource, change, cancellationToken).ConfigureAwait(false);
        if (!changed)
        {
            return;
        }

        logger.LogInformation("StorageBackend {Name}: {Reason}", resource.Metadata.Name, reason);
        await events.RecordAsync(resource, severity, reason, message, cancellationToken).ConfigureAwait(false);
    }
}
