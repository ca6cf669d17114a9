using System.Buffers.Text;
using System.Security.Cryptography;
using System.Text;
using System.Text.Json;

namespace WorkspaceStorage.Testing.Hypha;

/// <summary>
/// Mints Hypha-style JWTs for tests, good ones and forged ones. Good tokens look like Hypha's own
/// (<c>iss</c>, <c>aud</c>, <c>sub</c>, <c>iat</c>, <c>exp</c>, <c>scope</c>, <c>gty</c>, the amun.ai roles/email claims),
/// signed HS256 with <see cref="Secret"/>. <see cref="Sign"/> signs any header/claims with any HMAC or none,
/// so tests can build every attack on the verifier.
/// </summary>
public sealed class HyphaTokenFactory(string secret, TimeProvider? time = null)
{
    public const string DefaultIssuer = "https://amun.ai/";
    public const string DefaultAudience = "https://amun-ai.eu.auth0.com/api/v2/";
    public const string RolesClaim = "https://amun.ai/roles";
    public const string EmailClaim = "https://amun.ai/email";

    private readonly TimeProvider time = time ?? TimeProvider.System;

    public string Secret { get; } = secret;

    public string Issuer { get; init; } = DefaultIssuer;

    public string Audience { get; init; } = DefaultAudience;

    /// <summary>A random secret long enough for the verifier's minimum.</summary>
    public static string NewSecret() => Convert.ToBase64String(RandomNumberGenerator.GetBytes(32));

    /// <summary>A valid token granting <paramref name="permission"/> (r, rw, a) on <paramref name="workspace"/>, with wid/cid entries.</summary>
    public string ForWorkspace(string workspace, string permission, string userId = "github|12345", TimeSpan? lifetime = null) =>
        Create(userId, $"ws:{workspace}#{permission} wid:{workspace} cid:{workspace}/client-1", lifetime);

    /// <summary>A valid HS256 token with Hypha's claim set and the given scope string.</summary>
    public string Create(string userId, string scope, TimeSpan? lifetime = null, IReadOnlyList<string>? roles = null, string? email = "user@example.org") =>
        Sign(HS256Header(), Claims(userId, scope, lifetime, roles, email));

    /// <summary>Hypha's claim set, for tests that change one claim before signing.</summary>
    public Dictionary<string, object?> Claims(string userId, string scope, TimeSpan? lifetime = null, IReadOnlyList<string>? roles = null, string? email = "user@example.org")
    {
        var now = time.GetUtcNow();
        return new Dictionary<string, object?>
        {
            ["iss"] = Issuer,
            ["sub"] = userId,
            ["aud"] = Audience,
            ["iat"] = now.ToUnixTimeSeconds(),
            ["exp"] = (now + (lifetime ?? TimeSpan.FromHours(1))).ToUnixTimeSeconds(),
            ["scope"] = scope,
            ["gty"] = "client-credentials",
            [RolesClaim] = roles ?? [],
            [EmailClaim] = email,
        };
    }

    public static Dictionary<string, object?> HS256Header() => new() { ["alg"] = "HS256", ["typ"] = "JWT" };

    /// <summary>
    /// Encodes header and claims and signs them: HS256/HS384/HS512 headers are signed with that HMAC (so an
    /// "HS384 with the right secret" token is genuinely valid HS384), <c>none</c> gets an empty signature, anything
    /// else 32 random bytes. <paramref name="secretOverride"/> signs with another secret.
    /// </summary>
    public string Sign(IReadOnlyDictionary<string, object?> header, IReadOnlyDictionary<string, object?> claims, string? secretOverride = null) =>
        SignRaw(JsonSerializer.Serialize(header), JsonSerializer.Serialize(claims), header.TryGetValue("alg", out var alg) ? alg as string : null, secretOverride);

    /// <summary>Like <see cref="Sign"/> but with the JSON text given verbatim (for duplicate keys and other malformed JSON).</summary>
    public string SignRaw(string headerJson, string claimsJson, string? algorithm = "HS256", string? secretOverride = null)
    {
        var signingInput = Base64UrlText(Encoding.UTF8.GetBytes(headerJson)) + "." + Base64UrlText(Encoding.UTF8.GetBytes(claimsJson));
        var key = Encoding.UTF8.GetBytes(secretOverride ?? Secret);
        var data = Encoding.ASCII.GetBytes(signingInput);
        byte[] signature = algorithm switch
        {
            "HS256" => HMACSHA256.HashData(key, data),
            "HS384" => HMACSHA384.HashData(key, data),
            "HS512" => HMACSHA512.HashData(key, data),
            "none" => [],
            _ => RandomNumberGenerator.GetBytes(32),
        };
        return signingInput + "." + Base64UrlText(signature);
    }

    public static string Base64UrlText(byte[] bytes) => Base64Url.EncodeToString(bytes);
}
