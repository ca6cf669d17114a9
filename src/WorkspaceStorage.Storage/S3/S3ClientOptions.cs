using WorkspaceStorage.Storage.Http;

namespace WorkspaceStorage.Storage.S3;

/// <summary>Timeouts of the S3 data-plane client. Control calls use <see cref="Retry"/>; streaming calls have no total timeout.</summary>
public sealed record S3ClientOptions
{
    /// <summary>Per-attempt timeout and retries of small control calls (list, delete, multipart bookkeeping, bucket chores).</summary>
    public RetryOptions Retry { get; init; } = new();

    /// <summary>How long a streaming call (GET, PUT, HEAD) may wait for the response headers; the body itself has no total timeout.</summary>
    public TimeSpan ResponseHeadersTimeout { get; init; } = TimeSpan.FromSeconds(30);

    /// <summary>A streaming upload that moves no byte for this long is aborted.</summary>
    public TimeSpan UploadIdleTimeout { get; init; } = TimeSpan.FromSeconds(60);

    public TimeSpan ConnectTimeout { get; init; } = TimeSpan.FromSeconds(10);

    /// <summary>Pooled connections are renewed after this long, so DNS changes (a moved endpoint) are picked up.</summary>
    public TimeSpan PooledConnectionLifetime { get; init; } = TimeSpan.FromMinutes(5);

    public void Validate()
    {
        Retry.Validate();
        foreach (var (name, value) in new[]
                 {
                     (nameof(ResponseHeadersTimeout), ResponseHeadersTimeout), (nameof(UploadIdleTimeout), UploadIdleTimeout),
                     (nameof(ConnectTimeout), ConnectTimeout), (nameof(PooledConnectionLifetime), PooledConnectionLifetime),
                 })
        {
            if (value <= TimeSpan.Zero)
            {
                throw new ArgumentOutOfRangeException(name, value, "must be positive");
            }
        }
    }
}
