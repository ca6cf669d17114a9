using k8s.Models;
using WorkspaceStorage.Core.Audit;
using WorkspaceStorage.Core.Credentials;
using WorkspaceStorage.Core.Model;
using WorkspaceStorage.Resources;
using WorkspaceStorage.Core.Signing;
using WorkspaceStorage.Kubernetes.Audit;
using WorkspaceStorage.Kubernetes.Runtime;
using WorkspaceStorage.Storage.Backends;

namespace WorkspaceStorage.Operator.Reconciliation;

/// <summary>The key in the Secret after a reconcile, and the plan that led to it.</summary>
public sealed record KeyResult(AwsCredentials Current, KeyPlan Plan);

/// <summary>
/// Carries out <see cref="CredentialRotation"/>'s plan for a workspace's keys: Secret first (write-ahead: the Secret
/// records a new key, and the one it replaces, before the backend learns it, so a crash never orphans a key), then the
/// backend, then revocation of every key that is neither the current one nor a previous one in its grace period.
/// Backends that make keys themselves (<see cref="IServerIssuedKeys"/>, AWS) go the other way round; see <see cref="IssueAsync"/>.
/// Every key written or revoked is an audit record (KeyIssued, KeyRotated, KeyRevoked), here and nowhere else.
/// </summary>
public sealed class WorkspaceKeys(CredentialSecretWriter secrets, IEventRecorder events, IAuditTrail audit, TimeProvider clock)
{
    /// <param name="secret">The credential Secret as read (owned by <paramref name="resource"/>), or null.</param>
    /// <param name="brought">The user's own key (spec.credentials.existingSecretRef), already read; null when the operator manages keys.</param>
    /// <param name="identityIsNew">The backend identity was created by this reconcile, so it holds no key but the one
    /// added here and the sweep for stray keys (a backend read) is skipped.</param>
    /// <param name="backendName">The StorageBackend's name, for the audit records ("" for the default backend).</param>
    public async Task<KeyResult> ReconcileAsync(WorkspaceStorageResource resource, ValidatedWorkspaceStorage spec, IStorageBackend backend,
        V1Secret? secret, AwsCredentials? brought, bool identityIsNew, string? backendName, CancellationToken cancellationToken)
    {
        var now = WholeSeconds(clock.GetUtcNow());
        var inSecret = CredentialSecretLayout.ReadCredentials(secret?.Data);
        string? request = null;
        resource.Metadata.Annotations?.TryGetValue(ResourceMetadata.RotateAnnotation, out request);
        var plan = CredentialRotation.Plan(spec, CredentialSecretAnnotations.Read(secret?.Metadata?.Annotations), inSecret?.AccessKeyId, secret is not null,
            holdsBroughtKey: brought is not null && inSecret == brought, request, now);
        AwsCredentials current;
        string? replacedBecause = null;
        if (backend is IServerIssuedKeys issued && plan.Action is KeyAction.Issue or KeyAction.Rotate)
        {
            current = await IssueAsync(issued, resource, spec, backend, secret, plan, cancellationToken);
        }
        else
        {
            current = plan.Action switch
            {
                KeyAction.Keep => brought ?? inSecret!,
                KeyAction.Adopt => brought!,
                _ => AccessKeyGenerator.Generate(),
            };

            await secrets.WriteAsync(resource, spec, backend.Location, secret, current, plan.State, cancellationToken);
            try
            {
                await backend.EnsureKeyAsync(spec.Workspace, current, cancellationToken);
            }
            catch (BackendValidationException) when (backend is IServerIssuedKeys vanished && brought is null)
            {
                // The operator's key is gone from a server that cannot take it back (deleted behind the operator's back):
                // the only repair is a new key from the server.
                await events.RecordAsync(resource, EventSeverity.Warning, "KeyMissing",
                    $"Key {current.AccessKeyId} is no longer on the backend; a new one replaces it", cancellationToken);
                current = await IssueAsync(vanished, resource, spec, backend, secret, plan, cancellationToken);
                replacedBecause = $"key {inSecret?.AccessKeyId} was no longer on the backend";
            }
        }

        if (KeyAudit(plan, replacedBecause) is { } type)
        {
            await audit.RecordAsync(resource, new AuditEvent(type, spec.Workspace.Value, AuditActor.Operator)
            {
                Backend = backendName,
                Access = spec.Access,
                AccessKeyId = current.AccessKeyId,
                PreviousAccessKeyId = type == AuditEventType.KeyRotated ? plan.State.PreviousAccessKeyId : null,
                ExpiresAt = type == AuditEventType.KeyRotated ? plan.State.PreviousRevokeAfter : null,
                Reason = replacedBecause ?? plan.Reason ?? (plan.Action == KeyAction.Adopt ? "the key of spec.credentials.existingSecretRef" : $"first key, in Secret {spec.SecretName}"),
            }, cancellationToken);
        }

        if (identityIsNew)
        {
            return new KeyResult(current, plan);
        }

        foreach (var keyId in await backend.ListKeysAsync(spec.Workspace, cancellationToken))
        {
            // The plan keeps a previous key only while its grace period runs.
            if (keyId == current.AccessKeyId || keyId == plan.State.PreviousAccessKeyId)
            {
                continue;
            }

            if (await backend.RevokeKeyAsync(spec.Workspace, keyId, cancellationToken) != EnsureOutcome.Unchanged)
            {
                var why = keyId == plan.RetiredKeyId ? "its grace period ended" : "it is not the key in the Secret";
                await audit.RecordAsync(resource, new AuditEvent(AuditEventType.KeyRevoked, spec.Workspace.Value, AuditActor.Operator)
                {
                    Backend = backendName,
                    AccessKeyId = keyId,
                    Reason = why,
                }, cancellationToken);
            }
        }

        return new KeyResult(current, plan);
    }

    /// <summary>
    /// A key from a server that makes keys itself (AWS IAM): the server first, then the Secret. The write-ahead order is
    /// impossible here (the secret does not exist before the server makes it), so convergence comes from the other
    /// side: <see cref="IServerIssuedKeys.CreateKeyAsync"/> keeps only the previous key the plan keeps valid, so a key
    /// made by a reconcile that died before writing the Secret is revoked by the next one before it asks for another,
    /// and the server's two-key limit is never reached.
    /// </summary>
    private async Task<AwsCredentials> IssueAsync(IServerIssuedKeys issued, WorkspaceStorageResource resource, ValidatedWorkspaceStorage spec,
        IStorageBackend backend, V1Secret? secret, KeyPlan plan, CancellationToken cancellationToken)
    {
        IReadOnlyCollection<string> keep = plan.State.PreviousAccessKeyId is { } previous ? [previous] : [];
        var current = await issued.CreateKeyAsync(spec.Workspace, keep, cancellationToken);
        await secrets.WriteAsync(resource, spec, backend.Location, secret, current, plan.State, cancellationToken);
        return current;
    }

    /// <summary>Which audit record a plan makes: a key replacing one the Secret held is a rotation, any other new key an issue.</summary>
    internal static AuditEventType? KeyAudit(KeyPlan plan, string? replacedBecause) => plan.Action switch
    {
        KeyAction.Rotate => AuditEventType.KeyRotated,
        KeyAction.Issue or KeyAction.Adopt => AuditEventType.KeyIssued,
        _ => replacedBecause is null ? null : AuditEventType.KeyIssued,
    };

    private static DateTimeOffset WholeSeconds(DateTimeOffset time) => new(time.UtcTicks - (time.UtcTicks % TimeSpan.TicksPerSecond), TimeSpan.Zero);
}
