using k8s;
using k8s.Models;

namespace WorkspaceStorage.Kubernetes.Runtime;

/// <summary>
/// Brings one object's world in line with its spec. Called with the object's key; the same key is never reconciled
/// twice at once. Must be idempotent: the controller calls it again after resyncs, restarts and failures.
/// </summary>
public interface IReconciler<T>
    where T : class, IKubernetesObject<V1ObjectMeta>
{
    /// <summary>
    /// Reconciles <see cref="ReconcileRequest{T}.Key"/>. Return <see cref="ReconcileResult.Done"/> when converged,
    /// <see cref="ReconcileResult.Requeue"/> to run again after the key's backoff, or
    /// <see cref="ReconcileResult.RequeueAfter"/> to run again after a fixed delay. Throwing is a failure: the key
    /// backs off exponentially and the exception's type and (redacted) message are logged, so messages must not
    /// hold secrets. <see cref="ResourceConflictException"/> is expected now and then and logged quietly.
    /// </summary>
    Task<ReconcileResult> ReconcileAsync(ReconcileRequest<T> request, CancellationToken cancellationToken);
}

/// <summary>
/// What to reconcile: the key. Reconcilers read the object themselves: an informer's copy may be trimmed of fields
/// they need, and may lag behind the server.
/// </summary>
public sealed record ReconcileRequest<T>(ResourceKey Key)
    where T : class;

/// <summary>How a reconcile ended.</summary>
public enum ReconcileOutcome
{
    Done,
    Requeue,
    RequeueAfter,
}

/// <summary>The result of a reconcile.</summary>
public sealed record ReconcileResult
{
    private ReconcileResult(ReconcileOutcome outcome, TimeSpan delay)
    {
        Outcome = outcome;
        Delay = delay;
    }

    public ReconcileOutcome Outcome { get; }

    /// <summary>The delay of <see cref="ReconcileOutcome.RequeueAfter"/>; zero otherwise.</summary>
    public TimeSpan Delay { get; }

    /// <summary>Converged: nothing to do until something changes (or the next resync).</summary>
    public static ReconcileResult Done { get; } = new(ReconcileOutcome.Done, TimeSpan.Zero);

    /// <summary>Not yet converged (waiting on something): run again after the key's backoff delay.</summary>
    public static ReconcileResult Requeue { get; } = new(ReconcileOutcome.Requeue, TimeSpan.Zero);

    /// <summary>Run again after <paramref name="delay"/> (e.g. a credential rotation due then). Resets the backoff.</summary>
    public static ReconcileResult RequeueAfter(TimeSpan delay)
    {
        if (delay <= TimeSpan.Zero)
        {
            throw new ArgumentOutOfRangeException(nameof(delay), delay, "RequeueAfter needs a positive delay.");
        }

        return new ReconcileResult(ReconcileOutcome.RequeueAfter, delay);
    }
}
