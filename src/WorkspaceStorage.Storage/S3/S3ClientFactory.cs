using Polly;
using WorkspaceStorage.Core.Signing;
using WorkspaceStorage.Storage.Backends;
using WorkspaceStorage.Storage.Http;

namespace WorkspaceStorage.Storage.S3;

/// <summary>
/// Makes <see cref="S3ObjectClient"/>s for any (location, credentials) pair. All of them share one connection pool
/// and one <see cref="SigV4Signer"/> (whose signing-key cache is per instance), so creating a client per request is cheap.
/// Register one factory per process.
/// </summary>
public sealed class S3ClientFactory : IDisposable
{
    private readonly HttpClient http;
    private readonly SignedHttpSender sender;
    private readonly S3ClientOptions options;
    private readonly IBackendCallObserver observer;
    private readonly TimeProvider clock;
    private readonly ResiliencePipeline streamingRetry;

    /// <param name="handler">Replaces the default handler (custom TLS trust, tests); the factory then owns and disposes it.</param>
    public S3ClientFactory(S3ClientOptions? options = null, IBackendCallObserver? observer = null, TimeProvider? time = null,
        HttpMessageHandler? handler = null)
    {
        this.options = options ?? new S3ClientOptions();
        this.options.Validate();
        this.observer = observer ?? NullBackendCallObserver.Instance;
        clock = time ?? TimeProvider.System;
        // Streaming calls time out on headers only; HttpClient's own 100 s total would cut long transfers.
        http = new HttpClient(handler ?? CreateHandler(this.options), disposeHandler: true) { Timeout = Timeout.InfiniteTimeSpan };
        Signer = new SigV4Signer();
        sender = new SignedHttpSender(http, Signer, this.options.Retry, this.observer, S3ObjectClient.BackendType, clock);
        // Built once: building a Polly pipeline per client cost about a third of a presign request over HTTP.
        streamingRetry = BackendRetryPipeline.Create(this.options.Retry, clock);
    }

    /// <summary>The signer every client of this factory shares.</summary>
    public SigV4Signer Signer { get; }

    /// <summary>
    /// The handler the factory uses unless given one: pooled connections, no environment proxy (HTTP_PROXY made
    /// Hypha's uploads hang), no automatic decompression (bytes and Content-Length pass through untouched), and quick
    /// ACKs (<see cref="QuickAckConnections"/>: RGW's small answers otherwise wait 40 ms for a delayed ACK).
    /// </summary>
    public static SocketsHttpHandler CreateHandler(S3ClientOptions options) => QuickAckConnections.Apply(new()
    {
        UseProxy = false,
        AutomaticDecompression = System.Net.DecompressionMethods.None,
        AllowAutoRedirect = false,
        UseCookies = false,
        ConnectTimeout = options.ConnectTimeout,
        PooledConnectionLifetime = options.PooledConnectionLifetime,
        PooledConnectionIdleTimeout = TimeSpan.FromMinutes(1),
    });

    public S3ObjectClient Create(S3Location location, AwsCredentials credentials) =>
        new(http, Signer, sender, streamingRetry, location, credentials, options, observer, clock);

    public void Dispose() => http.Dispose();
}
