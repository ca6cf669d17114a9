using WorkspaceStorage.Api.Auth;
using WorkspaceStorage.Api.Workspaces;
using WorkspaceStorage.Core.Audit;
using WorkspaceStorage.Core.Workspaces;
using WorkspaceStorage.Kubernetes.Audit;

namespace WorkspaceStorage.Api.Audit;

/// <summary>
/// The companion's audit policy over <see cref="AuditTrail"/>: every record is logged at once, on the request's path;
/// Events (not for presigned URLs: far too many) are written in the background, each with <see cref="EventTimeout"/>,
/// and at most one per <see cref="EventInterval"/> per (workspace, user, client, access), so a busy client cannot flood
/// the API server and a slow API server never delays a Hypha call.
/// </summary>
public sealed class CompanionAuditTrail(AuditTrail trail, TimeProvider clock, ILogger<CompanionAuditTrail> logger)
{
    public static readonly TimeSpan EventInterval = TimeSpan.FromMinutes(1);

    public static readonly TimeSpan EventTimeout = TimeSpan.FromSeconds(10);

    private const int MaxRemembered = 10_000;

    private readonly Dictionary<(string Workspace, string? User, string? Client, AccessLevel? Access), DateTimeOffset> lastEvent = [];
    private readonly Lock gate = new();

    /// <summary>The audit clock's time, for expiries counted from now.</summary>
    public DateTimeOffset Now => clock.GetUtcNow();

    /// <summary>The Hypha caller of a grant, as an audit actor.</summary>
    public static AuditActor ActorOf(HyphaPrincipal principal)
    {
        ArgumentNullException.ThrowIfNull(principal);
        return AuditActor.Hypha(principal.UserId, principal.ClientId);
    }

    /// <summary>Temporary credentials handed out (generate_credential): their public key id and expiry, never the secret or the session token.</summary>
    public void RecordCredential(WorkspaceStorageHandle handle, HyphaPrincipal principal, AccessLevel access, string accessKeyId, DateTimeOffset expiresAt)
    {
        ArgumentNullException.ThrowIfNull(handle);
        Record(handle, new AuditEvent(AuditEventType.TemporaryCredentialIssued, handle.Workspace.Value, ActorOf(principal))
        {
            Backend = BackendOf(handle),
            Access = access,
            AccessKeyId = accessKeyId,
            ExpiresAt = expiresAt,
            Path = handle.Prefix,
        });
    }

    /// <summary>
    /// A presigned URL handed out, wherever it was made (generate_presigned_url, get_file/put_file, multipart part URLs,
    /// the Redirect download mode). The URL is a bearer credential: the record names the object, never the URL.
    /// </summary>
    public void RecordPresigned(WorkspaceStorageHandle handle, HyphaPrincipal principal, HttpMethod method, string key, TimeSpan lifetime, string? reason = null)
    {
        ArgumentNullException.ThrowIfNull(handle);
        ArgumentNullException.ThrowIfNull(method);
        Record(handle, new AuditEvent(AuditEventType.PresignedUrlIssued, handle.Workspace.Value, ActorOf(principal))
        {
            Backend = BackendOf(handle),
            Access = method == HttpMethod.Get ? AccessLevel.ReadOnly : AccessLevel.ReadWrite,
            AccessKeyId = handle.Key.AccessKeyId,
            ExpiresAt = Now.Add(lifetime),
            Method = method.Method,
            Path = key,
            Reason = reason,
        });
    }

    // The StorageBackend that provisioned the workspace, else the one it names.
    private static string? BackendOf(WorkspaceStorageHandle handle) => handle.Resource?.Status?.Backend ?? handle.Resource?.Spec?.BackendRef?.Name;

    /// <summary>Logs <paramref name="audit"/>, and starts its Event on <paramref name="handle"/>'s WorkspaceStorage when the policy allows one.</summary>
    public void Record(WorkspaceStorageHandle handle, AuditEvent audit)
    {
        ArgumentNullException.ThrowIfNull(handle);
        ArgumentNullException.ThrowIfNull(audit);
        trail.Log(audit);
        if (audit.Type == AuditEventType.PresignedUrlIssued || handle.Resource is not { } resource || !TakeEventSlot(audit))
        {
            return;
        }

        _ = Task.Run(async () =>
        {
            using var timeout = new CancellationTokenSource(EventTimeout, clock);
            try
            {
                await trail.RecordEventAsync(resource, audit, timeout.Token);
            }
            catch (Exception error)
            {
                // The log record above is the audit; the Event is a view of it.
                logger.LogDebug("Audit Event {Type} on {Name} not written: {ErrorType}", audit.Name, resource.Metadata.Name, error.GetType().Name);
            }
        }, CancellationToken.None);
    }

    private bool TakeEventSlot(AuditEvent audit)
    {
        var key = (audit.Workspace, audit.Actor.UserId, audit.Actor.ClientId, audit.Access);
        var now = clock.GetUtcNow();
        lock (gate)
        {
            if (lastEvent.TryGetValue(key, out var last) && now - last < EventInterval)
            {
                return false;
            }

            if (lastEvent.Count >= MaxRemembered)
            {
                foreach (var stale in lastEvent.Where(e => now - e.Value >= EventInterval).Select(e => e.Key).ToList())
                {
                    lastEvent.Remove(stale);
                }

                if (lastEvent.Count >= MaxRemembered)
                {
                    // Still full of live entries (a storm of distinct callers): forget them rather than grow without bound.
                    lastEvent.Clear();
                }
            }

            lastEvent[key] = now;
            return true;
        }
    }
}
