namespace WorkspaceStorage.Core.Resilience;

/// <summary>
/// The one backoff formula of the project, for every retry: backend calls (through the Polly pipeline), the work
/// queue's requeues, informer relists and leader election. The delay before retry <c>n</c> (1-based) is
/// <c>min(max, initial · 2^(n-1))</c>, shortened by a random fraction of at most <see cref="Jitter"/>, so many
/// failing keys (or replicas) do not retry in lock-step and <see cref="Max"/> is never exceeded.
/// </summary>
public sealed record ExponentialBackoff
{
    public ExponentialBackoff(TimeSpan initial, TimeSpan max, double jitter = 0.2)
    {
        if (initial <= TimeSpan.Zero)
        {
            throw new ArgumentOutOfRangeException(nameof(initial), initial, "The initial backoff must be positive.");
        }

        if (max < initial)
        {
            throw new ArgumentOutOfRangeException(nameof(max), max, "The maximum backoff must not be below the initial one.");
        }

        if (jitter is < 0 or > 1)
        {
            throw new ArgumentOutOfRangeException(nameof(jitter), jitter, "Jitter is a fraction between 0 and 1.");
        }

        Initial = initial;
        Max = max;
        Jitter = jitter;
    }

    public TimeSpan Initial { get; }

    public TimeSpan Max { get; }

    public double Jitter { get; }

    /// <summary>The delay before retry <paramref name="retry"/> (1 = the first retry); <paramref name="random01"/> is a uniform draw in [0, 1).</summary>
    public TimeSpan Delay(int retry, double random01)
    {
        var exponent = Math.Clamp(retry - 1, 0, 62);
        var capped = Math.Min(Initial.TotalMilliseconds * Math.Pow(2, exponent), Max.TotalMilliseconds);
        return TimeSpan.FromMilliseconds(capped * (1 - (Jitter * Math.Clamp(random01, 0, 1))));
    }

    /// <summary>The delay before retry <paramref name="retry"/> with a fresh random draw.</summary>
    public TimeSpan Delay(int retry) => Delay(retry, Random.Shared.NextDouble());
}
