using System.Globalization;

namespace WorkspaceStorage.Core.Signing;

/// <summary>Signs an <see cref="HttpRequestMessage"/> in place with SigV4 (Authorization header).</summary>
public static class HttpRequestSigning
{
    /// <summary>
    /// Adds x-amz-date, x-amz-content-sha256, the session token if any, and Authorization.
    /// Signs host, every x-amz-* header, and content-type / content-md5 when present.
    /// </summary>
    /// <remarks>Create the request URI with <see cref="UnescapedUri"/> so the path goes on the wire exactly as signed.</remarks>
    public static void Sign(this SigV4Signer signer, HttpRequestMessage request, AwsCredentials credentials, SigV4Scope scope,
        string payloadHash, DateTimeOffset time)
    {
        var uri = request.RequestUri ?? throw new ArgumentException("the request has no URI", nameof(request));
        request.Headers.Remove("x-amz-date");
        request.Headers.Remove("x-amz-content-sha256");
        request.Headers.Remove("x-amz-security-token");
        request.Headers.TryAddWithoutValidation("x-amz-date", time.UtcDateTime.ToString(SigV4Signer.DateFormat, CultureInfo.InvariantCulture));
        request.Headers.TryAddWithoutValidation("x-amz-content-sha256", payloadHash);
        if (credentials.SessionToken is not null)
        {
            request.Headers.TryAddWithoutValidation("x-amz-security-token", credentials.SessionToken);
        }

        var headers = new List<KeyValuePair<string, string>> { new("host", uri.IsDefaultPort ? uri.Host : $"{uri.Host}:{uri.Port}") };
        foreach (var header in request.Headers)
        {
            if (header.Key.StartsWith("x-amz-", StringComparison.OrdinalIgnoreCase))
            {
                headers.Add(new(header.Key, string.Join(',', header.Value)));
            }
        }

        if (request.Content is { } content)
        {
            if (content.Headers.ContentType is { } type)
            {
                headers.Add(new("content-type", type.ToString()));
            }

            if (content.Headers.ContentMD5 is { } md5)
            {
                headers.Add(new("content-md5", Convert.ToBase64String(md5)));
            }
        }

        var signable = new SigV4Request(request.Method.Method, headers[0].Value, uri.AbsolutePath, ParseQuery(uri.Query), headers, payloadHash);
        request.Headers.Remove("Authorization");
        request.Headers.TryAddWithoutValidation("Authorization", signer.ComputeAuthorization(signable, credentials, scope, time));
    }

    /// <summary>A URI whose path and query are kept byte for byte (no dot-segment removal, no re-escaping), as SigV4 needs.</summary>
    public static Uri UnescapedUri(string url) =>
        new(url, new UriCreationOptions { DangerousDisablePathAndQueryCanonicalization = true });

    /// <summary>Splits a raw query string into unescaped pairs; a bare key ("?uploads") has an empty value.</summary>
    public static IReadOnlyList<KeyValuePair<string, string>> ParseQuery(string query)
    {
        var trimmed = query.StartsWith('?') ? query[1..] : query;
        if (trimmed.Length == 0)
        {
            return [];
        }

        var pairs = new List<KeyValuePair<string, string>>();
        foreach (var part in trimmed.Split('&', StringSplitOptions.RemoveEmptyEntries))
        {
            var eq = part.IndexOf('=', StringComparison.Ordinal);
            var key = eq < 0 ? part : part[..eq];
            var value = eq < 0 ? string.Empty : part[(eq + 1)..];
            pairs.Add(new(Uri.UnescapeDataString(key.Replace('+', ' ')), Uri.UnescapeDataString(value.Replace('+', ' '))));
        }

        return pairs;
    }
}
