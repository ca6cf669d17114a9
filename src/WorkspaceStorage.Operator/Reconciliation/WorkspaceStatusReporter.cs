using Microsoft.Extensions.Logging;
using WorkspaceStorage.Core.Credentials;
using WorkspaceStorage.Core.Model;
using WorkspaceStorage.Resources;
using WorkspaceStorage.Kubernetes.Runtime;
using WorkspaceStorage.Operator.BackendResolution;

namespace WorkspaceStorage.Operator.Reconciliation;

/// <summary>
/// Says in a WorkspaceStorage's status (and, when that changed, in an event) what its reconcile found: Ready with the
/// key state, Stalled with the field to fix, or a backend failure. Writes nothing when the status already says it.
/// </summary>
public sealed class WorkspaceStatusReporter(StatusWriter<WorkspaceStorageResource, WorkspaceStorageStatus> status, IEventRecorder events, TimeProvider clock,
    ILogger logger)
{
    public StatusWriter<WorkspaceStorageResource, WorkspaceStorageStatus> Writer => status;

    public async Task StallAsync(WorkspaceStorageResource resource, string reason, string message, CancellationToken cancellationToken)
    {
        var result = await status.UpdateAsync(resource, s => s.MarkStalled(resource.Metadata.Generation, reason, message, clock.GetUtcNow()), cancellationToken);
        if (result.Changed)
        {
            logger.LogWarning("WorkspaceStorage {Namespace}/{Name} stalled: {Reason}: {Message}", resource.Metadata.NamespaceProperty, resource.Metadata.Name, reason, message);
            await events.RecordAsync(resource, EventSeverity.Warning, reason, message, cancellationToken);
        }
    }

    public async Task FailedAsync(WorkspaceStorageResource resource, BackendFailure failure, CancellationToken cancellationToken)
    {
        if (failure.Stalled)
        {
            await StallAsync(resource, failure.Reason, failure.Message, cancellationToken);
            return;
        }

        var result = await status.UpdateAsync(resource, s => failure.ApplyTo(s, resource.Metadata.Generation, clock.GetUtcNow()), cancellationToken);
        if (result.Changed)
        {
            await events.RecordAsync(resource, EventSeverity.Warning, failure.Reason, failure.Message, cancellationToken);
        }
    }

    /// <returns>The stored object and whether it became Ready for its generation just now.</returns>
    public async Task<(WorkspaceStorageResource Resource, bool BecameReady)> ReadyAsync(WorkspaceStorageResource resource, ValidatedWorkspaceStorage spec,
        ResolvedBackend backend, KeyResult keys, CancellationToken cancellationToken, QuotaOutcome? quota = null)
    {
        var wasReady = resource.Status.IsTrue(ConditionTypes.Ready) && resource.Status?.ObservedGeneration == resource.Metadata.Generation;
        var location = backend.Backend.Location;
        var state = keys.Plan.State;
        var result = await status.UpdateAsync(resource, s =>
        {
            var now = clock.GetUtcNow();
            var generation = resource.Metadata.Generation;
            var changed = Assign(s.Workspace, spec.Workspace.Value, v => s.Workspace = v);
            changed |= Assign(s.Backend, backend.Name, v => s.Backend = v);
            changed |= Assign(s.Bucket, location.Bucket, v => s.Bucket = v);
            changed |= Assign(s.Prefix, spec.Workspace.Prefix, v => s.Prefix = v);
            changed |= Assign(s.Endpoint, location.PublicEndpoint.ToString().TrimEnd('/'), v => s.Endpoint = v);
            changed |= Assign(s.SecretName, spec.SecretName, v => s.SecretName = v);
            changed |= Assign(s.AccessKeyId, keys.Current.AccessKeyId, v => s.AccessKeyId = v);
            changed |= Assign(s.CredentialsRotatedAt, state.RotatedAt?.UtcDateTime, v => s.CredentialsRotatedAt = v);
            changed |= Assign(s.PreviousAccessKeyId, state.PreviousAccessKeyId, v => s.PreviousAccessKeyId = v);
            changed |= Assign(s.PreviousKeyRevokeAfter, state.PreviousRevokeAfter?.UtcDateTime, v => s.PreviousKeyRevokeAfter = v);
            changed |= Assign(s.LastRotationRequest, state.RotationRequest, v => s.LastRotationRequest = v);
            changed |= state.PreviousAccessKeyId is { } previous
                ? s.Set(WorkspaceStorageConditions.CredentialsRotating, Conditions.True, ConditionReasons.RotatingCredentials,
                    $"key {previous} stays valid until {CredentialSecretAnnotations.Format(state.PreviousRevokeAfter!.Value)}; new key {keys.Current.AccessKeyId} is in Secret {spec.SecretName}"
                    + (keys.Plan.Deferred is { } deferred ? $"; {deferred}" : ""),
                    generation, now)
                : s.Set(WorkspaceStorageConditions.CredentialsRotating, Conditions.False, WorkspaceStorageConditions.RotationComplete,
                    $"only key {keys.Current.AccessKeyId} is valid", generation, now);
            if (quota is not null)
            {
                changed |= Assign(s.Quota, quota.Limits.IsLimited ? new WorkspaceQuotaStatus { MaxBytes = quota.Limits.MaxBytes, MaxObjects = quota.Limits.MaxObjects } : null,
                    v => s.Quota = v);
                // Written only when the figures changed: a converged workspace costs no status write, so readAt is
                // when these figures were first read (later reads that found the same ones leave it).
                var figures = quota.Usage.Figures;
                if (s.Usage is not { } recorded || recorded.Bytes != figures.Bytes || recorded.Objects != figures.Objects || recorded.Complete != figures.Complete)
                {
                    s.Usage = new WorkspaceUsageStatus { Bytes = figures.Bytes, Objects = figures.Objects, ReadAt = quota.Usage.ReadAt.UtcDateTime, Complete = figures.Complete };
                    changed = true;
                }
                changed |= s.Set(WorkspaceStorageConditions.QuotaExceeded, quota.Reached ? Conditions.True : Conditions.False,
                    quota.Reached ? WorkspaceStorageConditions.OverQuota : WorkspaceStorageConditions.WithinQuota, quota.Message, generation, now);
            }

            changed |= s.MarkReady(generation, ConditionReasons.Reconciled,
                $"workspace '{spec.Workspace}' ready at {location.Bucket}/{spec.Workspace.Prefix}; credentials in Secret {spec.SecretName}", now);
            return changed;
        }, cancellationToken);
        return (result.Resource, !wasReady && result.Changed);
    }

    private static bool Assign<TValue>(TValue current, TValue desired, Action<TValue> set)
    {
        if (EqualityComparer<TValue>.Default.Equals(current, desired))
        {
            return false;
        }

        set(desired);
        return true;
    }
}

/// <summary>A workspace's limits and its usage as last read: whether it is at its quota, and the words for it.</summary>
public sealed record QuotaOutcome(QuotaLimits Limits, UsageReading Usage)
{
    public bool Reached => QuotaRules.IsReached(Usage.Figures, Limits);

    public string Message => !Limits.IsLimited
        ? $"no quota applies; the workspace holds {QuotaRules.Describe(Usage.Figures, Limits)}"
        : Reached
            ? $"at or over its quota: {QuotaRules.Describe(Usage.Figures, Limits)}; uploads are refused (the identity keeps read, list and delete) until usage falls under the quota or the quota is raised"
            : $"within its quota: {QuotaRules.Describe(Usage.Figures, Limits)}";
}
