using System.Net.Http.Headers;
using Microsoft.Extensions.Primitives;
using Yarp.ReverseProxy.Forwarder;

namespace WorkspaceStorage.Api.Proxy;

/// <summary>
/// What the <c>/s3</c> proxy forwards, each way. Request: the raw target URI as built by the forwarder, the client's
/// headers minus hop-by-hop ones and those a client must not choose, <c>Host</c> = the signed host, nothing added
/// (YARP's default transformer would add <c>X-Forwarded-*</c>, which RGW may trust). Response: S3's headers minus
/// hop-by-hop and CORS ones (the API's CORS policy answers for <c>/s3</c>), <c>Vary</c> joined to the API's own.
/// </summary>
internal sealed class S3ProxyTransformer(Uri targetUri, string signedHost) : HttpTransformer
{
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

    public override ValueTask TransformRequestAsync(HttpContext httpContext, HttpRequestMessage proxyRequest, string destinationPrefix,
        CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(httpContext);
        ArgumentNullException.ThrowIfNull(proxyRequest);
        var request = httpContext.Request;
        proxyRequest.RequestUri = targetUri;
        if (proxyRequest.Content is not null && request.ContentLength is { } length)
        {
            proxyRequest.Content.Headers.ContentLength = length;
        }

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

            if (!proxyRequest.Headers.TryAddWithoutValidation(name, (IEnumerable<string?>)values))
            {
                // Content-* headers belong to the content; without a body there is nothing to describe.
                proxyRequest.Content?.Headers.TryAddWithoutValidation(name, (IEnumerable<string?>)values);
            }
        }

        proxyRequest.Headers.Host = signedHost;
        return ValueTask.CompletedTask;
    }

    public override ValueTask<bool> TransformResponseAsync(HttpContext httpContext, HttpResponseMessage? proxyResponse,
        CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(httpContext);
        if (proxyResponse is null)
        {
            return ValueTask.FromResult(false);
        }

        var response = httpContext.Response;
        var connectionListed = new HashSet<string>(proxyResponse.Headers.Connection, StringComparer.OrdinalIgnoreCase);
        CopyResponseHeaders(proxyResponse.Headers, response.Headers, connectionListed);
        CopyResponseHeaders(proxyResponse.Content.Headers, response.Headers, connectionListed);
        if (proxyResponse.Content.Headers.ContentLength is { } length && response.StatusCode is not (204 or < 200))
        {
            response.ContentLength = length;
        }

        return ValueTask.FromResult(true);
    }

    // S3 sends no trailers; none of the client's reach it either.
    public override ValueTask TransformResponseTrailersAsync(HttpContext httpContext, HttpResponseMessage proxyResponse,
        CancellationToken cancellationToken) => ValueTask.CompletedTask;

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

    private static void CopyResponseHeaders(HttpHeaders from, IHeaderDictionary to, HashSet<string> connectionListed)
    {
        foreach (var (name, values) in from.NonValidated)
        {
            if (ResponseHeadersNotCopied.Contains(name) || connectionListed.Contains(name) || name.StartsWith("Access-Control-", StringComparison.OrdinalIgnoreCase))
            {
                continue;
            }

            var copied = values.Count == 1 ? new StringValues(values.ToString()) : new StringValues([.. values]);
            // CORS already said "Vary: Origin"; S3's Vary adds to it rather than replacing it.
            to[name] = string.Equals(name, "Vary", StringComparison.OrdinalIgnoreCase) ? StringValues.Concat(to[name], copied) : copied;
        }
    }
}
