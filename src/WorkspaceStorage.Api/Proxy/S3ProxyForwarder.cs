using System.Buffers;
using System.Net.Sockets;
using Microsoft.AspNetCore.Diagnostics;
using Microsoft.AspNetCore.Http.Features;
using Microsoft.Extensions.Options;
using Microsoft.Extensions.Primitives;
using WorkspaceStorage.Api.Errors;
using WorkspaceStorage.Api.Hosting;

namespace WorkspaceStorage.Api.Proxy;

/// <summary>
/// Forwards <c>/s3/{bucket}/{key}</c> to the bucket's INTERNAL S3 endpoint, exactly as the client sent it: the raw
/// path and query (never decoded and re-encoded), the client's headers minus hop-by-hop ones, and <c>Host</c> set to
/// the PUBLIC host the URL was signed for, so S3 verifies the client's own SigV4 signature. The proxy adds no
/// credentials: the signature is the only access control, and S3's answer (403 included) passes through.
/// Bodies stream both ways; only the wait for S3's response headers is bounded.
/// </summary>
public sealed class S3ProxyForwarder(
    S3ProxyTransport transport,
    IS3ProxyTargets targets,
    IOptions<ApiOptions> api,
    ApiMetrics metrics,
    ILogger<S3ProxyForwarder> logger)
{
    private const int CopyBufferSize = 64 * 1024;

    // Connection-level headers (RFC 9110 §7.6.1) and ones this hop must not relay.
    private static readonly HashSet<string> RequestHeadersNotForwarded = new(StringComparer.OrdinalIgnoreCase)
    {
        "Host", "Connection", "Keep-Alive", "Proxy-Connection", "Proxy-Authorization", "TE", "Trailer", "Transfer-Encoding",
        "Upgrade", "Expect", "Content-Length",
        // The API's own session (Hypha token cookie) is not S3's business.
        "Cookie",
        // RGW trusts these for scheme/client decisions when configured to; a client must not choose them.
        "Forwarded", "X-Forwarded-For", "X-Forwarded-Proto", "X-Forwarded-Host", "X-Forwarded-Port", "X-Real-IP",
    };

    private static readonly HashSet<string> ResponseHeadersNotCopied = new(StringComparer.OrdinalIgnoreCase)
    {
        "Connection", "Keep-Alive", "Proxy-Connection", "Proxy-Authenticate", "TE", "Trailer", "Transfer-Encoding", "Upgrade",
        "Content-Length", // set through Response.ContentLength
    };

    private readonly TimeSpan headersTimeout = api.Value.S3Proxy.ResponseHeadersTimeout;

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

        using var headerTimeout = CancellationTokenSource.CreateLinkedTokenSource(context.RequestAborted);
        ObservedRequestBody? body = null;
        using var message = new HttpRequestMessage(new HttpMethod(request.Method), targetUri);
        if (request.ContentLength is { } length && (hasBody || length == 0))
        {
            body = new ObservedRequestBody(request.Body, () => headerTimeout.CancelAfter(headersTimeout));
            message.Content = new StreamContent(body, CopyBufferSize) { Headers = { ContentLength = length } };
        }

        CopyRequestHeaders(request, message);
        message.Headers.Host = target.SignedHost;
        if (body is null || request.ContentLength == 0)
        {
            headerTimeout.CancelAfter(headersTimeout);
        }

        HttpResponseMessage upstream;
        try
        {
            upstream = await transport.Client.SendAsync(message, HttpCompletionOption.ResponseHeadersRead, headerTimeout.Token);
        }
        catch (Exception ex) when (context.RequestAborted.IsCancellationRequested || body?.ClientFailed == true)
        {
            logger.LogInformation("S3 proxy: client went away during {Method} on bucket {Bucket}: {Error}", request.Method, bucket, ex.GetType().Name);
            metrics.AddStreamedBytes(StreamDirection.Upload, body?.BytesRead ?? 0);
            context.Abort();
            return;
        }
        catch (OperationCanceledException)
        {
            logger.LogWarning("S3 proxy: {Origin} sent no response headers within {Timeout} for {Method} on bucket {Bucket}",
                target.InternalOrigin, headersTimeout, request.Method, bucket);
            await ApiErrors.WriteAsync(context, StatusCodes.Status504GatewayTimeout, $"S3 did not answer within {headersTimeout.TotalSeconds:0.###} s");
            return;
        }
        catch (HttpRequestException ex)
        {
            var socketError = (ex.InnerException as SocketException)?.SocketErrorCode.ToString() ?? ex.HttpRequestError.ToString();
            logger.LogWarning("S3 proxy: {Origin} unreachable for {Method} on bucket {Bucket}: {Error}", target.InternalOrigin, request.Method, bucket, socketError);
            await ApiErrors.WriteAsync(context, StatusCodes.Status502BadGateway, $"S3 is unreachable ({socketError})");
            return;
        }

        using (upstream)
        {
            metrics.AddStreamedBytes(StreamDirection.Upload, body?.BytesRead ?? 0);
            await RelayResponseAsync(context, upstream, bucket);
        }
    }

    private async Task RelayResponseAsync(HttpContext context, HttpResponseMessage upstream, string bucket)
    {
        var response = context.Response;
        response.StatusCode = (int)upstream.StatusCode;
        var connectionListed = new HashSet<string>(upstream.Headers.Connection, StringComparer.OrdinalIgnoreCase);
        CopyResponseHeaders(upstream.Headers, response.Headers, connectionListed);
        CopyResponseHeaders(upstream.Content.Headers, response.Headers, connectionListed);
        var bodyless = HttpMethods.IsHead(context.Request.Method) || response.StatusCode is 204 or 304 || response.StatusCode < 200;
        if (upstream.Content.Headers.ContentLength is { } length && response.StatusCode is not (204 or < 200))
        {
            response.ContentLength = length;
        }

        if (bodyless)
        {
            return;
        }

        context.Features.Get<IHttpResponseBodyFeature>()?.DisableBuffering();
        long copied = 0;
        var buffer = ArrayPool<byte>.Shared.Rent(CopyBufferSize);
        try
        {
            await using var source = await upstream.Content.ReadAsStreamAsync(context.RequestAborted);
            int n;
            while ((n = await source.ReadAsync(buffer, context.RequestAborted)) > 0)
            {
                await response.Body.WriteAsync(buffer.AsMemory(0, n), context.RequestAborted);
                copied += n;
            }
        }
        catch (Exception ex) when (ex is IOException or OperationCanceledException or HttpRequestException)
        {
            // Headers are gone already: the only honest signal left is a cut connection.
            logger.LogInformation("S3 proxy: response body for bucket {Bucket} cut after {Bytes} bytes: {Error}", bucket, copied, ex.GetType().Name);
            context.Abort();
        }
        finally
        {
            ArrayPool<byte>.Shared.Return(buffer);
            metrics.AddStreamedBytes(StreamDirection.Download, copied);
        }
    }

    private static void CopyRequestHeaders(HttpRequest request, HttpRequestMessage message)
    {
        var connectionListed = ConnectionTokens(request.Headers.Connection);
        foreach (var (name, values) in request.Headers)
        {
            if (RequestHeadersNotForwarded.Contains(name) || connectionListed.Contains(name))
            {
                continue;
            }

            if (string.Equals(name, "Authorization", StringComparison.OrdinalIgnoreCase) && !IsAwsSignature(values))
            {
                continue; // a Hypha bearer token must not reach S3; an S3 signature header must
            }

            if (!message.Headers.TryAddWithoutValidation(name, (IEnumerable<string?>)values))
            {
                // Content-* headers belong to the content; without a body there is nothing to describe.
                message.Content?.Headers.TryAddWithoutValidation(name, (IEnumerable<string?>)values);
            }
        }
    }

    private static bool IsAwsSignature(StringValues values) =>
        values.Count == 1 && values[0] is { } value
        && (value.StartsWith("AWS4-", StringComparison.Ordinal) || value.StartsWith("AWS ", StringComparison.Ordinal));

    private static HashSet<string> ConnectionTokens(StringValues connection)
    {
        var tokens = new HashSet<string>(StringComparer.OrdinalIgnoreCase);
        foreach (var value in connection)
        {
            foreach (var token in (value ?? string.Empty).Split(',', StringSplitOptions.TrimEntries | StringSplitOptions.RemoveEmptyEntries))
            {
                tokens.Add(token);
            }
        }

        return tokens;
    }

    private static void CopyResponseHeaders(System.Net.Http.Headers.HttpHeaders from, IHeaderDictionary to, HashSet<string> connectionListed)
    {
        foreach (var (name, values) in from.NonValidated)
        {
            // The API's CORS policy answers for /s3 as for every route; S3's own CORS headers would contradict it.
            if (ResponseHeadersNotCopied.Contains(name) || connectionListed.Contains(name) || name.StartsWith("Access-Control-", StringComparison.OrdinalIgnoreCase))
            {
                continue;
            }

            var copied = values.Count == 1 ? new StringValues(values.ToString()) : new StringValues([.. values]);
            // CORS already said "Vary: Origin"; S3's Vary adds to it rather than replacing it.
            to[name] = string.Equals(name, "Vary", StringComparison.OrdinalIgnoreCase) ? StringValues.Concat(to[name], copied) : copied;
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
