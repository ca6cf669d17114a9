namespace WorkspaceStorage.Core.Resources;

/// <summary>Why the credentials should be rotated now.</summary>
public enum RotationTrigger
{
    None,

    /// <summary>The rotate annotation holds a value not acted on yet.</summary>
    Requested,

    /// <summary>spec.credentials.rotationInterval has passed since the last rotation.</summary>
    Interval,
}

/// <param name="Trigger">Whether to rotate now, and why.</param>
/// <param name="RequestValue">With <see cref="RotationTrigger.Requested"/>: the annotation value to record in status.lastRotationRequest.</param>
/// <param name="NextCheck">When something rotation-related next falls due (requeue then), or null when nothing is scheduled.</param>
public sealed record RotationDecision(RotationTrigger Trigger, string? RequestValue, DateTimeOffset? NextCheck)
{
    public bool RotateNow => Trigger != RotationTrigger.None;
}

/// <summary>
/// When to rotate a workspace's key. One rotation at a time: a new one starts only after the previous key of the last
/// one was revoked, so at most two keys are ever valid (the new one and the one pods may still hold).
/// </summary>
public static class CredentialRotation
{
    public static RotationDecision Evaluate(ResolvedWorkspaceStorage spec, WorkspaceStorageStatus? status, IDictionary<string, string>? annotations, DateTimeOffset now)
    {
        ArgumentNullException.ThrowIfNull(spec);

        // The operator does not rotate keys it did not create, and creating the first key is not a rotation.
        if (spec.ExistingSecret is not null || status?.AccessKeyId is null)
        {
            return new(RotationTrigger.None, null, null);
        }

        if (status.PreviousAccessKeyId is not null)
        {
            return new(RotationTrigger.None, null, status.PreviousKeyRevokeAfter is { } revoke ? AsOffset(revoke) : now);
        }

        string? requested = null;
        if (annotations is not null && annotations.TryGetValue(ResourceMetadata.RotateAnnotation, out var value) && !string.IsNullOrWhiteSpace(value))
        {
            requested = value;
        }

        if (requested is not null && requested != status.LastRotationRequest)
        {
            return new(RotationTrigger.Requested, requested, null);
        }

        if (spec.RotationInterval is not { } interval)
        {
            return new(RotationTrigger.None, null, null);
        }

        if (status.CredentialsRotatedAt is not { } rotatedAt)
        {
            // A key of unknown age: rotate, so the interval is counted from a known time.
            return new(RotationTrigger.Interval, null, null);
        }

        var due = AsOffset(rotatedAt) + interval;
        return due <= now ? new(RotationTrigger.Interval, null, null) : new(RotationTrigger.None, null, due);
    }

    /// <summary>True when a rotation's grace period is over and its previous key should be revoked.</summary>
    public static bool PreviousKeyRevokeDue(WorkspaceStorageStatus? status, DateTimeOffset now) =>
        status?.PreviousAccessKeyId is not null && (status.PreviousKeyRevokeAfter is not { } after || AsOffset(after) <= now);

    private static DateTimeOffset AsOffset(DateTime time) =>
        new(DateTime.SpecifyKind(time.Kind == DateTimeKind.Local ? time.ToUniversalTime() : time, DateTimeKind.Utc));
}
