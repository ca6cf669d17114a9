using System.Buffers;
using System.Text;
using System.Text.Json;
using Microsoft.Extensions.Options;
using Microsoft.IdentityModel.JsonWebTokens;
using Microsoft.IdentityModel.Tokens;

namespace WorkspaceStorage.Api.Auth;

/// <summary>
/// Verifies Hypha's HS256 JWTs with Microsoft.IdentityModel.JsonWebTokens, the algorithm pinned: the header must say
/// exactly <c>HS256</c> and the library may use no other, so a token cannot choose <c>none</c> or another key type.
/// The library checks the signature, issuer, audience and lifetime (by the injected clock); this class adds the strict
/// compact form and Hypha's own claims (<c>sub</c>, the scope grammar, the roles list). Verified tokens are remembered
/// in a <see cref="VerifiedTokenCache"/>. Failures carry a short fixed detail and never the token.
/// </summary>
public sealed class HyphaTokenVerifier : IDisposable
{
    public const string RolesClaim = "https://amun.ai/roles";
    public const string EmailClaim = "https://amun.ai/email";

    /// <summary>An HS256 signature (32 bytes) in unpadded base64url.</summary>
    private const int SignatureChars = 43;

    /// <summary>The library refuses HMAC keys under 256 bits.</summary>
    private const int LibraryMinKeyBytes = 32;

    private static readonly SearchValues<char> Base64UrlAlphabet =
        SearchValues.Create("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_");

    private readonly HyphaAuthOptions options;
    private readonly TimeProvider time;
    private readonly JsonWebTokenHandler handler;
    private readonly TokenValidationParameters parameters;
    private readonly VerifiedTokenCache cache;

    public HyphaTokenVerifier(IOptions<HyphaAuthOptions> options, TimeProvider time)
    {
        this.options = options.Value;
        this.time = time;
        handler = new JsonWebTokenHandler { MaximumTokenSizeInBytes = this.options.MaxTokenLength };
        parameters = new TokenValidationParameters
        {
            ValidAlgorithms = [SecurityAlgorithms.HmacSha256],
            IssuerSigningKey = new SymmetricSecurityKey(SigningKey(this.options.JwtSecret ?? throw new InvalidOperationException("Hypha:JwtSecret is not configured"))),
            ValidIssuer = this.options.Issuer,
            ValidAudience = this.options.Audience,
            IgnoreTrailingSlashWhenValidatingAudience = false,
            RequireSignedTokens = true,
            RequireExpirationTime = true,
            LifetimeValidator = CheckLifetime,
            ClockSkew = this.options.ClockSkew,
            ValidateIssuerSigningKey = false, // the one configured key; nothing about it to check per token
            SaveSigninToken = false,
            LogValidationExceptions = false,
            ValidateTokenReplay = false,
        };
        cache = new VerifiedTokenCache(this.options.VerifiedTokenCacheSize);
    }

    public async ValueTask<TokenVerificationResult> VerifyAsync(string? token)
    {
        if (string.IsNullOrEmpty(token))
        {
            return Fail(TokenFailureReason.Malformed, "token is empty");
        }

        if (token.Length > options.MaxTokenLength)
        {
            return Fail(TokenFailureReason.TooLarge, "token is too large");
        }

        if (cache.TryGet(token, out var known) && !HasExpired(known.ExpiresAt!.Value))
        {
            return TokenVerificationResult.Success(known);
        }

        var result = CheckSegments(token) ?? await ValidateAsync(token);
        if (result.Principal is { } principal)
        {
            cache.Add(token, principal, principal.ExpiresAt!.Value + options.ClockSkew - time.GetUtcNow());
        }

        return result;
    }

    public void Dispose() => cache.Dispose();

    /// <summary>The one expiry rule, for fresh tokens and cached ones alike: refused from <c>exp + ClockSkew</c> on.</summary>
    private bool HasExpired(DateTimeOffset expiresAt) => time.GetUtcNow() >= expiresAt + options.ClockSkew;

    private async Task<TokenVerificationResult> ValidateAsync(string token)
    {
        JsonWebToken jwt;
        try
        {
            jwt = handler.ReadJsonWebToken(token);
        }
        catch (ArgumentException)
        {
            return Fail(TokenFailureReason.Malformed, "token header or payload is not a valid JSON object");
        }

        // Pinned before the library sees the token: the exact string, so "none", "hs256" or a non-string never pass.
        if (!jwt.TryGetHeaderValue<string>("alg", out var alg) || !string.Equals(alg, SecurityAlgorithms.HmacSha256, StringComparison.Ordinal))
        {
            return Fail(TokenFailureReason.UnsupportedAlgorithm, "token algorithm is not supported (only HS256)");
        }

        // RFC 7515: extensions listed in "crit" must be understood; this verifier understands none.
        if (jwt.TryGetHeaderValue<object>("crit", out _))
        {
            return Fail(TokenFailureReason.Malformed, "token header has unsupported critical extensions");
        }

        var signature = token.AsSpan(token.LastIndexOf('.') + 1);
        if (signature.Length != SignatureChars || !IsCanonicalBase64Url(signature))
        {
            return Fail(TokenFailureReason.BadSignature, "token signature is invalid");
        }

        var validation = await handler.ValidateTokenAsync(jwt, parameters);
        return validation.IsValid ? ReadPrincipal(jwt) : Refusal(validation.Exception);
    }

    private bool CheckLifetime(DateTime? notBefore, DateTime? expires, SecurityToken token, TokenValidationParameters validation)
    {
        if (expires is null)
        {
            throw new SecurityTokenNoExpirationException("token has no expiry");
        }

        if (HasExpired(new DateTimeOffset(expires.Value, TimeSpan.Zero)))
        {
            throw new SecurityTokenExpiredException("token has expired");
        }

        if (notBefore is { } start && time.GetUtcNow() + options.ClockSkew < new DateTimeOffset(start, TimeSpan.Zero))
        {
            throw new SecurityTokenNotYetValidException("token is not valid yet");
        }

        return true;
    }

    /// <summary>The library's refusal as one of the fixed reasons; its message (which may describe the token) is not used.</summary>
    private static TokenVerificationResult Refusal(Exception? exception) => exception switch
    {
        SecurityTokenInvalidSignatureException => Fail(TokenFailureReason.BadSignature, "token signature is invalid"),
        SecurityTokenInvalidAlgorithmException => Fail(TokenFailureReason.UnsupportedAlgorithm, "token algorithm is not supported (only HS256)"),
        SecurityTokenExpiredException => Fail(TokenFailureReason.Expired, "token has expired"),
        SecurityTokenNotYetValidException => Fail(TokenFailureReason.NotYetValid, "token is not valid yet"),
        SecurityTokenInvalidIssuerException => Fail(TokenFailureReason.WrongIssuer, "token issuer is not accepted"),
        SecurityTokenInvalidAudienceException => Fail(TokenFailureReason.WrongAudience, "token audience is not accepted"),
        SecurityTokenNoExpirationException => Fail(TokenFailureReason.Malformed, "token has no valid expiry (exp)"),
        _ => Fail(TokenFailureReason.Malformed, "token is malformed"),
    };

    /// <summary>Hypha's own claims, read once the library has vouched for the token.</summary>
    private static TokenVerificationResult ReadPrincipal(JsonWebToken jwt)
    {
        if (!jwt.TryGetPayloadValue<object>("sub", out var sub) || sub is not string { Length: > 0 } userId)
        {
            return Fail(TokenFailureReason.Malformed, "token has no subject (sub)");
        }

        jwt.TryGetPayloadValue<object>("scope", out var scopeClaim);
        if (scopeClaim is not (null or string or JsonElement { ValueKind: JsonValueKind.Null }))
        {
            return Fail(TokenFailureReason.MalformedScope, "token scope is not a string");
        }

        if (!WorkspaceScope.TryParse(scopeClaim as string, out var scope, out var scopeError))
        {
            return Fail(TokenFailureReason.MalformedScope, "token scope is malformed: " + scopeError);
        }

        if (!TryReadRoles(jwt, out var roles))
        {
            return Fail(TokenFailureReason.Malformed, "token roles claim is not a list of strings");
        }

        jwt.TryGetPayloadValue<object>(EmailClaim, out var email);
        return TokenVerificationResult.Success(new HyphaPrincipal
        {
            UserId = userId,
            Scope = scope,
            Roles = roles,
            Email = email as string,
            ExpiresAt = new DateTimeOffset(DateTime.SpecifyKind(jwt.ValidTo, DateTimeKind.Utc)),
        });
    }

    private static bool TryReadRoles(JsonWebToken jwt, out IReadOnlyList<string> roles)
    {
        roles = [];
        if (!jwt.TryGetPayloadValue<object>(RolesClaim, out var claim) || claim is null)
        {
            return true;
        }

        // The library hands claims it does not know over as the JSON element they are.
        if (claim is not JsonElement { ValueKind: JsonValueKind.Array } list || list.EnumerateArray().Any(item => item.ValueKind != JsonValueKind.String))
        {
            return false;
        }

        roles = [.. list.EnumerateArray().Select(item => item.GetString()!)];
        return true;
    }

    /// <summary>
    /// Three segments of unpadded, canonical base64url (RFC 7515 §2), so a token has exactly one spelling: the library's
    /// decoder ignores spare bits, which would let one signature be written four ways. The signature segment is checked
    /// once the header says HS256 (so a token for another algorithm is refused as such).
    /// </summary>
    private static TokenVerificationResult? CheckSegments(string token)
    {
        var firstDot = token.IndexOf('.', StringComparison.Ordinal);
        var secondDot = firstDot < 0 ? -1 : token.IndexOf('.', firstDot + 1);
        if (secondDot < 0 || token.IndexOf('.', secondDot + 1) >= 0)
        {
            return Fail(TokenFailureReason.Malformed, "token must have exactly three parts");
        }

        return IsCanonicalBase64Url(token.AsSpan(0, firstDot)) && IsCanonicalBase64Url(token.AsSpan(firstDot + 1, secondDot - firstDot - 1))
            ? null
            : Fail(TokenFailureReason.Malformed, "token is not valid base64url");
    }

    private static bool IsCanonicalBase64Url(ReadOnlySpan<char> text)
    {
        if (text.IsEmpty || text.Length % 4 == 1 || text.ContainsAnyExcept(Base64UrlAlphabet))
        {
            return false;
        }

        // The last character of a 2- or 3-character group carries 4 or 2 bits beyond the data; they must be zero.
        var spareBits = (text.Length % 4) switch { 2 => 0b1111, 3 => 0b11, _ => 0 };
        return (SextetOf(text[^1]) & spareBits) == 0;
    }

    private static int SextetOf(char c) => c switch
    {
        >= 'A' and <= 'Z' => c - 'A',
        >= 'a' and <= 'z' => c - 'a' + 26,
        >= '0' and <= '9' => c - '0' + 52,
        '-' => 62,
        _ => 63,
    };

    /// <summary>
    /// The secret's UTF-8 bytes, zero-padded to the library's 256-bit minimum. HMAC pads every key shorter than its block
    /// (64 bytes) with zeros itself (RFC 2104), so the MAC is unchanged and Hypha's shorter secrets keep working.
    /// </summary>
    private static byte[] SigningKey(string secret)
    {
        var bytes = Encoding.UTF8.GetBytes(secret);
        return bytes.Length >= LibraryMinKeyBytes ? bytes : [.. bytes, .. new byte[LibraryMinKeyBytes - bytes.Length]];
    }

    private static TokenVerificationResult Fail(TokenFailureReason reason, string detail) => TokenVerificationResult.Fail(reason, detail);
}
