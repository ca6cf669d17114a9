using Microsoft.Extensions.Options;
using WorkspaceStorage.Api.Hosting;
using WorkspaceStorage.Storage.S3;

namespace WorkspaceStorage.Api.Proxy;

/// <summary>
/// The one message invoker the proxy forwards with (YARP takes an invoker, not an HttpClient): pooled connections, no environment proxy (HTTP_PROXY made Hypha's
/// uploads hang), no decompression (bytes and Content-Length pass through untouched), no redirects, no cookies, no
/// trace headers, and no total timeout (bodies of any length stream; the forwarder bounds only idle time).
/// </summary>
public sealed class S3ProxyTransport : IDisposable
{
    public S3ProxyTransport(IOptions<ApiOptions> api)
    {
        var options = api.Value.S3Proxy;
        Invoker = new HttpMessageInvoker(CreateHandler(options), disposeHandler: true);
    }

    public HttpMessageInvoker Invoker { get; }

    public static SocketsHttpHandler CreateHandler(S3ProxyOptions options)
    {
        ArgumentNullException.ThrowIfNull(options);
        // The storage clients' connection recipe (quick ACKs included: RGW's small answers otherwise wait 40 ms for a
        // delayed ACK), with the proxy's timeouts and without trace headers: forward the client's, not ours.
        var handler = S3ClientFactory.CreateHandler(new S3ClientOptions
        {
            ConnectTimeout = options.ConnectTimeout,
            PooledConnectionLifetime = options.PooledConnectionLifetime,
        });
        handler.ActivityHeadersPropagator = null;
        return handler;
    }

    public void Dispose() => Invoker.Dispose();
}
