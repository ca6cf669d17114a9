using System.Text;
using Microsoft.Extensions.Primitives;

namespace WorkspaceStorage.Api.Auth;

/// <summary>Where a token came from.</summary>
public enum TokenSource
{
    None,
    Bearer,
    Basic,
    Cookie,
}

/// <summary>The outcome of looking for a token: none, one token, or a request that carries credentials in a broken way.</summary>
public readonly record struct ExtractedToken(TokenSource Source, string? Token, string? Error)
{
    public static ExtractedToken None => new(TokenSource.None, null, null);
}

/// <summary>
/// Finds the Hypha token in a request, in Hypha's precedence: <c>Authorization: Bearer &lt;t&gt;</c>,
/// <c>Authorization: Basic base64(user:t)</c> (the token is the password), then the <c>access_token</c> cookie.
/// An Authorization header that is present but unusable is an error, not "anonymous": falling back to fewer
/// rights silently would hide a broken client.
/// </summary>
public static class TokenExtractor
{
    public const string CookieName = "access_token";

    /// <remarks>
    /// The cookie counts only for GET and HEAD. CORS echoes any origin with credentials (as Hypha does), so a cookie
    /// honoured on writes would let any web page upload or delete as a signed-in user; writes need a header.
    /// </remarks>
    public static ExtractedToken Extract(HttpRequest request) =>
        Extract(request.Headers.Authorization, IsSafeMethod(request.Method) ? request.Cookies[CookieName] : null);

    private static bool IsSafeMethod(string method) => HttpMethods.IsGet(method) || HttpMethods.IsHead(method);

    public static ExtractedToken Extract(StringValues authorization, string? cookie)
    {
        if (authorization.Count > 1)
        {
            return Error("only one Authorization header is allowed");
        }

        var header = authorization.Count == 1 ? authorization[0] : null;
        if (!string.IsNullOrWhiteSpace(header))
        {
            return FromAuthorization(header.Trim());
        }

        return string.IsNullOrEmpty(cookie) ? ExtractedToken.None : new ExtractedToken(TokenSource.Cookie, cookie, null);
    }

    private static ExtractedToken FromAuthorization(string header)
    {
        var space = header.IndexOf(' ', StringComparison.Ordinal);
        var scheme = space < 0 ? header : header[..space];
        var value = space < 0 ? string.Empty : header[(space + 1)..].Trim();

        if (scheme.Equals("Bearer", StringComparison.OrdinalIgnoreCase))
        {
            if (value.Length == 0)
            {
                return Error("bearer token is missing");
            }

            return value.Any(char.IsWhiteSpace) ? Error("bearer token must not contain spaces") : new ExtractedToken(TokenSource.Bearer, value, null);
        }

        if (scheme.Equals("Basic", StringComparison.OrdinalIgnoreCase))
        {
            return FromBasic(value);
        }

        return Error("unsupported authorization scheme (use Bearer or Basic)");
    }

    private static ExtractedToken FromBasic(string value)
    {
        var buffer = new byte[(value.Length * 3 / 4) + 3];
        if (value.Length == 0 || !Convert.TryFromBase64String(value, buffer, out var written))
        {
            return Error("basic credentials are not valid base64");
        }

        string decoded;
        try
        {
            decoded = new UTF8Encoding(false, throwOnInvalidBytes: true).GetString(buffer, 0, written);
        }
        catch (DecoderFallbackException)
        {
            return Error("basic credentials are not valid UTF-8");
        }

        var colon = decoded.IndexOf(':', StringComparison.Ordinal);
        var password = colon < 0 ? string.Empty : decoded[(colon + 1)..];
        return password.Length == 0
            ? Error("basic credentials must carry the token as the password")
            : new ExtractedToken(TokenSource.Basic, password, null);
    }

    private static ExtractedToken Error(string reason) => new(TokenSource.None, null, reason);
}
