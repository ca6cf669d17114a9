using System.Net;
using Microsoft.Extensions.Options;
using WorkspaceStorage.Api.Hosting;

namespace WorkspaceStorage.Api.Proxy;

/// <summary>
/// The one HttpClient the proxy forwards with: pooled connections, no environment proxy (HTTP_PROXY made Hypha's
/// uploads hang), no decompression (bytes and Content-Length pass through untouched), no redirects, no cookies, no
/// trace headers, and no total timeout (bodies of any length stream; the forwarder bounds only the header wait).
/// </summary>
public sealed class S3ProxyTransport : IDisposable
{
    public S3ProxyTransport(IOptions<ApiOptions> api)
    {
        var options = api.Value.S3Proxy;
        Client = new HttpClient(CreateHandler(options), disposeHandler: true) { Timeout = Timeout.InfiniteTimeSpan };
    }

    public HttpClient Client { get; }

    public static SocketsHttpHandler CreateHandler(S3ProxyOptions options)
    {
        ArgumentNullException.ThrowIfNull(options);
        // Quick ACKs, as the storage clients: RGW's small answers otherwise wait 40 ms for a delayed ACK.
        return WorkspaceStorage.Storage.Http.QuickAckConnections.Apply(new SocketsHttpHandler
        {
            UseProxy = false,
            AutomaticDecompression = DecompressionMethods.None,
            AllowAutoRedirect = false,
            UseCookies = false,
            ActivityHeadersPropagator = null, // forward the client's headers, not ours (no traceparent)
            ConnectTimeout = options.ConnectTimeout,
            PooledConnectionLifetime = options.PooledConnectionLifetime,
            PooledConnectionIdleTimeout = TimeSpan.FromMinutes(1),
        });
    }

    public void Dispose() => Client.Dispose();
}
