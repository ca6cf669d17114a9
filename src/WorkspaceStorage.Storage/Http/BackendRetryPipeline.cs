using Polly;
using Polly.Retry;
using WorkspaceStorage.Storage.Backends;

namespace WorkspaceStorage.Storage.Http;

/// <summary>
/// The one retry pipeline of every call to a storage server (admin APIs and S3, control and streaming calls alike):
/// an attempt that ends in <see cref="BackendUnavailableException"/> (connection error, timeout, 5xx, 429/SlowDown)
/// is tried again after <see cref="RetryOptions.Backoff"/>, up to <see cref="RetryOptions.MaxAttempts"/> attempts in
/// all. Each attempt keeps its own timeout (the caller's attempt sets it); cancellation stops the waits too.
/// </summary>
public static class BackendRetryPipeline
{
    /// <param name="canRetry">False for a call that must not be repeated (a streamed body that cannot be rewound).</param>
    public static ResiliencePipeline Create(RetryOptions options, TimeProvider clock, bool canRetry = true)
    {
        ArgumentNullException.ThrowIfNull(options);
        if (!canRetry || options.MaxAttempts <= 1)
        {
            return ResiliencePipeline.Empty;
        }

        var backoff = options.Backoff;
        return new ResiliencePipelineBuilder { TimeProvider = clock }
            .AddRetry(new RetryStrategyOptions
            {
                ShouldHandle = new PredicateBuilder().Handle<BackendUnavailableException>(),
                MaxRetryAttempts = options.MaxAttempts - 1,
                // Polly counts retries from 0.
                DelayGenerator = arguments => ValueTask.FromResult<TimeSpan?>(backoff.Delay(arguments.AttemptNumber + 1)),
            })
            .Build();
    }
}
