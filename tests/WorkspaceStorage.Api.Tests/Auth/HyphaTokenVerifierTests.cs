using Microsoft.Extensions.Options;
using WorkspaceStorage.Api.Auth;
using WorkspaceStorage.Api.Tests.Host;
using WorkspaceStorage.Testing.Hypha;

namespace WorkspaceStorage.Api.Tests.Auth;

/// <summary>The verifier on its own: every way to forge or garble a token, and what a good one yields.</summary>
public sealed class HyphaTokenVerifierTests
{
    private static readonly DateTimeOffset Now = new(2026, 11, 23, 12, 0, 0, TimeSpan.Zero);

    private readonly string secret = HyphaTokenFactory.NewSecret();
    private readonly ManualTimeProvider clock = new(Now);
    private readonly HyphaTokenFactory tokens;
    private readonly HyphaTokenVerifier verifier;

    public HyphaTokenVerifierTests()
    {
        tokens = new HyphaTokenFactory(secret, clock);
        verifier = Verifier(new HyphaAuthOptions { JwtSecret = secret });
    }

    [Fact]
    public void Valid_token_yields_user_scope_roles_and_email()
    {
        var token = tokens.Create("github|12345", "ws:ws-user-github|12345#a ws:shared-data#r wid:ws-user-github|12345 cid:ws-user-github|12345/abc extra:thing",
            roles: ["admin", "user"], email: "me@example.org");

        var principal = AssertValid(token);

        Assert.Equal("github|12345", principal.UserId);
        Assert.Equal(Permission.Admin, principal.Scope.PermissionFor("ws-user-github|12345"));
        Assert.Equal(Permission.Read, principal.Scope.PermissionFor("shared-data"));
        Assert.Equal(Permission.None, principal.Scope.PermissionFor("other-ws"));
        Assert.Equal("ws-user-github|12345", principal.CurrentWorkspace);
        Assert.Equal("ws-user-github|12345/abc", principal.ClientId);
        Assert.Equal(["admin", "user"], principal.Roles);
        Assert.Equal("me@example.org", principal.Email);
        Assert.Equal(Now.AddHours(1), principal.ExpiresAt);
        Assert.False(principal.IsAnonymous);
    }

    [Fact]
    public void Audience_may_be_an_array_that_contains_the_expected_audience()
    {
        var claims = tokens.Claims("u-1", "ws:ws-a#r");
        claims["aud"] = new[] { "https://other.example/", HyphaTokenFactory.DefaultAudience };
        AssertValid(tokens.Sign(HyphaTokenFactory.HS256Header(), claims));

        claims["aud"] = new[] { "https://other.example/" };
        AssertRefused(tokens.Sign(HyphaTokenFactory.HS256Header(), claims), TokenFailureReason.WrongAudience);
    }

    [Theory]
    [InlineData("none")]
    [InlineData("None")]
    [InlineData("HS384")]
    [InlineData("HS512")]
    [InlineData("RS256")]
    [InlineData("ES256")]
    [InlineData("hs256")]
    [InlineData("HS256 ")]
    [InlineData("")]
    public void Any_algorithm_but_HS256_is_refused_even_when_correctly_signed(string alg)
    {
        var header = new Dictionary<string, object?> { ["alg"] = alg, ["typ"] = "JWT" };
        AssertRefused(tokens.Sign(header, tokens.Claims("u-1", "ws:ws-a#a")), TokenFailureReason.UnsupportedAlgorithm);
    }

    [Fact]
    public void Alg_none_with_an_HS256_signature_is_still_refused()
    {
        // Sign the alg:none header with the real key: the header decides nothing but must still be exactly HS256.
        var header = new Dictionary<string, object?> { ["alg"] = "none" };
        var claims = tokens.Claims("u-1", "ws:ws-a#a");
        var forged = tokens.SignRaw(System.Text.Json.JsonSerializer.Serialize(header), System.Text.Json.JsonSerializer.Serialize(claims), "HS256");
        AssertRefused(forged, TokenFailureReason.UnsupportedAlgorithm);
    }

    [Theory]
    [InlineData("{\"typ\":\"JWT\"}")]
    [InlineData("{\"alg\":null}")]
    [InlineData("{\"alg\":256}")]
    [InlineData("{\"alg\":[\"HS256\"]}")]
    public void Missing_or_non_string_alg_is_refused(string headerJson)
    {
        var forged = tokens.SignRaw(headerJson, System.Text.Json.JsonSerializer.Serialize(tokens.Claims("u-1", "ws:ws-a#a")), "HS256");
        AssertRefused(forged, TokenFailureReason.UnsupportedAlgorithm);
    }

    [Fact]
    public void Duplicate_alg_in_the_header_is_refused()
    {
        var forged = tokens.SignRaw("{\"alg\":\"none\",\"alg\":\"HS256\"}", System.Text.Json.JsonSerializer.Serialize(tokens.Claims("u-1", "ws:ws-a#a")), "HS256");
        AssertRefused(forged, TokenFailureReason.Malformed);
    }

    [Fact]
    public void Duplicate_claims_are_refused()
    {
        var exp = Now.AddHours(1).ToUnixTimeSeconds();
        var payload = $"{{\"iss\":\"{HyphaTokenFactory.DefaultIssuer}\",\"aud\":\"{HyphaTokenFactory.DefaultAudience}\",\"sub\":\"u-1\",\"exp\":{exp}," +
                      "\"scope\":\"ws:ws-a#r\",\"scope\":\"ws:*#a\"}";
        AssertRefused(tokens.SignRaw("{\"alg\":\"HS256\"}", payload), TokenFailureReason.Malformed);
    }

    [Fact]
    public void Critical_header_extensions_are_refused()
    {
        var header = new Dictionary<string, object?> { ["alg"] = "HS256", ["crit"] = new[] { "b64" }, ["b64"] = false };
        AssertRefused(tokens.Sign(header, tokens.Claims("u-1", "ws:ws-a#r")), TokenFailureReason.Malformed);
    }

    [Fact]
    public void Token_signed_with_another_secret_is_refused()
    {
        var forged = tokens.Sign(HyphaTokenFactory.HS256Header(), tokens.Claims("u-1", "ws:ws-a#a"), secretOverride: HyphaTokenFactory.NewSecret());
        AssertRefused(forged, TokenFailureReason.BadSignature);
    }

    [Fact]
    public void Changing_the_payload_after_signing_breaks_the_signature()
    {
        var good = tokens.Create("u-1", "ws:ws-a#r");
        var parts = good.Split('.');
        var escalated = tokens.Sign(HyphaTokenFactory.HS256Header(), tokens.Claims("u-1", "ws:*#a")).Split('.')[1];

        AssertRefused($"{parts[0]}.{escalated}.{parts[2]}", TokenFailureReason.BadSignature);
    }

    [Fact]
    public void Truncated_or_extended_signature_is_refused()
    {
        var good = tokens.Create("u-1", "ws:ws-a#r");

        AssertRefused(good[..^1], TokenFailureReason.BadSignature);
        AssertRefused(good[..^4], TokenFailureReason.BadSignature);
        AssertRefused(good + "AAAA", TokenFailureReason.BadSignature);
        AssertRefused(good[..(good.LastIndexOf('.') + 1)], TokenFailureReason.BadSignature);
    }

    [Fact]
    public void Non_canonical_base64url_spelling_of_the_signature_is_refused()
    {
        var good = tokens.Create("u-1", "ws:ws-a#r");
        // 32 bytes → 43 chars; the last char carries 2 spare bits. Setting one gives the same bytes, another spelling.
        var last = good[^1];
        var alphabet = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";
        var twin = alphabet[alphabet.IndexOf(last, StringComparison.Ordinal) ^ 1];

        AssertRefused(good[..^1] + twin, TokenFailureReason.BadSignature);
        AssertRefused(good + "=", TokenFailureReason.BadSignature);
    }

    [Fact]
    public void Standard_base64_characters_and_padding_in_the_header_are_refused()
    {
        var good = tokens.Create("u-1", "ws:ws-a#r");
        var parts = good.Split('.');

        AssertRefused($"{parts[0]}=.{parts[1]}.{parts[2]}", TokenFailureReason.Malformed);
        AssertRefused($"{parts[0].Replace('-', '+').Replace('_', '/')}x+/.{parts[1]}.{parts[2]}", TokenFailureReason.Malformed);
        AssertRefused($" {good}", TokenFailureReason.Malformed);
    }

    [Theory]
    [InlineData("")]
    [InlineData("garbage")]
    [InlineData("a.b")]
    [InlineData("...")]
    [InlineData("a.b.c.d")]
    [InlineData("eyJhbGciOiJIUzI1NiJ9")]
    [InlineData("é.é.é")]
    public void Garbage_is_malformed(string token) => AssertRefused(token, TokenFailureReason.Malformed);

    [Fact]
    public void A_valid_token_with_an_extra_segment_is_refused()
    {
        var good = tokens.Create("u-1", "ws:ws-a#r");
        AssertRefused(good + ".", TokenFailureReason.Malformed);
        AssertRefused(good + "." + good.Split('.')[2], TokenFailureReason.Malformed);
    }

    [Fact]
    public void Oversized_token_is_refused_before_decoding()
    {
        var huge = tokens.Create("u-1", "ws:ws-a#r " + new string('x', 20_000));
        AssertRefused(huge, TokenFailureReason.TooLarge);
    }

    [Fact]
    public void Expired_token_is_refused_after_the_clock_skew()
    {
        var token = tokens.Create("u-1", "ws:ws-a#r", lifetime: TimeSpan.FromMinutes(5));

        clock.Now = Now.AddMinutes(5).AddSeconds(29);
        AssertValid(token);

        clock.Now = Now.AddMinutes(5).AddSeconds(30);
        AssertRefused(token, TokenFailureReason.Expired);
    }

    [Fact]
    public void Clock_skew_is_configurable()
    {
        var strict = Verifier(new HyphaAuthOptions { JwtSecret = secret, ClockSkew = TimeSpan.Zero });
        var token = tokens.Create("u-1", "ws:ws-a#r", lifetime: TimeSpan.FromMinutes(1));

        clock.Now = Now.AddMinutes(1);
        Assert.Equal(TokenFailureReason.Expired, strict.Verify(token).Failure?.Reason);
        Assert.True(verifier.Verify(token).Succeeded);
    }

    [Fact]
    public void Not_before_in_the_future_is_refused_beyond_the_skew()
    {
        var claims = tokens.Claims("u-1", "ws:ws-a#r");
        claims["nbf"] = Now.AddSeconds(60).ToUnixTimeSeconds();
        var token = tokens.Sign(HyphaTokenFactory.HS256Header(), claims);

        AssertRefused(token, TokenFailureReason.NotYetValid);
        clock.Now = Now.AddSeconds(31);
        AssertValid(token);
    }

    [Theory]
    [InlineData(null)]
    [InlineData("\"1900000000\"")]
    [InlineData("1e300")]
    [InlineData("true")]
    public void Missing_or_invalid_expiry_is_malformed(string? expJson)
    {
        var claims = $"{{\"iss\":\"{HyphaTokenFactory.DefaultIssuer}\",\"aud\":\"{HyphaTokenFactory.DefaultAudience}\",\"sub\":\"u-1\"" +
                     (expJson is null ? string.Empty : $",\"exp\":{expJson}") + "}";
        AssertRefused(tokens.SignRaw("{\"alg\":\"HS256\"}", claims), TokenFailureReason.Malformed);
    }

    [Fact]
    public void Fractional_expiry_is_accepted()
    {
        var claims = tokens.Claims("u-1", "ws:ws-a#r");
        claims["exp"] = Now.AddMinutes(10).ToUnixTimeSeconds() + 0.5;
        AssertValid(tokens.Sign(HyphaTokenFactory.HS256Header(), claims));
    }

    [Theory]
    [InlineData("https://evil.example/")]
    [InlineData("https://amun.ai")]
    [InlineData("HTTPS://AMUN.AI/")]
    [InlineData(null)]
    public void Wrong_or_missing_issuer_is_refused(string? issuer)
    {
        var claims = tokens.Claims("u-1", "ws:ws-a#r");
        if (issuer is null)
        {
            claims.Remove("iss");
        }
        else
        {
            claims["iss"] = issuer;
        }

        AssertRefused(tokens.Sign(HyphaTokenFactory.HS256Header(), claims), TokenFailureReason.WrongIssuer);
    }

    [Theory]
    [InlineData("https://amun-ai.eu.auth0.com/api/v2")]
    [InlineData("https://other.example/")]
    [InlineData(null)]
    public void Wrong_or_missing_audience_is_refused(string? audience)
    {
        var claims = tokens.Claims("u-1", "ws:ws-a#r");
        if (audience is null)
        {
            claims.Remove("aud");
        }
        else
        {
            claims["aud"] = audience;
        }

        AssertRefused(tokens.Sign(HyphaTokenFactory.HS256Header(), claims), TokenFailureReason.WrongAudience);
    }

    [Fact]
    public void Configured_issuer_and_audience_replace_the_defaults()
    {
        var custom = Verifier(new HyphaAuthOptions { JwtSecret = secret, Issuer = "https://hypha.example/", Audience = "storage" });
        var customTokens = new HyphaTokenFactory(secret, clock) { Issuer = "https://hypha.example/", Audience = "storage" };

        Assert.True(custom.Verify(customTokens.Create("u-1", "ws:ws-a#r")).Succeeded);
        Assert.Equal(TokenFailureReason.WrongIssuer, custom.Verify(tokens.Create("u-1", "ws:ws-a#r")).Failure?.Reason);
    }

    [Theory]
    [InlineData("ws:ws-a")]
    [InlineData("ws:ws-a#")]
    [InlineData("ws:ws-a#x")]
    [InlineData("ws:ws-a#rwa")]
    [InlineData("ws:ws-a#R")]
    [InlineData("ws:ws-a#r#a")]
    [InlineData("ws:#r")]
    [InlineData("ws:WS-A#r")]
    [InlineData("ws:ws-a/../b#r")]
    [InlineData("ws:ws a#r")]
    [InlineData("ws:ws-a#r ws:evil/ws#a")]
    public void Malformed_workspace_grant_refuses_the_whole_token(string scope) =>
        AssertRefused(tokens.Create("u-1", scope), TokenFailureReason.MalformedScope);

    [Fact]
    public void Non_string_scope_is_a_malformed_scope()
    {
        var claims = tokens.Claims("u-1", "x");
        claims["scope"] = new[] { "ws:ws-a#a" };
        AssertRefused(tokens.Sign(HyphaTokenFactory.HS256Header(), claims), TokenFailureReason.MalformedScope);
    }

    [Fact]
    public void Missing_subject_or_bad_roles_are_malformed()
    {
        var claims = tokens.Claims("u-1", "ws:ws-a#r");
        claims.Remove("sub");
        AssertRefused(tokens.Sign(HyphaTokenFactory.HS256Header(), claims), TokenFailureReason.Malformed);

        claims = tokens.Claims("u-1", "ws:ws-a#r");
        claims[HyphaTokenFactory.RolesClaim] = "admin";
        AssertRefused(tokens.Sign(HyphaTokenFactory.HS256Header(), claims), TokenFailureReason.Malformed);
    }

    [Fact]
    public void Payload_that_is_not_an_object_is_malformed()
    {
        AssertRefused(tokens.SignRaw("{\"alg\":\"HS256\"}", "[1,2,3]"), TokenFailureReason.Malformed);
        AssertRefused(tokens.SignRaw("{\"alg\":\"HS256\"}", "{\"sub\":"), TokenFailureReason.Malformed);
        AssertRefused(tokens.SignRaw("[\"HS256\"]", "{}"), TokenFailureReason.Malformed);
    }

    [Fact]
    public void Failure_details_never_echo_the_token()
    {
        var forged = tokens.Sign(HyphaTokenFactory.HS256Header(), tokens.Claims("u-1", "ws:ws-a#x"), HyphaTokenFactory.NewSecret());
        var malformedScope = tokens.Create("secret-user", "ws:secret-ws#zz");
        foreach (var token in new[] { forged, malformedScope, forged + ".x", forged[..^2] })
        {
            var failure = verifier.Verify(token).Failure;
            Assert.NotNull(failure);
            Assert.True(failure.Detail.Length < 100, failure.Detail);
            foreach (var part in token.Split('.').Where(p => p.Length > 3))
            {
                Assert.DoesNotContain(part, failure.Detail, StringComparison.Ordinal);
            }

            Assert.DoesNotContain("secret", failure.Detail, StringComparison.Ordinal);
        }
    }

    [Fact]
    public void Anonymous_role_token_is_anonymous()
    {
        var principal = AssertValid(tokens.Create("anon-1", "ws:ws-anon#rw", roles: ["anonymous"]));
        Assert.True(principal.IsAnonymous);
    }

    private HyphaTokenVerifier Verifier(HyphaAuthOptions options) => new(Options.Create(options), clock);

    private HyphaPrincipal AssertValid(string token)
    {
        var result = verifier.Verify(token);
        Assert.True(result.Succeeded, result.Failure?.Detail);
        return result.Principal!;
    }

    private void AssertRefused(string token, TokenFailureReason reason)
    {
        var result = verifier.Verify(token);
        Assert.False(result.Succeeded);
        Assert.Equal(reason, result.Failure!.Reason);
    }
}
