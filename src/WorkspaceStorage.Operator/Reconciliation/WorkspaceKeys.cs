using k8s.Models;
using WorkspaceStorage.Core.Credentials;
using WorkspaceStorage.Core.Resources;
using WorkspaceStorage.Core.Signing;
using WorkspaceStorage.Kubernetes.Runtime;
using WorkspaceStorage.Storage.Backends;

namespace WorkspaceStorage.Operator.Reconciliation;

/// <summary>The key in the Secret after a reconcile, and the plan that led to it.</summary>
public sealed record KeyResult(AwsCredentials Current, KeyPlan Plan);

/// <summary>
/// Carries out <see cref="CredentialRotation"/>'s plan for a workspace's keys: Secret first (write-ahead: the Secret
/// records a new key, and the one it replaces, before the backend learns it, so a crash never orphans a key), then the
/// backend, then revocation of every key that is neither the current one nor a previous one in its grace period.
/// </summary>
public sealed class WorkspaceKeys(CredentialSecretWriter secrets, IEventRecorder events, TimeProvider clock)
{
    /// <param name="secret">The credential Secret as read (owned by <paramref name="resource"/>), or null.</param>
    /// <param name="brought">The user's own key (spec.credentials.existingSecretRef), already read; null when the operator manages keys.</param>
    /// <param name="identityIsNew">The backend identity was created by this reconcile, so it holds no key but the one
    /// added here and the sweep for stray keys (a backend read) is skipped.</param>
    public async Task<KeyResult> ReconcileAsync(WorkspaceStorageResource resource, ResolvedWorkspaceStorage spec, IStorageBackend backend,
        V1Secret? secret, AwsCredentials? brought, bool identityIsNew, CancellationToken cancellationToken)
    {
        var now = WholeSeconds(clock.GetUtcNow());
        var inSecret = CredentialSecretLayout.ReadCredentials(secret?.Data);
        string? request = null;
        resource.Metadata.Annotations?.TryGetValue(ResourceMetadata.RotateAnnotation, out request);
        var plan = CredentialRotation.Plan(spec, CredentialSecretAnnotations.Read(secret?.Metadata?.Annotations), inSecret?.AccessKeyId, secret is not null,
            holdsBroughtKey: brought is not null && inSecret == brought, request, now);
        var current = plan.Action switch
        {
            KeyAction.Keep => brought ?? inSecret!,
            KeyAction.Adopt => brought!,
            _ => AccessKeyGenerator.Generate(),
        };

        await secrets.WriteAsync(resource, spec, backend.Location, secret, current, plan.State, cancellationToken).ConfigureAwait(false);
        await backend.EnsureKeyAsync(spec.Workspace, current, cancellationToken).ConfigureAwait(false);
        if (plan.Reason is not null)
        {
            var previous = plan.State.PreviousAccessKeyId is { } p
                ? $"; {p} stays valid until {CredentialSecretAnnotations.Format(plan.State.PreviousRevokeAfter!.Value)}"
                : "";
            await events.RecordAsync(resource, EventSeverity.Normal, "CredentialsRotated",
                $"New key {current.AccessKeyId} in Secret {spec.SecretName}: {plan.Reason}{previous}", cancellationToken).ConfigureAwait(false);
        }

        if (identityIsNew)
        {
            return new KeyResult(current, plan);
        }

        foreach (var keyId in await backend.ListKeysAsync(spec.Workspace, cancellationToken).ConfigureAwait(false))
        {
            // The plan keeps a previous key only while its grace period runs.
            if (keyId == current.AccessKeyId || keyId == plan.State.PreviousAccessKeyId)
            {
                continue;
            }

            if (await backend.RevokeKeyAsync(spec.Workspace, keyId, cancellationToken).ConfigureAwait(false) != EnsureOutcome.Unchanged)
            {
                var why = keyId == plan.RetiredKeyId ? "its grace period ended" : "it is not the key in the Secret";
                await events.RecordAsync(resource, EventSeverity.Normal, "KeyRevoked", $"Revoked key {keyId}: {why}", cancellationToken).ConfigureAwait(false);
            }
        }

        return new KeyResult(current, plan);
    }

    private static DateTimeOffset WholeSeconds(DateTimeOffset time) => new(time.UtcTicks - (time.UtcTicks % TimeSpan.TicksPerSecond), TimeSpan.Zero);
}
