using System.Globalization;
using System.Text;
using WorkspaceStorage.Core.Workspaces;

namespace WorkspaceStorage.Core.Audit;

/// <summary>What an audit record is about: the life of a workspace identity and its keys, and every credential the companion hands out.</summary>
public enum AuditEventType
{
    /// <summary>The operator created the workspace's identity on the backend.</summary>
    IdentityCreated,

    /// <summary>A key was written to the credential Secret with no key before it (the first key, a replacement for an unusable one, or the user's own).</summary>
    KeyIssued,

    /// <summary>A new key replaced the current one; the replaced key stays valid for the grace period.</summary>
    KeyRotated,

    /// <summary>A key was removed from the backend (its grace period ended, or the Secret does not name it).</summary>
    KeyRevoked,

    /// <summary>The operator removed the workspace's identity, keys and policies (finalization).</summary>
    IdentityDeleted,

    /// <summary>The companion handed out temporary credentials (generate_credential).</summary>
    TemporaryCredentialIssued,

    /// <summary>The companion presigned a URL for one object.</summary>
    PresignedUrlIssued,
}

/// <summary>Who caused an audit event.</summary>
public enum AuditActorKind
{
    /// <summary>The operator, converging a WorkspaceStorage.</summary>
    Operator,

    /// <summary>A Hypha user (through the companion API).</summary>
    HyphaUser,
}

/// <summary>Who caused an audit event: the operator, or a Hypha user and the Hypha client it called from.</summary>
public sealed record AuditActor(AuditActorKind Kind, string? UserId = null, string? ClientId = null)
{
    public static AuditActor Operator { get; } = new(AuditActorKind.Operator);

    public static AuditActor Hypha(string userId, string? clientId) => new(AuditActorKind.HyphaUser, userId, clientId);
}

/// <summary>
/// One audit record, the same vocabulary for the operator and the companion. It carries identifiers only: the public
/// access key id is allowed, a secret key, session token, presigned URL or Hypha token never is (there is no field
/// for one, and none may be put in <see cref="Reason"/> or <see cref="Path"/>).
/// </summary>
public sealed record AuditEvent(AuditEventType Type, string Workspace, AuditActor Actor)
{
    /// <summary>The StorageBackend's name ("" for the operator's default backend).</summary>
    public string? Backend { get; init; }

    public AccessLevel? Access { get; init; }

    /// <summary>The public access key id concerned (never the secret).</summary>
    public string? AccessKeyId { get; init; }

    /// <summary>KeyRotated: the key replaced, valid until <see cref="ExpiresAt"/>.</summary>
    public string? PreviousAccessKeyId { get; init; }

    /// <summary>When the credential handed out expires (temporary credentials, presigned URLs, a rotated-out key's grace period).</summary>
    public DateTimeOffset? ExpiresAt { get; init; }

    /// <summary>The object key (presigned URLs) or prefix (identities) concerned.</summary>
    public string? Path { get; init; }

    /// <summary>Presigned URLs: GET or PUT.</summary>
    public string? Method { get; init; }

    /// <summary>Why, in words (a rotation's cause, a revocation's), without secrets.</summary>
    public string? Reason { get; init; }

    /// <summary>The Event reason and log name of <see cref="Type"/>.</summary>
    public string Name => Type.ToString();

    /// <summary>Timestamps as the records write them: ISO 8601 UTC, whole seconds.</summary>
    public static string FormatTime(DateTimeOffset time) => time.UtcDateTime.ToString("yyyy-MM-dd'T'HH:mm:ss'Z'", CultureInfo.InvariantCulture);

    /// <summary>One human-readable sentence (the Event's message) with every field that is set.</summary>
    public string Describe()
    {
        var text = new StringBuilder(160);
        text.Append(Name).Append(": workspace '").Append(Workspace).Append("' by ").Append(Actor.Kind == AuditActorKind.Operator ? "operator" : $"user {Actor.UserId}");
        if (Actor.ClientId is { } client)
        {
            text.Append(" (client ").Append(client).Append(')');
        }

        Add(text, "backend", Backend is { Length: 0 } ? "(default)" : Backend);
        Add(text, "access", Access?.ToString());
        Add(text, "key", AccessKeyId);
        Add(text, "previous key", PreviousAccessKeyId);
        Add(text, "expires", ExpiresAt is { } at ? FormatTime(at) : null);
        Add(text, "method", Method);
        Add(text, "path", Path);
        Add(text, "reason", Reason);
        return text.ToString();
    }

    private static void Add(StringBuilder text, string label, string? value)
    {
        if (value is not null)
        {
            text.Append("; ").Append(label).Append(' ').Append(value);
        }
    }
}
