using k8s;
using k8s.Models;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Logging.Abstractions;
using WorkspaceStorage.Core.Audit;
using WorkspaceStorage.Kubernetes.Runtime;

namespace WorkspaceStorage.Kubernetes.Audit;

/// <summary>Where audit records go: a structured log record, and a Kubernetes Event on the WorkspaceStorage concerned.</summary>
public interface IAuditTrail
{
    /// <summary>Records <paramref name="audit"/>. Best effort like every Event: never throws for a failed write.</summary>
    /// <param name="regarding">The WorkspaceStorage the record is about (the Event's object); null: a log record only.</param>
    Task RecordAsync(IKubernetesObject<V1ObjectMeta>? regarding, AuditEvent audit, CancellationToken cancellationToken);
}

/// <summary>
/// The audit trail: one log record per event on category <see cref="Category"/> with <see cref="LogEventId"/> and named
/// fields a SIEM can index, and a Normal Event on the WorkspaceStorage whose reason is the event type (through
/// <see cref="IEventRecorder"/>: deduplicated, redacted, never thrown). The two halves are public so a caller with its
/// own Event policy (the companion: in the background, rate-limited) can use them apart.
/// </summary>
public sealed partial class AuditTrail(IEventRecorder events, ILogger logger) : IAuditTrail
{
    /// <summary>The logger category every audit record is written on: route this one to the SIEM.</summary>
    public const string Category = "WorkspaceStorage.Audit";

    public const int LogEventId = 1;

    /// <summary>Logs only (no Events): tests, and hosts without a cluster.</summary>
    public static AuditTrail LogOnly(ILoggerFactory? loggers) => new(NullEventRecorder.Instance, CreateLogger(loggers));

    /// <summary>The audit logger of <paramref name="loggers"/> (the null logger without one).</summary>
    public static ILogger CreateLogger(ILoggerFactory? loggers) => loggers?.CreateLogger(Category) ?? NullLogger.Instance;

    public async Task RecordAsync(IKubernetesObject<V1ObjectMeta>? regarding, AuditEvent audit, CancellationToken cancellationToken)
    {
        Log(audit);
        if (regarding is not null)
        {
            await RecordEventAsync(regarding, audit, cancellationToken);
        }
    }

    /// <summary>The log record alone.</summary>
    public void Log(AuditEvent audit)
    {
        ArgumentNullException.ThrowIfNull(audit);
        Write(logger, audit.Name, audit.Workspace, audit.Actor.Kind == AuditActorKind.Operator ? "operator" : "user", audit.Actor.UserId, audit.Actor.ClientId,
            audit.Backend, audit.Access?.ToString(), audit.AccessKeyId, audit.PreviousAccessKeyId,
            audit.ExpiresAt is { } at ? AuditEvent.FormatTime(at) : null, audit.Method, audit.Path, audit.Reason);
    }

    /// <summary>The Event alone, reason = the event type.</summary>
    public Task RecordEventAsync(IKubernetesObject<V1ObjectMeta> regarding, AuditEvent audit, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(audit);
        return events.RecordAsync(regarding, EventSeverity.Normal, audit.Name, audit.Describe(), cancellationToken);
    }

    [LoggerMessage(EventId = LogEventId, EventName = "Audit", Level = LogLevel.Information,
        Message = "Audit {type} workspace={workspace} actor={actor} user={user} client={client} backend={backend} access={access} "
            + "accessKeyId={accessKeyId} previousAccessKeyId={previousAccessKeyId} expiresAt={expiresAt} method={method} path={path} reason={reason}")]
    private static partial void Write(ILogger logger, string type, string workspace, string actor, string? user, string? client, string? backend, string? access,
        string? accessKeyId, string? previousAccessKeyId, string? expiresAt, string? method, string? path, string? reason);
}
