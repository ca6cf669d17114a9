namespace WorkspaceStorage.Api.Proxy;

/// <summary>
/// The <c>/s3/{bucket}/{key}</c> proxy (Hypha's <c>--enable-s3-proxy</c>). Bound from <c>Api:S3Proxy</c>.
/// Bodies stream both ways with no total timeout; only idle time is bounded.
/// </summary>
public sealed class S3ProxyOptions
{
    public const string SectionName = "Api:S3Proxy";

    /// <summary>Mount <c>/s3/...</c> and rewrite presigned URLs to go through this API. Off by default, as in Hypha.</summary>
    public bool Enabled { get; set; }

    /// <summary>
    /// How long an exchange may be idle: S3 sending no headers once the request body was sent, or no byte of a body
    /// moving either way (YARP's activity timeout). The name is kept from when only the header wait was bounded.
    /// </summary>
    public TimeSpan ResponseHeadersTimeout { get; set; } = TimeSpan.FromSeconds(30);

    public TimeSpan ConnectTimeout { get; set; } = TimeSpan.FromSeconds(10);

    /// <summary>Pooled connections to S3 are renewed after this long, so a moved endpoint (DNS) is picked up.</summary>
    public TimeSpan PooledConnectionLifetime { get; set; } = TimeSpan.FromMinutes(5);

    internal void Validate(List<string> failures)
    {
        foreach (var (name, value) in new[]
                 {
                     (nameof(ResponseHeadersTimeout), ResponseHeadersTimeout),
                     (nameof(ConnectTimeout), ConnectTimeout),
                     (nameof(PooledConnectionLifetime), PooledConnectionLifetime),
                 })
        {
            if (value <= TimeSpan.Zero || value > TimeSpan.FromHours(1))
            {
                failures.Add($"{SectionName}:{name} must be between 0 (exclusive) and 01:00:00");
            }
        }
    }
}
