using WorkspaceStorage.Core.Model;

namespace WorkspaceStorage.Core.Credentials;

/// <summary>
/// What the credential Secret records about its keys besides the current one. It is written together with the key
/// (the Secret is the source of truth; the status only mirrors it).
/// </summary>
/// <param name="PreviousAccessKeyId">The key replaced by the last rotation, still valid until <paramref name="PreviousRevokeAfter"/>.</param>
/// <param name="PreviousRevokeAfter">When the previous key's grace period ends.</param>
/// <param name="RotatedAt">When the current key was made.</param>
/// <param name="RotationRequest">The last value of the rotate annotation that was acted on.</param>
public sealed record KeyState(string? PreviousAccessKeyId, DateTimeOffset? PreviousRevokeAfter, DateTimeOffset? RotatedAt, string? RotationRequest)
{
    public static KeyState None { get; } = new(null, null, null, null);

    /// <summary>True while the previous key's grace period runs.</summary>
    public bool PreviousInGrace(DateTimeOffset now) => PreviousAccessKeyId is not null && PreviousRevokeAfter > now;
}

/// <summary>What happens to the key in the Secret.</summary>
public enum KeyAction
{
    /// <summary>The current key stays.</summary>
    Keep,

    /// <summary>A first key (or a replacement for an unusable one): nothing to overlap with.</summary>
    Issue,

    /// <summary>A new key; the current one becomes the previous key for the grace period.</summary>
    Rotate,

    /// <summary>The user's own key (spec.credentials.existingSecretRef) replaces what the Secret held.</summary>
    Adopt,
}

/// <param name="Action">What to do with the key.</param>
/// <param name="State">What the Secret records after this reconcile.</param>
/// <param name="Reason">Why a new key is made (for the event); null when none is, or for the very first key.</param>
/// <param name="RetiredKeyId">The previous key whose grace period is over: revoke it now.</param>
/// <param name="Deferred">A rotation that is due but waits for the previous key's grace period to end; null when none waits.</param>
/// <param name="NextCheck">When something falls due (a revocation, a rotation); null when nothing is scheduled.</param>
public sealed record KeyPlan(KeyAction Action, KeyState State, string? Reason, string? RetiredKeyId, string? Deferred, DateTimeOffset? NextCheck);

/// <summary>
/// The rotation rule, in one place. A key is rotated when the rotate annotation holds a value not acted on yet, or
/// when spec.credentials.rotationInterval has passed since the current key was made. The replaced key stays valid
/// for spec.credentials.rotationGracePeriod, so workloads can pick up the new key.
/// <para>
/// One rotation at a time: a rotation that falls due while the previous key's grace period runs waits until that
/// grace period ends, and then starts at once (the request is not lost, only deferred). So no key is ever revoked
/// before its own grace period ends, every key a workload was handed stays valid for a full grace period after it
/// was replaced, and at most two keys are valid at any time.
/// </para>
/// Keys the user brings are never rotated; creating the first key is not a rotation.
/// </summary>
public static class CredentialRotation
{
    /// <param name="spec">The validated spec.</param>
    /// <param name="recorded">What the Secret records (<see cref="KeyState.None"/> when there is no Secret).</param>
    /// <param name="currentKeyId">The usable key in the Secret, or null (no Secret, or no usable key in it).</param>
    /// <param name="secretExists">Whether the Secret exists at all (an unusable key in an existing one is worth an event).</param>
    /// <param name="holdsBroughtKey">With spec.credentials.existingSecretRef: whether the Secret already holds exactly the user's key.</param>
    /// <param name="request">The rotate annotation's value, or null.</param>
    /// <param name="now">The time, whole seconds.</param>
    public static KeyPlan Plan(ValidatedWorkspaceStorage spec, KeyState recorded, string? currentKeyId, bool secretExists, bool holdsBroughtKey,
        string? request, DateTimeOffset now)
    {
        ArgumentNullException.ThrowIfNull(spec);
        ArgumentNullException.ThrowIfNull(recorded);
        request = string.IsNullOrEmpty(request) ? null : request;

        var retired = recorded.PreviousAccessKeyId is not null && !recorded.PreviousInGrace(now) ? recorded.PreviousAccessKeyId : null;
        var state = retired is null ? recorded : recorded with { PreviousAccessKeyId = null, PreviousRevokeAfter = null };

        if (spec.ExistingSecret is not null)
        {
            // The user's key: switching to it replaces the operator's key outright (the user chose the moment).
            return holdsBroughtKey
                ? Finish(spec, KeyAction.Keep, state, null) with { RetiredKeyId = retired }
                : Finish(spec, KeyAction.Adopt, new KeyState(null, null, now, null), null);
        }

        if (currentKeyId is null)
        {
            return Finish(spec, KeyAction.Issue, new KeyState(null, null, now, request), secretExists ? "the Secret held no usable key" : null);
        }

        var byRequest = request is not null && request != recorded.RotationRequest;
        var byInterval = spec.RotationInterval is { } interval && (recorded.RotatedAt ?? DateTimeOffset.MinValue) + interval <= now;
        if (!byRequest && !byInterval)
        {
            return Finish(spec, KeyAction.Keep, state, null) with { RetiredKeyId = retired };
        }

        var why = byRequest
            ? $"requested (annotation {ResourceMetadata.RotateAnnotation}={request})"
            : $"rotationInterval {DurationParser.Format(spec.RotationInterval!.Value)} elapsed";
        if (state.PreviousInGrace(now))
        {
            // A second rotation inside the first one's grace period: revoking the previous key now would cut off
            // workloads that have not picked up the current key yet, and keeping three keys would let rotations pile up.
            return Finish(spec, KeyAction.Keep, state, null) with
            {
                Deferred = $"a rotation ({why}) starts when key {state.PreviousAccessKeyId} is revoked",
            };
        }

        var rotated = spec.RotationGracePeriod > TimeSpan.Zero
            ? new KeyState(currentKeyId, now + spec.RotationGracePeriod, now, request ?? recorded.RotationRequest)
            : new KeyState(null, null, now, request ?? recorded.RotationRequest);
        return Finish(spec, KeyAction.Rotate, rotated, why) with { RetiredKeyId = retired };
    }

    private static KeyPlan Finish(ValidatedWorkspaceStorage spec, KeyAction action, KeyState state, string? reason) =>
        new(action, state, reason, null, null, NextCheck(spec, state));

    /// <summary>
    /// The previous key's revocation while one is kept (nothing else can happen before it: a rotation due earlier
    /// waits for it); otherwise the next interval rotation.
    /// </summary>
    private static DateTimeOffset? NextCheck(ValidatedWorkspaceStorage spec, KeyState state)
    {
        if (state.PreviousAccessKeyId is not null)
        {
            return state.PreviousRevokeAfter;
        }

        return spec.ExistingSecret is null && spec.RotationInterval is { } interval && state.RotatedAt is { } rotatedAt ? rotatedAt + interval : null;
    }
}
