using WorkspaceStorage.Core.Resilience;

namespace WorkspaceStorage.Storage.Http;

/// <summary>Timeouts and retries for backend calls. Validated where it is bound from configuration.</summary>
public sealed record RetryOptions
{
    /// <summary>Limit for one attempt, response body included.</summary>
    public TimeSpan AttemptTimeout { get; init; } = TimeSpan.FromSeconds(10);

    /// <summary>Attempts in all, the first included.</summary>
    public int MaxAttempts { get; init; } = 4;

    public TimeSpan BaseDelay { get; init; } = TimeSpan.FromMilliseconds(200);

    public TimeSpan MaxDelay { get; init; } = TimeSpan.FromSeconds(5);

    /// <summary>The delays between attempts: <see cref="BaseDelay"/> doubling up to <see cref="MaxDelay"/>, each shortened by up to half at random.</summary>
    public ExponentialBackoff Backoff => new(BaseDelay, MaxDelay, jitter: 0.5);

    public void Validate()
    {
        if (AttemptTimeout <= TimeSpan.Zero)
        {
            throw new ArgumentOutOfRangeException(nameof(AttemptTimeout), "must be positive");
        }

        if (MaxAttempts < 1)
        {
            throw new ArgumentOutOfRangeException(nameof(MaxAttempts), "must be at least 1");
        }
    }
}
