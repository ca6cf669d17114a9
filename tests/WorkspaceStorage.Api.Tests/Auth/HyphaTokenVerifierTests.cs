using Microsoft.Extensions.Options;
using Microsoft.Extensions.Time.Testing;
using WorkspaceStorage.Api.Auth;
using WorkspaceStorage.Testing.Hypha;

namespace WorkspaceStorage.Api.Tests.Auth;

/// <summary>The verifier on its own: every way to forge or garble a token, and what a good one yields.</summary>
public sealed class HyphaTokenVerifierTests
{
    private static readonly DateTimeOffset Now = new(2026, 11, 23, 12, 0, 0, TimeSpan.Zero);

    private readonly string secret = HyphaTokenFactory.NewSecret();
    private readonly FakeTimeProvider clock = new(Now);
    private readonly HyphaTokenFactory tokens;
    private readonly HyphaTokenVerifier verifier;

    public HyphaTokenVerifierTests()
    {
        tokens = new HyphaTokenFactory(secret, clock);
        verifier = Verifier(new HyphaAuthOptions { JwtSecret = secret });
    }

    [Fact]
    public async Task Valid_token_yields_user_scope_roles_and_email()
    {
        var token = tokens.Create("github|12345", "ws:ws-user-github|12345#a ws:shared-data#r wid:ws-user-github|12345 cid:ws-user-github|12345/abc extra:thing",
            roles: ["admin", "user"], email: "me@example.org");

        var principal = await AssertValidAsync(token);

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
    public async Task Audience_may_be_an_array_that_contains_the_expected_audience()
    {
        var claims = tokens.Claims("u-1", "ws:ws-a#r");
        claims["aud"] = new[] { "https://other.example/", HyphaTokenFactory.DefaultAudience };
        await AssertValidAsync(tokens.Sign(HyphaTokenFactory.HS256Header(), claims));

        claims["aud"] = new[] { "https://other.example/" };
        await AssertRefusedAsync(tokens.Sign(HyphaTokenFactory.HS256Header(), claims), TokenFailureReason.WrongAudience);
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
    public async Task Any_algorithm_but_HS256_is_refused_even_when_correctly_signed(string alg)
    {
        var header = new Dictionary<string, object?> { ["alg"] = alg, ["typ"] = "JWT" };
        await AssertRefusedAsync(tokens.Sign(header, tokens.Claims("u-1", "ws:ws-a#a")), TokenFailureReason.UnsupportedAlgorithm);
    }

    [Fact]
    public async Task Alg_none_with_an_HS256_signature_is_still_refused()
    {
        // Sign the alg:none header with the real key: the header decides nothing but must still be exactly HS256.
        var header = new Dictionary<string, object?> { ["alg"] = "none" };
        var claims = tokens.Claims("u-1", "ws:ws-a#a");
        var forged = tokens.SignRaw(System.Text.Json.JsonSerializer.Serialize(header), System.Text.Json.JsonSerializer.Serialize(claims), "HS256");
        await AssertRefusedAsync(forged, TokenFailureReason.UnsupportedAlgorithm);
    }

    [Theory]
    [InlineData("{\"typ\":\"JWT\"}")]
    [InlineData("{\"alg\":null}")]
    public async Task Missing_alg_is_refused(string headerJson)
    {
        var forged = tokens.SignRaw(headerJson, System.Text.Json.JsonSerializer.Serialize(tokens.Claims("u-1", "ws:ws-a#a")), "HS256");
        await AssertRefusedAsync(forged, TokenFailureReason.UnsupportedAlgorithm);
    }

    [Theory]
    [InlineData("{\"alg\":256}")]
    [InlineData("{\"alg\":[\"HS256\"]}")]
    public async Task Non_string_alg_is_refused_as_a_malformed_header(string headerJson)
    {
        // The library refuses to read a header whose alg is not a string at all.
        var forged = tokens.SignRaw(headerJson, System.Text.Json.JsonSerializer.Serialize(tokens.Claims("u-1", "ws:ws-a#a")), "HS256");
        await AssertRefusedAsync(forged, TokenFailureReason.Malformed);
    }

    [Fact]
    public async Task Duplicate_alg_in_the_header_counts_as_Hypha_reads_it_and_the_signature_still_binds()
    {
        // The library keeps the last of duplicate keys, as Hypha's own JSON parser does, so both read the same header;
        // only the holder of the secret can sign such a token, and with the last alg:none it is refused.
        var claims = System.Text.Json.JsonSerializer.Serialize(tokens.Claims("u-1", "ws:ws-a#a"));
        await AssertValidAsync(tokens.SignRaw("{\"alg\":\"none\",\"alg\":\"HS256\"}", claims, "HS256"));
        await AssertRefusedAsync(tokens.SignRaw("{\"alg\":\"HS256\",\"alg\":\"none\"}", claims, "HS256"), TokenFailureReason.UnsupportedAlgorithm);
        await AssertRefusedAsync(tokens.SignRaw("{\"alg\":\"none\",\"alg\":\"HS256\"}", claims, "HS256", HyphaTokenFactory.NewSecret()), TokenFailureReason.BadSignature);
    }

    [Fact]
    public async Task Duplicate_claims_count_as_Hypha_reads_them()
    {
        // Last one wins, as in Hypha's parser: the API grants exactly what Hypha meant to grant, no more.
        var exp = Now.AddHours(1).ToUnixTimeSeconds();
        var payload = $"{{\"iss\":\"{HyphaTokenFactory.DefaultIssuer}\",\"aud\":\"{HyphaTokenFactory.DefaultAudience}\",\"sub\":\"u-1\",\"exp\":{exp}," +
                      "\"scope\":\"ws:*#a\",\"scope\":\"ws:ws-a#r\"}";
        var principal = await AssertValidAsync(tokens.SignRaw("{\"alg\":\"HS256\"}", payload));
        Assert.Equal(Permission.Read, principal.Scope.PermissionFor("ws-a"));
        Assert.Equal(Permission.None, principal.Scope.PermissionFor("ws-b"));
    }

    [Fact]
    public async Task Critical_header_extensions_are_refused()
    {
        var header = new Dictionary<string, object?> { ["alg"] = "HS256", ["crit"] = new[] { "b64" }, ["b64"] = false };
        await AssertRefusedAsync(tokens.Sign(header, tokens.Claims("u-1", "ws:ws-a#r")), TokenFailureReason.Malformed);
    }

    [Fact]
    public async Task Token_signed_with_another_secret_is_refused()
    {
        var forged = tokens.Sign(HyphaTokenFactory.HS256Header(), tokens.Claims("u-1", "ws:ws-a#a"), secretOverride: HyphaTokenFactory.NewSecret());
        await AssertRefusedAsync(forged, TokenFailureReason.BadSignature);
    }

    [Fact]
    public async Task Changing_the_payload_after_signing_breaks_the_signature()
    {
        var good = tokens.Create("u-1", "ws:ws-a#r");
        var parts = good.Split('.');
        var escalated = tokens.Sign(HyphaTokenFactory.HS256Header(), tokens.Claims("u-1", "ws:*#a")).Split('.')[1];

        await AssertRefusedAsync($"{parts[0]}.{escalated}.{parts[2]}", TokenFailureReason.BadSignature);
    }

    [Fact]
    public async Task Truncated_or_extended_signature_is_refused()
    {
        var good = tokens.Create("u-1", "ws:ws-a#r");

        await AssertRefusedAsync(good[..^1], TokenFailureReason.BadSignature);
        await AssertRefusedAsync(good[..^4], TokenFailureReason.BadSignature);
        await AssertRefusedAsync(good + "AAAA", TokenFailureReason.BadSignature);
        await AssertRefusedAsync(good[..(good.LastIndexOf('.') + 1)], TokenFailureReason.BadSignature);
    }

    [Fact]
    public async Task Non_canonical_base64url_spelling_of_the_signature_is_refused()
    {
        var good = tokens.Create("u-1", "ws:ws-a#r");
        // 32 bytes → 43 chars; the last char carries 2 spare bits. Setting one gives the same bytes, another spelling.
        var last = good[^1];
        var alphabet = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";
        var twin = alphabet[alphabet.IndexOf(last, StringComparison.Ordinal) ^ 1];

        await AssertRefusedAsync(good[..^1] + twin, TokenFailureReason.BadSignature);
        await AssertRefusedAsync(good + "=", TokenFailureReason.BadSignature);
    }

    [Fact]
    public async Task Standard_base64_characters_and_padding_in_the_header_are_refused()
    {
        var good = tokens.Create("u-1", "ws:ws-a#r");
        var parts = good.Split('.');

        await AssertRefusedAsync($"{parts[0]}=.{parts[1]}.{parts[2]}", TokenFailureReason.Malformed);
        await AssertRefusedAsync($"{parts[0].Replace('-', '+').Replace('_', '/')}x+/.{parts[1]}.{parts[2]}", TokenFailureReason.Malformed);
        await AssertRefusedAsync($" {good}", TokenFailureReason.Malformed);
    }

    [Theory]
    [InlineData("")]
    [InlineData("garbage")]
    [InlineData("a.b")]
    [InlineData("...")]
    [InlineData("a.b.c.d")]
    [InlineData("eyJhbGciOiJIUzI1NiJ9")]
    [InlineData("é.é.é")]
    public Task Garbage_is_malformed(string token) =>
        AssertRefusedAsync(token, TokenFailureReason.Malformed);

    [Fact]
    public async Task A_valid_token_with_an_extra_segment_is_refused()
    {
        var good = tokens.Create("u-1", "ws:ws-a#r");
        await AssertRefusedAsync(good + ".", TokenFailureReason.Malformed);
        await AssertRefusedAsync(good + "." + good.Split('.')[2], TokenFailureReason.Malformed);
    }

    [Fact]
    public async Task Oversized_token_is_refused_before_decoding()
    {
        var huge = tokens.Create("u-1", "ws:ws-a#r " + new string('x', 20_000));
        await AssertRefusedAsync(huge, TokenFailureReason.TooLarge);
    }

    [Fact]
    public async Task Expired_token_is_refused_after_the_clock_skew()
    {
        var token = tokens.Create("u-1", "ws:ws-a#r", lifetime: TimeSpan.FromMinutes(5));

        clock.SetUtcNow(Now.AddMinutes(5).AddSeconds(29));
        await AssertValidAsync(token);

        clock.SetUtcNow(Now.AddMinutes(5).AddSeconds(30));
        await AssertRefusedAsync(token, TokenFailureReason.Expired);
    }

    [Fact]
    public async Task Clock_skew_is_configurable()
    {
        var strict = Verifier(new HyphaAuthOptions { JwtSecret = secret, ClockSkew = TimeSpan.Zero });
        var token = tokens.Create("u-1", "ws:ws-a#r", lifetime: TimeSpan.FromMinutes(1));

        clock.SetUtcNow(Now.AddMinutes(1));
        Assert.Equal(TokenFailureReason.Expired, (await strict.VerifyAsync(token)).Failure?.Reason);
        Assert.True((await verifier.VerifyAsync(token)).Succeeded);
    }

    [Fact]
    public async Task Not_before_in_the_future_is_refused_beyond_the_skew()
    {
        var claims = tokens.Claims("u-1", "ws:ws-a#r");
        claims["nbf"] = Now.AddSeconds(60).ToUnixTimeSeconds();
        var token = tokens.Sign(HyphaTokenFactory.HS256Header(), claims);

        await AssertRefusedAsync(token, TokenFailureReason.NotYetValid);
        clock.SetUtcNow(Now.AddSeconds(31));
        await AssertValidAsync(token);
    }

    [Theory]
    [InlineData(null)]
    [InlineData("\"soon\"")]
    [InlineData("1e300")]
    [InlineData("true")]
    public async Task Missing_or_invalid_expiry_is_malformed(string? expJson)
    {
        var claims = $"{{\"iss\":\"{HyphaTokenFactory.DefaultIssuer}\",\"aud\":\"{HyphaTokenFactory.DefaultAudience}\",\"sub\":\"u-1\"" +
                     (expJson is null ? string.Empty : $",\"exp\":{expJson}") + "}";
        await AssertRefusedAsync(tokens.SignRaw("{\"alg\":\"HS256\"}", claims), TokenFailureReason.Malformed);
    }

    [Fact]
    public async Task Numeric_string_expiry_is_read_as_a_date_and_enforced()
    {
        // The library reads "exp": "1700000000" as the number; the expiry still holds.
        var claims = tokens.Claims("u-1", "ws:ws-a#r");
        claims["exp"] = Now.AddMinutes(-1).ToUnixTimeSeconds().ToString(System.Globalization.CultureInfo.InvariantCulture);
        await AssertRefusedAsync(tokens.Sign(HyphaTokenFactory.HS256Header(), claims), TokenFailureReason.Expired);
    }

    [Fact]
    public async Task Fractional_expiry_is_accepted()
    {
        var claims = tokens.Claims("u-1", "ws:ws-a#r");
        claims["exp"] = Now.AddMinutes(10).ToUnixTimeSeconds() + 0.5;
        await AssertValidAsync(tokens.Sign(HyphaTokenFactory.HS256Header(), claims));
    }

    [Theory]
    [InlineData("https://evil.example/")]
    [InlineData("https://amun.ai")]
    [InlineData("HTTPS://AMUN.AI/")]
    [InlineData(null)]
    public async Task Wrong_or_missing_issuer_is_refused(string? issuer)
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

        await AssertRefusedAsync(tokens.Sign(HyphaTokenFactory.HS256Header(), claims), TokenFailureReason.WrongIssuer);
    }

    [Theory]
    [InlineData("https://amun-ai.eu.auth0.com/api/v2")]
    [InlineData("https://other.example/")]
    [InlineData(null)]
    public async Task Wrong_or_missing_audience_is_refused(string? audience)
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

        await AssertRefusedAsync(tokens.Sign(HyphaTokenFactory.HS256Header(), claims), TokenFailureReason.WrongAudience);
    }

    [Fact]
    public async Task Configured_issuer_and_audience_replace_the_defaults()
    {
        var custom = Verifier(new HyphaAuthOptions { JwtSecret = secret, Issuer = "https://hypha.example/", Audience = "storage" });
        var customTokens = new HyphaTokenFactory(secret, clock) { Issuer = "https://hypha.example/", Audience = "storage" };

        var defaultIssuer = new HyphaTokenFactory(secret, clock) { Audience = "storage" };
        var defaultAudience = new HyphaTokenFactory(secret, clock) { Issuer = "https://hypha.example/" };

        Assert.True((await custom.VerifyAsync(customTokens.Create("u-1", "ws:ws-a#r"))).Succeeded);
        Assert.Equal(TokenFailureReason.WrongIssuer, (await custom.VerifyAsync(defaultIssuer.Create("u-1", "ws:ws-a#r"))).Failure?.Reason);
        Assert.Equal(TokenFailureReason.WrongAudience, (await custom.VerifyAsync(defaultAudience.Create("u-1", "ws:ws-a#r"))).Failure?.Reason);
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
    public Task Malformed_workspace_grant_refuses_the_whole_token(string scope) =>
        AssertRefusedAsync(tokens.Create("u-1", scope), TokenFailureReason.MalformedScope);

    [Fact]
    public async Task Non_string_scope_is_a_malformed_scope()
    {
        var claims = tokens.Claims("u-1", "x");
        claims["scope"] = new[] { "ws:ws-a#a" };
        await AssertRefusedAsync(tokens.Sign(HyphaTokenFactory.HS256Header(), claims), TokenFailureReason.MalformedScope);
    }

    [Fact]
    public async Task Missing_subject_or_bad_roles_are_malformed()
    {
        var claims = tokens.Claims("u-1", "ws:ws-a#r");
        claims.Remove("sub");
        await AssertRefusedAsync(tokens.Sign(HyphaTokenFactory.HS256Header(), claims), TokenFailureReason.Malformed);

        claims = tokens.Claims("u-1", "ws:ws-a#r");
        claims[HyphaTokenFactory.RolesClaim] = "admin";
        await AssertRefusedAsync(tokens.Sign(HyphaTokenFactory.HS256Header(), claims), TokenFailureReason.Malformed);
    }

    [Fact]
    public async Task Payload_that_is_not_an_object_is_malformed()
    {
        await AssertRefusedAsync(tokens.SignRaw("{\"alg\":\"HS256\"}", "[1,2,3]"), TokenFailureReason.Malformed);
        await AssertRefusedAsync(tokens.SignRaw("{\"alg\":\"HS256\"}", "{\"sub\":"), TokenFailureReason.Malformed);
        await AssertRefusedAsync(tokens.SignRaw("[\"HS256\"]", "{}"), TokenFailureReason.Malformed);
    }

    [Fact]
    public async Task Failure_details_never_echo_the_token()
    {
        var forged = tokens.Sign(HyphaTokenFactory.HS256Header(), tokens.Claims("u-1", "ws:ws-a#x"), HyphaTokenFactory.NewSecret());
        var malformedScope = tokens.Create("secret-user", "ws:secret-ws#zz");
        foreach (var token in new[] { forged, malformedScope, forged + ".x", forged[..^2] })
        {
            var failure = (await verifier.VerifyAsync(token)).Failure;
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
    public async Task Anonymous_role_token_is_anonymous()
    {
        var principal = await AssertValidAsync(tokens.Create("anon-1", "ws:ws-anon#rw", roles: ["anonymous"]));
        Assert.True(principal.IsAnonymous);
    }

    [Fact]
    public async Task A_remembered_token_is_still_refused_once_the_clock_passes_its_expiry()
    {
        var token = tokens.Create("u-1", "ws:ws-a#r", lifetime: TimeSpan.FromMinutes(2));
        await AssertValidAsync(token);
        clock.Advance(TimeSpan.FromMinutes(2) + TimeSpan.FromSeconds(29));
        await AssertValidAsync(token); // the second call is served from the cache

        clock.Advance(TimeSpan.FromSeconds(1));
        await AssertRefusedAsync(token, TokenFailureReason.Expired);
    }

    [Fact]
    public async Task Only_the_exact_verified_token_is_remembered()
    {
        var good = tokens.Create("u-1", "ws:ws-a#r");
        await AssertValidAsync(good);
        var parts = good.Split('.');
        var escalated = tokens.Sign(HyphaTokenFactory.HS256Header(), tokens.Claims("u-1", "ws:*#a")).Split('.')[1];
        var alphabet = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";
        var twin = alphabet[alphabet.IndexOf(good[^1], StringComparison.Ordinal) ^ 1];

        await AssertRefusedAsync($"{parts[0]}.{escalated}.{parts[2]}", TokenFailureReason.BadSignature);
        await AssertRefusedAsync(good[..^1] + twin, TokenFailureReason.BadSignature);
        await AssertValidAsync(good);
    }

    [Fact]
    public async Task A_secret_shorter_than_the_librarys_key_minimum_still_verifies()
    {
        // The library wants HMAC keys of 32 bytes or more; the options accept 16 (Hypha itself takes any length).
        const string shortSecret = "0123456789abcdef";
        using var shortKeyVerifier = Verifier(new HyphaAuthOptions { JwtSecret = shortSecret });

        var signedWithIt = await shortKeyVerifier.VerifyAsync(new HyphaTokenFactory(shortSecret, clock).Create("u-1", "ws:ws-a#r"));
        var signedWithAnother = await shortKeyVerifier.VerifyAsync(tokens.Create("u-1", "ws:ws-a#r"));

        Assert.True(signedWithIt.Succeeded, signedWithIt.Failure?.Detail);
        Assert.Equal(TokenFailureReason.BadSignature, signedWithAnother.Failure?.Reason);
    }

    private HyphaTokenVerifier Verifier(HyphaAuthOptions options) => new(Options.Create(options), clock);

    private async Task<HyphaPrincipal> AssertValidAsync(string token)
    {
        var result = await verifier.VerifyAsync(token);
        Assert.True(result.Succeeded, result.Failure?.Detail);
        return result.Principal!;
    }

    private async Task AssertRefusedAsync(string token, TokenFailureReason reason)
    {
        var result = await verifier.VerifyAsync(token);
        Assert.False(result.Succeeded);
        Assert.Equal(reason, result.Failure!.Reason);
    }
}
