using System.Text;
using Hypha.Rpc.Tokens;
using Hypha.Rpc.Transport;

namespace Hypha.Rpc.Tests.Unit;

public sealed class OptionsAndTokenTests
{
    [Theory]
    [InlineData("http://127.0.0.1:9527", "ws://127.0.0.1:9527/ws")]
    [InlineData("https://hypha.example.org/", "wss://hypha.example.org/ws")]
    [InlineData("wss://hypha.example.org/ws", "wss://hypha.example.org/ws")]
    [InlineData("https://example.org/hypha", "wss://example.org/hypha/ws")]
    public void Server_url_becomes_the_websocket_endpoint(string url, string expected) =>
        Assert.Equal(expected, HyphaRpcOptions.ToWebSocketUri(url).ToString());

    [Theory]
    [InlineData("ftp://x", "ServerUrl")]
    [InlineData("not a url", "ServerUrl")]
    [InlineData("http://x/?workspace=public", "ServerUrl")]
    [InlineData("http://user:pw@x", "ServerUrl")]
    public void Bad_server_urls_are_refused_naming_the_setting(string url, string setting)
    {
        var error = Assert.Throws<ArgumentException>(() => new HyphaRpcOptions { ServerUrl = url }.Validate());
        Assert.Contains($"HyphaRpcOptions.{setting}", error.Message);
    }

    [Fact]
    public void Other_settings_are_checked_with_the_setting_named()
    {
        var good = new HyphaRpcOptions { ServerUrl = "http://x" };
        good.Validate();
        Assert.Contains("ClientId", Assert.Throws<ArgumentException>(() => (good with { ClientId = "a/b" }).Validate()).Message);
        Assert.Contains("Workspace", Assert.Throws<ArgumentException>(() => (good with { Workspace = "ws:x" }).Validate()).Message);
        Assert.Contains("CallTimeout", Assert.Throws<ArgumentException>(() => (good with { CallTimeout = TimeSpan.Zero }).Validate()).Message);
        Assert.Contains("DeadSocketTimeout", Assert.Throws<ArgumentException>(() => (good with { DeadSocketTimeout = TimeSpan.FromSeconds(1) }).Validate()).Message);
        Assert.Contains("MaxFrameBytes", Assert.Throws<ArgumentException>(() => (good with { MaxFrameBytes = 1000 }).Validate()).Message);
        Assert.Contains("ReconnectMaxDelay", Assert.Throws<ArgumentException>(() => (good with { ReconnectMaxDelay = TimeSpan.FromMilliseconds(1) }).Validate()).Message);
    }

    [Fact]
    public void Tokens_never_show_in_text_and_their_jwt_expiry_is_read()
    {
        var payload = Convert.ToBase64String(Encoding.UTF8.GetBytes("""{"exp":1893456000}""")).TrimEnd('=').Replace('+', '-').Replace('/', '_');
        var jwt = $"eyJhbGciOiJIUzI1NiJ9.{payload}.c2lnbmF0dXJl";
        var token = new HyphaToken(jwt);

        Assert.Equal(DateTimeOffset.FromUnixTimeSeconds(1893456000), token.ExpiresAt);
        Assert.DoesNotContain(jwt, token.ToString());
        Assert.Null(new HyphaToken("plain-root-token").ExpiresAt);
        Assert.DoesNotContain("plain-root-token", FixedTokenSource.FromValue("plain-root-token").ToString());
        Assert.DoesNotContain("secret-root", new RootTokenExchangeSource(SecretText.FromValue("secret-root")).ToString());
        var handshake = new HandshakeRequest("tok-secret", "public", "c1", "rt-secret");
        Assert.DoesNotContain("secret", handshake.ToString());
        Assert.Equal("bad *** and ***", handshake.Redact("bad tok-secret and rt-secret"));
    }

    [Fact]
    public void A_refusal_from_Hypha_becomes_an_authentication_error_without_the_token()
    {
        var handshake = new HandshakeRequest("tok-secret", "public", "c1", null);

        var error = Assert.Throws<HyphaAuthenticationException>(() =>
            ConnectionInfo.Parse("""{"type":"error","message":"Authentication error: token tok-secret has expired"}""", handshake));

        Assert.DoesNotContain("tok-secret", error.Message);
        Assert.Contains("expired", error.Message);
        Assert.Throws<HyphaConnectionException>(() => ConnectionInfo.Parse("""{"type":"connection_info"}""", handshake));
        var info = ConnectionInfo.Parse("""{"type":"connection_info","workspace":"public","manager_id":"m1","user":{"id":"u"},"reconnection_token":"rt","reconnection_token_life_time":172800}""", handshake);
        Assert.Equal(("public", "m1", TimeSpan.FromDays(2)), (info.Workspace, info.ManagerId, info.ReconnectionTokenLifetime!.Value));
        Assert.DoesNotContain("rt\"", info.ToString());
    }

    [Fact]
    public async Task Secret_files_are_read_again_each_time()
    {
        var path = Path.GetTempFileName();
        try
        {
            File.WriteAllText(path, "first\n");
            var secret = SecretText.FromFile(path);
            Assert.Equal("first", await secret.ReadAsync(CancellationToken.None));
            File.WriteAllText(path, "second");
            Assert.Equal("second", await secret.ReadAsync(CancellationToken.None));
            File.WriteAllText(path, "  ");
            await Assert.ThrowsAsync<HyphaConnectionException>(async () => await secret.ReadAsync(CancellationToken.None));
        }
        finally
        {
            File.Delete(path);
        }
    }

    [Fact]
    public void Backoff_doubles_with_jitter_and_stays_bounded()
    {
        var backoff = new ReconnectBackoff(TimeSpan.FromMilliseconds(100), TimeSpan.FromSeconds(1));
        var delays = Enumerable.Range(0, 10).Select(_ => backoff.Next().TotalMilliseconds).ToList();

        Assert.InRange(delays[0], 50, 100);
        Assert.InRange(delays[3], 400, 800);
        Assert.All(delays.Skip(4), d => Assert.InRange(d, 500, 1000));
        backoff.Reset();
        Assert.InRange(backoff.Next().TotalMilliseconds, 50, 100);
    }
}
