using System.Net;
using System.Net.Sockets;
using Microsoft.AspNetCore.Diagnostics;
using Microsoft.AspNetCore.Http.Features;
using Microsoft.Extensions.Options;
using WorkspaceStorage.Api.Errors;
using WorkspaceStorage.Api.Hosting;
using Yarp.ReverseProxy.Forwarder;

namespace WorkspaceStorage.Api.Proxy;

/// <summary>
/// Forwards <c>/s3/{bucket}/{key}</c> to the bucket's INTERNAL S3 endpoint, exactly as the client sent it: the raw
/// path and query (never decoded and re-encoded), the client's headers minus hop-by-hop ones, and <c>Host</c> set to
/// the PUBLIC host the URL was signed for, so S3 verifies the client's own SigV4 signature. The proxy adds no
/// credentials: the signature is the only access control, and S3's answer (403 included) passes through.
/// The exchange itself is YARP's <see cref="IHttpForwarder"/> (streaming both ways, cancellation, 100-continue);
/// what is forwarded is <see cref="S3ProxyTransformer"/>'s rule. Bodies stream; the exchange is cut when it is idle
/// (no byte either way, and no response headers) for <c>ResponseHeadersTimeout</c>.
/// </summary>
public sealed class S3ProxyForwarder(
    IHttpForwarder forwarder,
    S3ProxyTransport transport,
    IS3ProxyTargets targets,
    IOptions<ApiOptions> api,
    ApiMetrics metrics,
    ILogger<S3ProxyForwarder> logger)
{
    private readonly TimeSpan headersTimeout = api.Value.S3Proxy.ResponseHeadersTimeout;

    // HTTP/1.1 as S3 servers speak it; no Expect: 100-continue (the client's was answered by Kestrel already).
    private readonly ForwarderRequestConfig requestConfig = new()
    {
        ActivityTimeout = api.Value.S3Proxy.ResponseHeadersTimeout,
        Version = HttpVersion.Version11,
        VersionPolicy = HttpVersionPolicy.RequestVersionOrLower,
    };

    public async Task ForwardAsync(HttpContext context, string bucket)
    {
        ArgumentNullException.ThrowIfNull(context);

        // S3's own status and body pass through untouched, also bodiless ones (HEAD 404, 304).
        if (context.Features.Get<IStatusCodePagesFeature>() is { } statusPages)
        {
            statusPages.Enabled = false;
        }

        var rawTarget = context.Features.Get<IHttpRequestFeature>()?.RawTarget ?? string.Empty;
        if (ForwardedPath(rawTarget, context.Request.PathBase, bucket) is not { } forwarded)
        {
            await ApiErrors.WriteAsync(context, StatusCodes.Status400BadRequest, "path must be /s3/{bucket}/{key} without '.' or '..' segments");
            return;
        }

        if (targets.FindBucket(bucket) is not { } target)
        {
            await ApiErrors.WriteAsync(context, StatusCodes.Status404NotFound, $"bucket {bucket} is not served by this proxy");
            return;
        }

        var request = context.Request;
        var hasBody = request.ContentLength is > 0
            || (request.ContentLength is null && context.Features.Get<IHttpRequestBodyDetectionFeature>()?.CanHaveBody == true);
        if (hasBody && request.ContentLength is null)
        {
            // S3 (and RGW) refuse bodies of unknown length; answering here avoids starting a doomed upload.
            await ApiErrors.WriteAsync(context, StatusCodes.Status411LengthRequired, "Content-Length is required");
            return;
        }

        var targetUri = new Uri(
            string.Concat(target.InternalOrigin, target.InternalPathPrefix, forwarded.PathAfterS3, forwarded.Query),
            new UriCreationOptions { DangerousDisablePathAndQueryCanonicalization = true });
        var upload = new ObservedRequestBody(request.Body);
        request.Body = upload;
        var download = new ObservedResponseBody(context.Response.Body);
        context.Response.Body = download;
        ForwarderError error;
        try
        {
            error = await forwarder.SendAsync(context, target.InternalOrigin, transport.Invoker, requestConfig,
                new S3ProxyTransformer(targetUri, target.SignedHost));
        }
        finally
        {
            metrics.AddStreamedBytes(StreamDirection.Upload, upload.BytesRead);
            metrics.AddStreamedBytes(StreamDirection.Download, download.BytesWritten);
        }

        if (error != ForwarderError.None)
        {
            await ReportAsync(context, error, target, bucket);
        }
    }

    /// <summary>YARP has set 502/504 (or cut the connection once headers were sent); say why, as every route does.</summary>
    private async Task ReportAsync(HttpContext context, ForwarderError error, S3ProxyTarget target, string bucket)
    {
        var method = context.Request.Method;
        var exception = context.Features.Get<IForwarderErrorFeature>()?.Exception;
        switch (error)
        {
            case ForwarderError.RequestTimedOut when !context.Response.HasStarted:
                logger.LogWarning("S3 proxy: {Origin} sent no response headers within {Timeout} for {Method} on bucket {Bucket}",
                    target.InternalOrigin, headersTimeout, method, bucket);
                await ApiErrors.WriteAsync(context, StatusCodes.Status504GatewayTimeout, $"S3 did not answer within {headersTimeout.TotalSeconds:0.###} s");
                break;
            case ForwarderError.Request when !context.Response.HasStarted:
                var socketError = (exception?.InnerException as SocketException)?.SocketErrorCode.ToString()
                    ?? (exception as HttpRequestException)?.HttpRequestError.ToString() ?? error.ToString();
                logger.LogWarning("S3 proxy: {Origin} unreachable for {Method} on bucket {Bucket}: {Error}", target.InternalOrigin, method, bucket, socketError);
                await ApiErrors.WriteAsync(context, StatusCodes.Status502BadGateway, $"S3 is unreachable ({socketError})");
                break;
            default:
                // The client went away, or a body was cut after the headers left: the only honest signal is a cut connection.
                logger.LogInformation("S3 proxy: {Method} on bucket {Bucket} ended early: {Error} ({Exception})", method, bucket, error, exception?.GetType().Name);
                context.Abort();
                break;
        }
    }

    /// <summary>
    /// From the raw request target, the part after <c>{PathBase}/s3</c> (starting with '/') and the query with its '?'.
    /// Null when the raw path does not name <paramref name="bucket"/> as its first segment or has dot segments
    /// (which the URL stack would collapse, so the forwarded path could leave the bucket).
    /// </summary>
    internal static (string PathAfterS3, string Query)? ForwardedPath(string rawTarget, PathString pathBase, string bucket)
    {
        var queryStart = rawTarget.IndexOf('?', StringComparison.Ordinal);
        var rawPath = queryStart < 0 ? rawTarget : rawTarget[..queryStart];
        var query = queryStart < 0 ? string.Empty : rawTarget[queryStart..];
        if (!rawPath.StartsWith('/'))
        {
            // absolute-form target (http://host/path): keep the path only
            var schemeEnd = rawPath.IndexOf("://", StringComparison.Ordinal);
            var pathStart = schemeEnd < 0 ? -1 : rawPath.IndexOf('/', schemeEnd + 3);
            if (pathStart < 0)
            {
                return null;
            }

            rawPath = rawPath[pathStart..];
        }

        var segments = rawPath.Split('/');
        var s3Index = 1 + (pathBase.Value?.Count(c => c == '/') ?? 0);
        if (segments.Length <= s3Index + 1
            || !string.Equals(segments[s3Index], "s3", StringComparison.OrdinalIgnoreCase)
            || !string.Equals(segments[s3Index + 1], bucket, StringComparison.Ordinal))
        {
            return null;
        }

        foreach (var segment in segments.AsSpan(s3Index + 1))
        {
            var decoded = Uri.UnescapeDataString(segment);
            if (decoded is "." or ".." || decoded.Contains('\\', StringComparison.Ordinal))
            {
                return null;
            }
        }

        return ("/" + string.Join('/', segments[(s3Index + 1)..]), query);
    }
}
