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

    /// <summary>Delay before attempt <paramref name="attempt"/> (2, 3 …): exponential with full jitter, so replicas do not retry in step.</summary>
    public TimeSpan DelayBefore(int attempt, Random random)
    {
        var ceiling = Math.Min(MaxDelay.TotalMilliseconds, BaseDelay.TotalMilliseconds * Math.Pow(2, attempt - 2));
        return TimeSpan.FromMilliseconds(ceiling * (0.5 + random.NextDouble() / 2));
    }

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
