using System.Buffers.Text;
using System.Security.Cryptography;
using System.Text;
using System.Text.Json;
using Microsoft.Extensions.Options;

namespace WorkspaceStorage.Api.Auth;

/// <summary>
/// Verifies Hypha's HS256 JWTs by hand. A general JWT library would decide the algorithm from the token's own
/// header; here the only accepted header is <c>alg: HS256</c>, the signature is compared in constant time before
/// any claim is trusted, and every claim Hypha relies on is checked. Failures carry a short fixed reason and never
/// the token.
/// </summary>
public sealed class HyphaTokenVerifier
{
    public const string RolesClaim = "https://amun.ai/roles";
    public const string EmailClaim = "https://amun.ai/email";

    private const int Sha256Bytes = 32;

    private static readonly JsonDocumentOptions JsonOptions = new() { MaxDepth = 16, AllowDuplicateProperties = false };

    private readonly byte[] secret;
    private readonly HyphaAuthOptions options;
    private readonly TimeProvider time;

    public HyphaTokenVerifier(IOptions<HyphaAuthOptions> options, TimeProvider time)
    {
        this.options = options.Value;
        this.time = time;
        secret = Encoding.UTF8.GetBytes(this.options.JwtSecret ?? throw new InvalidOperationException("Hypha:JwtSecret is not configured"));
    }

    public TokenVerificationResult Verify(string? token)
    {
        if (string.IsNullOrEmpty(token))
        {
            return Fail(TokenFailureReason.Malformed, "token is empty");
        }

        if (token.Length > options.MaxTokenLength)
        {
            return Fail(TokenFailureReason.TooLarge, "token is too large");
        }

        var firstDot = token.IndexOf('.', StringComparison.Ordinal);
        var secondDot = firstDot < 0 ? -1 : token.IndexOf('.', firstDot + 1);
        if (secondDot < 0 || token.IndexOf('.', secondDot + 1) >= 0)
        {
            return Fail(TokenFailureReason.Malformed, "token must have exactly three parts");
        }

        var headerText = token.AsSpan(0, firstDot);
        var payloadText = token.AsSpan(firstDot + 1, secondDot - firstDot - 1);
        var signatureText = token.AsSpan(secondDot + 1);

        if (!TryDecode(headerText, out var headerBytes) || !TryDecode(payloadText, out var payloadBytes))
        {
            return Fail(TokenFailureReason.Malformed, "token is not valid base64url");
        }

        var headerCheck = CheckHeader(headerBytes);
        if (headerCheck is not null)
        {
            return headerCheck;
        }

        if (!TryDecode(signatureText, out var signature) || signature.Length != Sha256Bytes)
        {
            return Fail(TokenFailureReason.BadSignature, "token signature is invalid");
        }

        // The signing input is the first two parts exactly as sent; they are known to be ASCII here.
        var expected = HMACSHA256.HashData(secret, Encoding.ASCII.GetBytes(token, 0, secondDot));
        if (!CryptographicOperations.FixedTimeEquals(expected, signature))
        {
            return Fail(TokenFailureReason.BadSignature, "token signature is invalid");
        }

        return ReadClaims(payloadBytes);
    }

    private static TokenVerificationResult? CheckHeader(byte[] headerBytes)
    {
        try
        {
            using var header = JsonDocument.Parse(headerBytes, JsonOptions);
            if (header.RootElement.ValueKind != JsonValueKind.Object)
            {
                return Fail(TokenFailureReason.Malformed, "token header is not a JSON object");
            }

            if (!header.RootElement.TryGetProperty("alg", out var alg) || alg.ValueKind != JsonValueKind.String || alg.GetString() != "HS256")
            {
                return Fail(TokenFailureReason.UnsupportedAlgorithm, "token algorithm is not supported (only HS256)");
            }

            // RFC 7515: extensions listed in "crit" must be understood; this verifier understands none.
            if (header.RootElement.TryGetProperty("crit", out _))
            {
                return Fail(TokenFailureReason.Malformed, "token header has unsupported critical extensions");
            }

            return null;
        }
        catch (JsonException)
        {
            return Fail(TokenFailureReason.Malformed, "token header is not valid JSON");
        }
    }

    private TokenVerificationResult ReadClaims(byte[] payloadBytes)
    {
        try
        {
            using var payload = JsonDocument.Parse(payloadBytes, JsonOptions);
            var claims = payload.RootElement;
            if (claims.ValueKind != JsonValueKind.Object)
            {
                return Fail(TokenFailureReason.Malformed, "token payload is not a JSON object");
            }

            if (!TryGetNumericDate(claims, "exp", out var expiresAt, out var expPresent) || !expPresent)
            {
                return Fail(TokenFailureReason.Malformed, "token has no valid expiry (exp)");
            }

            var now = time.GetUtcNow();
            if (now >= expiresAt + options.ClockSkew)
            {
                return Fail(TokenFailureReason.Expired, "token has expired");
            }

            if (!TryGetNumericDate(claims, "nbf", out var notBefore, out var nbfPresent))
            {
                return Fail(TokenFailureReason.Malformed, "token has an invalid not-before (nbf)");
            }

            if (nbfPresent && now + options.ClockSkew < notBefore)
            {
                return Fail(TokenFailureReason.NotYetValid, "token is not valid yet");
            }

            if (!claims.TryGetProperty("iss", out var iss) || iss.ValueKind != JsonValueKind.String || iss.GetString() != options.Issuer)
            {
                return Fail(TokenFailureReason.WrongIssuer, "token issuer is not accepted");
            }

            if (!HasAudience(claims, options.Audience))
            {
                return Fail(TokenFailureReason.WrongAudience, "token audience is not accepted");
            }

            if (!claims.TryGetProperty("sub", out var sub) || sub.ValueKind != JsonValueKind.String || string.IsNullOrEmpty(sub.GetString()))
            {
                return Fail(TokenFailureReason.Malformed, "token has no subject (sub)");
            }

            string? scopeText = null;
            if (claims.TryGetProperty("scope", out var scopeClaim) && scopeClaim.ValueKind != JsonValueKind.Null)
            {
                if (scopeClaim.ValueKind != JsonValueKind.String)
                {
                    return Fail(TokenFailureReason.MalformedScope, "token scope is not a string");
                }

                scopeText = scopeClaim.GetString();
            }

            if (!WorkspaceScope.TryParse(scopeText, out var scope, out var scopeError))
            {
                return Fail(TokenFailureReason.MalformedScope, "token scope is malformed: " + scopeError);
            }

            if (!TryGetRoles(claims, out var roles))
            {
                return Fail(TokenFailureReason.Malformed, "token roles claim is not a list of strings");
            }

            string? email = null;
            if (claims.TryGetProperty(EmailClaim, out var emailClaim) && emailClaim.ValueKind == JsonValueKind.String)
            {
                email = emailClaim.GetString();
            }

            return TokenVerificationResult.Success(new HyphaPrincipal
            {
                UserId = sub.GetString()!,
                Scope = scope,
                Roles = roles,
                Email = email,
                ExpiresAt = expiresAt,
            });
        }
        catch (JsonException)
        {
            return Fail(TokenFailureReason.Malformed, "token payload is not valid JSON");
        }
    }

    /// <summary>Reads a NumericDate claim (seconds since the epoch, integer or fraction). Absent is fine; anything else is not.</summary>
    private static bool TryGetNumericDate(JsonElement claims, string name, out DateTimeOffset value, out bool present)
    {
        value = default;
        present = claims.TryGetProperty(name, out var claim);
        if (!present)
        {
            return true;
        }

        // ±1e11 s is about ±3000 years: beyond that DateTimeOffset overflows and no real token goes there.
        if (claim.ValueKind != JsonValueKind.Number || !claim.TryGetDouble(out var seconds) || !double.IsFinite(seconds) || Math.Abs(seconds) > 1e11)
        {
            return false;
        }

        value = DateTimeOffset.UnixEpoch.AddSeconds(seconds);
        return true;
    }

    private static bool HasAudience(JsonElement claims, string expected)
    {
        if (!claims.TryGetProperty("aud", out var aud))
        {
            return false;
        }

        if (aud.ValueKind == JsonValueKind.String)
        {
            return aud.GetString() == expected;
        }

        if (aud.ValueKind == JsonValueKind.Array)
        {
            foreach (var item in aud.EnumerateArray())
            {
                if (item.ValueKind == JsonValueKind.String && item.GetString() == expected)
                {
                    return true;
                }
            }
        }

        return false;
    }

    private static bool TryGetRoles(JsonElement claims, out IReadOnlyList<string> roles)
    {
        roles = [];
        if (!claims.TryGetProperty(RolesClaim, out var claim) || claim.ValueKind == JsonValueKind.Null)
        {
            return true;
        }

        if (claim.ValueKind != JsonValueKind.Array)
        {
            return false;
        }

        var list = new List<string>();
        foreach (var item in claim.EnumerateArray())
        {
            if (item.ValueKind != JsonValueKind.String)
            {
                return false;
            }

            list.Add(item.GetString()!);
        }

        roles = list;
        return true;
    }

    /// <summary>
    /// Strict base64url: only the URL alphabet, no padding, no whitespace, and the canonical encoding only
    /// (non-zero spare bits are refused), so one signature has exactly one spelling.
    /// </summary>
    internal static bool TryDecode(ReadOnlySpan<char> text, out byte[] bytes)
    {
        bytes = [];
        if (text.Length % 4 == 1)
        {
            return false;
        }

        foreach (var c in text)
        {
            if (c is not (>= 'A' and <= 'Z' or >= 'a' and <= 'z' or >= '0' and <= '9' or '-' or '_'))
            {
                return false;
            }
        }

        try
        {
            bytes = Base64Url.DecodeFromChars(text);
        }
        catch (FormatException)
        {
            return false;
        }

        return text.SequenceEqual(Base64Url.EncodeToString(bytes));
    }

    private static TokenVerificationResult Fail(TokenFailureReason reason, string detail) => TokenVerificationResult.Fail(reason, detail);
}
