using WorkspaceStorage.Core.Model;
using k8s.Models;

namespace WorkspaceStorage.Resources;

/// <summary>
/// kstatus-style conditions. <c>Ready</c> is normal-true; <c>Reconciling</c> and <c>Stalled</c> are abnormal-true and
/// are removed when they do not apply (as Flux does), so at most one of the three says something is happening:
/// <list type="bullet">
/// <item><see cref="MarkReady"/>: Ready=True, no Reconciling, no Stalled, observedGeneration = generation.</item>
/// <item><see cref="MarkReconciling"/>: Reconciling=True, Ready=Unknown, no Stalled.</item>
/// <item><see cref="MarkStalled"/>: Stalled=True, Ready=False, no Reconciling, observedGeneration = generation.</item>
/// <item><see cref="MarkUnavailable"/>: Reconciling=True, Ready=False, no Stalled (a dependency is down; retried).</item>
/// </list>
/// A condition's lastTransitionTime changes only when its status changes. Every method returns whether anything
/// changed, so the caller writes the status only when it did. Times are kept to whole seconds, as the API server
/// stores them, so re-reading a status and marking it again is a no-op.
/// </summary>
public static class Conditions
{
    public const string True = "True";
    public const string False = "False";
    public const string Unknown = "Unknown";

    /// <summary>metav1.Condition's limit; a longer message would make the API server refuse the whole status.</summary>
    public const int MaxMessageLength = 32768;

    public static V1Condition? Find(this IConditionedStatus? status, string type) =>
        status?.Conditions?.FirstOrDefault(c => c.Type == type);

    public static bool IsTrue(this IConditionedStatus? status, string type) => status.Find(type)?.Status == True;

    /// <summary>Ready=True for <paramref name="generation"/>, which is also recorded as status.observedGeneration.</summary>
    public static bool MarkReady(this IConditionedStatus status, long? generation, string reason, string message, DateTimeOffset now)
    {
        ArgumentNullException.ThrowIfNull(status);
        var changed = Set(status, ConditionTypes.Ready, True, reason, message, generation, now);
        changed |= Remove(status, ConditionTypes.Reconciling);
        changed |= Remove(status, ConditionTypes.Stalled);
        changed |= SetObservedGeneration(status, generation);
        return changed;
    }

    /// <summary>
    /// Work is under way (creating, rotating, waiting for a grace period): Reconciling=True and Ready=Unknown with the
    /// same reason. status.observedGeneration is left alone; kstatus reads Reconciling=True as in progress.
    /// </summary>
    public static bool MarkReconciling(this IConditionedStatus status, long? generation, string reason, string message, DateTimeOffset now) =>
        MarkRetrying(status, Unknown, generation, reason, message, now);

    /// <summary>
    /// The operator cannot make progress without a change from the user (invalid spec, missing backend, rejected
    /// credentials): Stalled=True and Ready=False with the same reason; observedGeneration records the generation it gave up on.
    /// </summary>
    public static bool MarkStalled(this IConditionedStatus status, long? generation, string reason, string message, DateTimeOffset now)
    {
        ArgumentNullException.ThrowIfNull(status);
        var changed = Set(status, ConditionTypes.Stalled, True, reason, message, generation, now);
        changed |= Set(status, ConditionTypes.Ready, False, reason, message, generation, now);
        changed |= Remove(status, ConditionTypes.Reconciling);
        changed |= SetObservedGeneration(status, generation);
        return changed;
    }

    /// <summary>
    /// A dependency is down and the operator retries on its own: Reconciling=True and Ready=False with the same
    /// reason, no Stalled (nothing for the user to fix). observedGeneration is left alone.
    /// </summary>
    public static bool MarkUnavailable(this IConditionedStatus status, long? generation, string reason, string message, DateTimeOffset now) =>
        MarkRetrying(status, False, generation, reason, message, now);

    /// <summary>Reconciling=True, Ready=<paramref name="ready"/>, no Stalled: the operator goes on by itself.</summary>
    private static bool MarkRetrying(IConditionedStatus status, string ready, long? generation, string reason, string message, DateTimeOffset now)
    {
        ArgumentNullException.ThrowIfNull(status);
        var changed = Set(status, ConditionTypes.Reconciling, True, reason, message, generation, now);
        changed |= Set(status, ConditionTypes.Ready, ready, reason, message, generation, now);
        changed |= Remove(status, ConditionTypes.Stalled);
        return changed;
    }

    /// <summary>
    /// Adds or updates one condition. lastTransitionTime is set to <paramref name="now"/> only when the condition is
    /// new or its status changed; reason, message and observedGeneration follow the latest call.
    /// </summary>
    public static bool Set(this IConditionedStatus status, string type, string conditionStatus, string reason, string message, long? generation, DateTimeOffset now)
    {
        ArgumentNullException.ThrowIfNull(status);
        ArgumentException.ThrowIfNullOrEmpty(type);
        ArgumentException.ThrowIfNullOrEmpty(reason);
        if (conditionStatus is not (True or False or Unknown))
        {
            throw new ArgumentOutOfRangeException(nameof(conditionStatus), conditionStatus, "must be True, False or Unknown");
        }

        status.Conditions ??= [];
        message ??= string.Empty;
        if (message.Length > MaxMessageLength)
        {
            message = message[..(MaxMessageLength - 3)] + "...";
        }

        var existing = status.Conditions.FirstOrDefault(c => c.Type == type);
        if (existing is null)
        {
            status.Conditions.Add(new V1Condition
            {
                Type = type,
                Status = conditionStatus,
                Reason = reason,
                Message = message,
                ObservedGeneration = generation,
                LastTransitionTime = Truncate(now),
            });
            return true;
        }

        var changed = false;
        if (existing.Status != conditionStatus)
        {
            existing.Status = conditionStatus;
            existing.LastTransitionTime = Truncate(now);
            changed = true;
        }
        else if (existing.LastTransitionTime == default)
        {
            existing.LastTransitionTime = Truncate(now);
            changed = true;
        }

        if (existing.Reason != reason)
        {
            existing.Reason = reason;
            changed = true;
        }

        if (existing.Message != message)
        {
            existing.Message = message;
            changed = true;
        }

        if (existing.ObservedGeneration != generation)
        {
            existing.ObservedGeneration = generation;
            changed = true;
        }

        return changed;
    }

    public static bool Remove(this IConditionedStatus status, string type)
    {
        ArgumentNullException.ThrowIfNull(status);
        return status.Conditions is not null && status.Conditions.RemoveAll(c => c.Type == type) > 0;
    }

    private static bool SetObservedGeneration(IConditionedStatus status, long? generation)
    {
        if (status.ObservedGeneration == generation)
        {
            return false;
        }

        status.ObservedGeneration = generation;
        return true;
    }

    private static DateTime Truncate(DateTimeOffset now)
    {
        var utc = now.UtcDateTime;
        return new DateTime(utc.Ticks - (utc.Ticks % TimeSpan.TicksPerSecond), DateTimeKind.Utc);
    }
}
