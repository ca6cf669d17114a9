namespace Hypha.Rpc;

/// <summary>Exponential backoff with jitter: the n-th delay is a random point in [½, 1] of min(max, initial·2ⁿ).</summary>
internal sealed class ReconnectBackoff(TimeSpan initial, TimeSpan max)
{
    private int failures;

    public void Reset() => failures = 0;

    public TimeSpan Next()
    {
        var ceiling = initial.TotalMilliseconds * Math.Pow(2, Math.Min(failures, 30));
        failures++;
        var bounded = Math.Min(ceiling, max.TotalMilliseconds);
        return TimeSpan.FromMilliseconds(bounded * (0.5 + (Random.Shared.NextDouble() * 0.5)));
    }
}
