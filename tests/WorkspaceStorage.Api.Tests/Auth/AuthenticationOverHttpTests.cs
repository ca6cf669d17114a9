using System.Net;
using System.Net.Http.Headers;
using System.Text;
using System.Text.Json;
using WorkspaceStorage.Api.Tests.Host;
using WorkspaceStorage.Testing.Hypha;

namespace WorkspaceStorage.Api.Tests.Auth;

/// <summary>Forged and valid tokens through a real Kestrel on loopback: status, error body, headers.</summary>
public sealed class AuthenticationOverHttpTests : IAsyncLifetime
{
    private const string Workspace = "ws-alpha";
    private TestApi api = null!;

    private static CancellationToken Ct => TestContext.Current.CancellationToken;

    public async ValueTask InitializeAsync() =>
        api = await TestApi.StartAsync(map: ProbeRoutes.Map, settings: new Dictionary<string, string?> { ["Api:PublicWorkspaces:0"] = "ws-public" });

    public ValueTask DisposeAsync() => api.DisposeAsync();

    public static TheoryData<string> ForgedTokenKinds() =>
    [
        "alg-none", "alg-none-unsigned", "alg-hs384", "alg-rs256", "alg-missing", "wrong-secret", "expired", "not-yet-valid",
        "wrong-iss", "wrong-aud", "malformed-scope", "garbage", "truncated-signature", "extra-segment", "tampered-payload",
        "too-large", "empty-bearer",
    ];

    [Theory]
    [MemberData(nameof(ForgedTokenKinds))]
    public async Task Forged_token_is_refused_with_401_and_a_short_json_reason(string kind)
    {
        var token = Forge(kind);
        using var request = new HttpRequestMessage(HttpMethod.Get, $"/{Workspace}/probe/read");
        request.Headers.TryAddWithoutValidation("Authorization", "Bearer " + token);

        using var response = await api.Client.SendAsync(request, Ct);
        var body = await response.Content.ReadAsStringAsync(Ct);

        Assert.Equal(HttpStatusCode.Unauthorized, response.StatusCode);
        Assert.Equal("Bearer", Assert.Single(response.Headers.WwwAuthenticate).Scheme);
        Assert.Equal("application/json", response.Content.Headers.ContentType?.MediaType);
        var detail = AssertErrorShape(body);
        Assert.InRange(detail.Length, 5, 100);
        Assert.DoesNotContain(" at ", body, StringComparison.Ordinal);
        Assert.DoesNotContain("Exception", body, StringComparison.Ordinal);
        if (token.Length > 10)
        {
            foreach (var part in token.Split('.').Where(p => p.Length > 3))
            {
                Assert.DoesNotContain(part, body, StringComparison.Ordinal);
            }
        }
    }

    [Theory]
    [InlineData("expired", "expired")]
    [InlineData("wrong-secret", "signature")]
    [InlineData("alg-none", "algorithm")]
    [InlineData("wrong-iss", "issuer")]
    [InlineData("wrong-aud", "audience")]
    [InlineData("malformed-scope", "scope")]
    public async Task Refusal_names_the_reason(string kind, string word)
    {
        using var response = await GetAsync($"/{Workspace}/probe/read", Forge(kind));
        var detail = AssertErrorShape(await response.Content.ReadAsStringAsync(Ct));
        Assert.Contains(word, detail, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Token_for_another_workspace_is_403_naming_the_needed_permission()
    {
        using var response = await GetAsync($"/{Workspace}/probe/read", api.Tokens.ForWorkspace("ws-other", "a"));
        var detail = AssertErrorShape(await response.Content.ReadAsStringAsync(Ct));

        Assert.Equal(HttpStatusCode.Forbidden, response.StatusCode);
        Assert.Contains("'r'", detail, StringComparison.Ordinal);
        Assert.Contains(Workspace, detail, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Workspace_sharing_a_prefix_with_the_granted_one_is_not_granted()
    {
        using var response = await GetAsync("/ws-alphabet/probe/read", api.Tokens.ForWorkspace(Workspace, "a"));
        Assert.Equal(HttpStatusCode.Forbidden, response.StatusCode);
    }

    [Theory]
    [InlineData("r", HttpStatusCode.OK, HttpStatusCode.Forbidden, HttpStatusCode.Forbidden)]
    [InlineData("rw", HttpStatusCode.OK, HttpStatusCode.OK, HttpStatusCode.Forbidden)]
    [InlineData("a", HttpStatusCode.OK, HttpStatusCode.OK, HttpStatusCode.OK)]
    public async Task Permission_levels_gate_read_write_and_admin_routes(string permission, HttpStatusCode read, HttpStatusCode write, HttpStatusCode admin)
    {
        var token = api.Tokens.ForWorkspace(Workspace, permission);

        using var readResponse = await SendAsync(HttpMethod.Get, $"/{Workspace}/probe/read", token);
        using var writeResponse = await SendAsync(HttpMethod.Put, $"/{Workspace}/probe/write", token);
        using var adminResponse = await SendAsync(HttpMethod.Delete, $"/{Workspace}/probe/admin", token);

        Assert.Equal(read, readResponse.StatusCode);
        Assert.Equal(write, writeResponse.StatusCode);
        Assert.Equal(admin, adminResponse.StatusCode);
        if (writeResponse.StatusCode == HttpStatusCode.Forbidden)
        {
            Assert.Contains("'rw'", AssertErrorShape(await writeResponse.Content.ReadAsStringAsync(Ct)), StringComparison.Ordinal);
        }
    }

    [Fact]
    public async Task Handler_sees_the_principal_and_granted_permission()
    {
        using var response = await GetAsync($"/{Workspace}/probe/read", api.Tokens.ForWorkspace(Workspace, "rw", userId: "github|777"));
        using var json = JsonDocument.Parse(await response.Content.ReadAsStringAsync(Ct));

        Assert.Equal("github|777", json.RootElement.GetProperty("user").GetString());
        Assert.Equal(Workspace, json.RootElement.GetProperty("workspace").GetString());
        Assert.Equal("rw", json.RootElement.GetProperty("granted").GetString());
    }

    [Fact]
    public async Task Admin_everywhere_reaches_any_workspace()
    {
        var token = api.Tokens.Create("root-user", "ws:*#a");
        using var response = await SendAsync(HttpMethod.Delete, "/ws-anything-at-all/probe/admin", token);
        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
    }

    [Fact]
    public async Task Anonymous_gets_403_on_private_workspace_and_read_only_on_public_one()
    {
        using var privateRead = await SendAsync(HttpMethod.Get, $"/{Workspace}/probe/read", token: null);
        using var publicRead = await SendAsync(HttpMethod.Get, "/ws-public/probe/read", token: null);
        using var publicWrite = await SendAsync(HttpMethod.Put, "/ws-public/probe/write", token: null);

        Assert.Equal(HttpStatusCode.Forbidden, privateRead.StatusCode);
        Assert.Contains("anonymous", AssertErrorShape(await privateRead.Content.ReadAsStringAsync(Ct)), StringComparison.Ordinal);
        Assert.Equal(HttpStatusCode.OK, publicRead.StatusCode);
        Assert.Equal(HttpStatusCode.Forbidden, publicWrite.StatusCode);
    }

    [Fact]
    public async Task Permission_holds_for_plain_request_delegate_endpoints()
    {
        using var anonymous = await SendAsync(HttpMethod.Get, $"/{Workspace}/probe/delegate", token: null);
        using var reader = await SendAsync(HttpMethod.Get, $"/{Workspace}/probe/delegate", api.Tokens.ForWorkspace(Workspace, "r"));
        using var writer = await SendAsync(HttpMethod.Get, $"/{Workspace}/probe/delegate", api.Tokens.ForWorkspace(Workspace, "rw"));

        Assert.Equal(HttpStatusCode.Forbidden, anonymous.StatusCode);
        Assert.Equal(HttpStatusCode.Forbidden, reader.StatusCode);
        Assert.Equal(HttpStatusCode.OK, writer.StatusCode);
    }

    [Fact]
    public async Task Permission_is_checked_before_the_body_is_read()
    {
        using var request = new HttpRequestMessage(HttpMethod.Post, $"/{Workspace}/probe/json")
        {
            Content = new StringContent("{ this is not json", Encoding.UTF8, "application/json"),
        };
        request.Headers.TryAddWithoutValidation("Authorization", "Bearer " + api.Tokens.ForWorkspace(Workspace, "r"));
        using var forbidden = await api.Client.SendAsync(request, Ct);

        using var allowed = new HttpRequestMessage(HttpMethod.Post, $"/{Workspace}/probe/json")
        {
            Content = new StringContent("{ this is not json", Encoding.UTF8, "application/json"),
        };
        allowed.Headers.TryAddWithoutValidation("Authorization", "Bearer " + api.Tokens.ForWorkspace(Workspace, "rw"));
        using var badBody = await api.Client.SendAsync(allowed, Ct);

        Assert.Equal(HttpStatusCode.Forbidden, forbidden.StatusCode);
        Assert.Equal(HttpStatusCode.BadRequest, badBody.StatusCode);
        AssertErrorShape(await badBody.Content.ReadAsStringAsync(Ct));
    }

    [Fact]
    public async Task Routes_that_skip_authentication_ignore_stale_credentials()
    {
        using var request = new HttpRequestMessage(HttpMethod.Get, "/s3/bucket/ws-alpha/file.bin?X-Amz-Signature=abc");
        request.Headers.Add("Cookie", "access_token=" + Forge("expired"));
        using var response = await api.Client.SendAsync(request, Ct);
        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
    }

    [Theory]
    [InlineData("/healthz")]
    [InlineData("/metrics")]
    public async Task Probes_and_metrics_never_look_at_credentials(string path)
    {
        using var request = new HttpRequestMessage(HttpMethod.Get, path);
        request.Headers.TryAddWithoutValidation("Authorization", "Bearer " + Forge("wrong-secret"));
        using var response = await api.Client.SendAsync(request, Ct);
        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
    }

    [Fact]
    public async Task Invalid_workspace_in_the_route_is_400()
    {
        using var response = await GetAsync("/Not_A_Workspace/probe/read", api.Tokens.Create("u-1", "ws:*#a"));
        Assert.Equal(HttpStatusCode.BadRequest, response.StatusCode);
        Assert.StartsWith("workspace ", AssertErrorShape(await response.Content.ReadAsStringAsync(Ct)), StringComparison.Ordinal);
    }

    [Fact]
    public async Task Basic_credentials_with_the_token_as_password_authenticate()
    {
        var token = api.Tokens.ForWorkspace(Workspace, "rw");
        using var request = new HttpRequestMessage(HttpMethod.Put, $"/{Workspace}/probe/write");
        request.Headers.Authorization = new AuthenticationHeaderValue("Basic", Convert.ToBase64String(Encoding.UTF8.GetBytes("anyone:" + token)));

        using var response = await api.Client.SendAsync(request, Ct);
        Assert.Equal(HttpStatusCode.OK, response.StatusCode);

        using var forged = new HttpRequestMessage(HttpMethod.Put, $"/{Workspace}/probe/write");
        forged.Headers.Authorization = new AuthenticationHeaderValue("Basic", Convert.ToBase64String(Encoding.UTF8.GetBytes("anyone:" + Forge("wrong-secret"))));
        using var refused = await api.Client.SendAsync(forged, Ct);
        Assert.Equal(HttpStatusCode.Unauthorized, refused.StatusCode);
    }

    [Fact]
    public async Task Access_token_cookie_authenticates_reads()
    {
        using var request = new HttpRequestMessage(HttpMethod.Get, $"/{Workspace}/probe/read");
        request.Headers.Add("Cookie", $"theme=dark; access_token={api.Tokens.ForWorkspace(Workspace, "rw")}");

        using var response = await api.Client.SendAsync(request, Ct);
        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
    }

    [Fact]
    public async Task A_cookie_alone_cannot_write_so_another_site_cannot_upload_as_a_signed_in_user()
    {
        // A cross-site form or fetch carries the browser's cookie, never an Authorization header.
        using var request = new HttpRequestMessage(HttpMethod.Put, $"/{Workspace}/probe/write");
        request.Headers.Add("Origin", "https://evil.example");
        request.Headers.Add("Cookie", $"access_token={api.Tokens.ForWorkspace(Workspace, "rw")}");

        using var response = await api.Client.SendAsync(request, Ct);
        Assert.Equal(HttpStatusCode.Forbidden, response.StatusCode);
    }

    [Fact]
    public async Task An_r_plus_grant_reads_but_cannot_write()
    {
        var token = api.Tokens.Create("u-1", $"ws:{Workspace}#r+");
        using var read = await GetAsync($"/{Workspace}/probe/read", token);
        using var write = new HttpRequestMessage(HttpMethod.Put, $"/{Workspace}/probe/write");
        write.Headers.TryAddWithoutValidation("Authorization", "Bearer " + token);
        using var written = await api.Client.SendAsync(write, Ct);

        Assert.Equal(HttpStatusCode.OK, read.StatusCode);
        Assert.Equal(HttpStatusCode.Forbidden, written.StatusCode);
    }

    [Fact]
    public async Task Authorization_header_wins_over_the_cookie()
    {
        using var badHeader = new HttpRequestMessage(HttpMethod.Get, $"/{Workspace}/probe/read");
        badHeader.Headers.TryAddWithoutValidation("Authorization", "Bearer " + Forge("wrong-secret"));
        badHeader.Headers.Add("Cookie", $"access_token={api.Tokens.ForWorkspace(Workspace, "a")}");
        using var refused = await api.Client.SendAsync(badHeader, Ct);
        Assert.Equal(HttpStatusCode.Unauthorized, refused.StatusCode);

        using var goodHeader = new HttpRequestMessage(HttpMethod.Get, $"/{Workspace}/probe/read");
        goodHeader.Headers.TryAddWithoutValidation("Authorization", "Bearer " + api.Tokens.ForWorkspace(Workspace, "r"));
        goodHeader.Headers.Add("Cookie", "access_token=garbage");
        using var accepted = await api.Client.SendAsync(goodHeader, Ct);
        Assert.Equal(HttpStatusCode.OK, accepted.StatusCode);
    }

    [Fact]
    public async Task Invalid_cookie_is_refused_not_ignored()
    {
        using var request = new HttpRequestMessage(HttpMethod.Get, "/ws-public/probe/read");
        request.Headers.Add("Cookie", "access_token=" + Forge("expired"));
        using var response = await api.Client.SendAsync(request, Ct);
        Assert.Equal(HttpStatusCode.Unauthorized, response.StatusCode);
    }

    [Theory]
    [InlineData("get_object", "r", HttpStatusCode.OK)]
    [InlineData("put_object", "r", HttpStatusCode.Forbidden)]
    [InlineData("put_object", "rw", HttpStatusCode.OK)]
    [InlineData("delete_bucket", "a", HttpStatusCode.BadRequest)]
    public async Task Imperative_check_follows_the_argument(string method, string permission, HttpStatusCode expected)
    {
        using var response = await GetAsync($"/{Workspace}/probe/presign?client_method={method}", api.Tokens.ForWorkspace(Workspace, permission));
        Assert.Equal(expected, response.StatusCode);
        if (expected == HttpStatusCode.BadRequest)
        {
            Assert.StartsWith("client_method ", AssertErrorShape(await response.Content.ReadAsStringAsync(Ct)), StringComparison.Ordinal);
        }
    }

    internal static string AssertErrorShape(string body)
    {
        using var json = JsonDocument.Parse(body);
        Assert.Equal(JsonValueKind.Object, json.RootElement.ValueKind);
        Assert.False(json.RootElement.GetProperty("success").GetBoolean());
        var detail = json.RootElement.GetProperty("detail").GetString();
        Assert.False(string.IsNullOrWhiteSpace(detail));
        return detail!;
    }

    private string Forge(string kind)
    {
        var tokens = api.Tokens;
        var claims = tokens.Claims("u-1", $"ws:{Workspace}#a");
        Dictionary<string, object?> Header(string alg) => new() { ["alg"] = alg, ["typ"] = "JWT" };
        string With(string claim, object? value)
        {
            claims[claim] = value;
            return tokens.Sign(HyphaTokenFactory.HS256Header(), claims);
        }

        return kind switch
        {
            "alg-none" => tokens.SignRaw(JsonSerializer.Serialize(Header("none")), JsonSerializer.Serialize(claims), "HS256"),
            "alg-none-unsigned" => tokens.Sign(Header("none"), claims),
            "alg-hs384" => tokens.Sign(Header("HS384"), claims),
            "alg-rs256" => tokens.Sign(Header("RS256"), claims),
            "alg-missing" => tokens.SignRaw("{\"typ\":\"JWT\"}", JsonSerializer.Serialize(claims), "HS256"),
            "wrong-secret" => tokens.Sign(HyphaTokenFactory.HS256Header(), claims, HyphaTokenFactory.NewSecret()),
            "expired" => With("exp", DateTimeOffset.UtcNow.AddMinutes(-5).ToUnixTimeSeconds()),
            "not-yet-valid" => With("nbf", DateTimeOffset.UtcNow.AddMinutes(5).ToUnixTimeSeconds()),
            "wrong-iss" => With("iss", "https://evil.example/"),
            "wrong-aud" => With("aud", "https://evil.example/api/"),
            "malformed-scope" => With("scope", $"ws:{Workspace}#superuser"),
            "garbage" => "this-is-not-a-jwt",
            "truncated-signature" => tokens.Sign(HyphaTokenFactory.HS256Header(), claims)[..^3],
            "extra-segment" => tokens.Sign(HyphaTokenFactory.HS256Header(), claims) + ".e30",
            "tampered-payload" => TamperedPayload(),
            "too-large" => With("scope", $"ws:{Workspace}#a " + new string('x', 17_000)),
            "empty-bearer" => string.Empty,
            _ => throw new ArgumentOutOfRangeException(nameof(kind), kind, null),
        };

        string TamperedPayload()
        {
            var readOnly = tokens.ForWorkspace(Workspace, "r").Split('.');
            var admin = tokens.Create("u-1", "ws:*#a").Split('.');
            return $"{readOnly[0]}.{admin[1]}.{readOnly[2]}";
        }
    }

    private Task<HttpResponseMessage> GetAsync(string path, string? token) => SendAsync(HttpMethod.Get, path, token);

    private async Task<HttpResponseMessage> SendAsync(HttpMethod method, string path, string? token)
    {
        using var request = new HttpRequestMessage(method, path);
        if (token is not null)
        {
            request.Headers.TryAddWithoutValidation("Authorization", "Bearer " + token);
        }

        return await api.Client.SendAsync(request, Ct);
    }
}
