namespace WorkspaceStorage.Kubernetes.Runtime;

/// <summary>
/// Delay before retry number <c>attempt</c> (1-based): <c>initial · 2^(attempt-1)</c>, capped at <c>max</c>, then
/// stretched by a random factor in [1, 1 + jitter] so many failing keys (or replicas) do not retry in lock-step.
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

    /// <summary>The delay before retry <paramref name="attempt"/>; <paramref name="random01"/> is a uniform draw in [0, 1).</summary>
    public TimeSpan Delay(int attempt, double random01)
    {
        var exponent = Math.Clamp(attempt - 1, 0, 62);
        var raw = Initial.TotalMilliseconds * Math.Pow(2, exponent);
        var capped = Math.Min(raw, Max.TotalMilliseconds);
        var stretched = capped * (1 + (Jitter * Math.Clamp(random01, 0, 1)));
        return TimeSpan.FromMilliseconds(stretched);
    }

    /// <summary>The delay before retry <paramref name="attempt"/> with a fresh random draw.</summary>
    public TimeSpan Delay(int attempt) => Delay(attempt, Random.Shared.NextDouble());
}
