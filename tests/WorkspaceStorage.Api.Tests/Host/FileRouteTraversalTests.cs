using System.Text.Json;

namespace WorkspaceStorage.Api.Tests.Host;

/// <summary>
/// Traversal attempts sent raw to a catch-all route shaped like <c>/{workspace}/files/{**path}</c>: whatever Kestrel
/// and routing decode, the key handed to the handler never leaves <c>ws-alpha/</c>.
/// </summary>
public sealed class FileRouteTraversalTests : IAsyncLifetime
{
    private TestApi api = null!;
    private Dictionary<string, string> auth = null!;

    private static CancellationToken Ct => TestContext.Current.CancellationToken;

    public async ValueTask InitializeAsync()
    {
        api = await TestApi.StartAsync(map: ProbeRoutes.Map);
        // Admin on two workspaces: a traversal into ws-beta must be stopped by the path rules, not by permissions.
        auth = new Dictionary<string, string> { ["Authorization"] = "Bearer " + api.Tokens.Create("u-1", "ws:ws-alpha#a ws:ws-beta#a") };
    }

    public ValueTask DisposeAsync() => api.DisposeAsync();

    [Theory]
    [InlineData("/ws-alpha/files/dir/sub/", "ws-alpha/dir/sub/", true)]
    [InlineData("/ws-alpha/files/a/b/c.txt", "ws-alpha/a/b/c.txt", false)]
    [InlineData("/ws-alpha/files/with%20space.txt", "ws-alpha/with space.txt", false)]
    [InlineData("/ws-alpha/files/", "ws-alpha/", true)]
    public async Task Ordinary_paths_and_trailing_slash_survive_routing(string target, string key, bool isDirectory)
    {
        var (status, body) = await RawHttp.GetAsync(api.BaseAddress, target, auth, Ct);

        Assert.Equal(200, status);
        using var json = JsonDocument.Parse(body);
        Assert.Equal(key, json.RootElement.GetProperty("key").GetString());
        Assert.Equal(isDirectory, json.RootElement.GetProperty("isDirectory").GetBoolean());
    }

    [Theory]
    [InlineData("/ws-alpha/files/../ws-beta/secret")]
    [InlineData("/ws-alpha/files/../../ws-beta/secret")]
    [InlineData("/ws-alpha/files/%2e%2e/ws-beta/secret")]
    [InlineData("/ws-alpha/files/%2e%2e%2fws-beta%2fsecret")]
    [InlineData("/ws-alpha/files/%2E%2E%2Fws-beta")]
    [InlineData("/ws-alpha/files/..%2f..%2fws-beta")]
    [InlineData("/ws-alpha/files/%252e%252e%252fws-beta")]
    [InlineData("/ws-alpha/files/a%5c..%5c..%5cws-beta")]
    [InlineData("/ws-alpha/files/a/%2e/b")]
    [InlineData("/ws-alpha/files//etc/passwd")]
    [InlineData("/ws-alpha/files/a%00b")]
    [InlineData("/ws-alpha/files/.%2e/ws-beta")]
    public async Task Traversal_attempts_never_produce_a_key_outside_the_workspace(string target)
    {
        var (status, body) = await RawHttp.GetAsync(api.BaseAddress, target, auth, Ct);

        if (status == 200)
        {
            using var json = JsonDocument.Parse(body);
            var key = json.RootElement.GetProperty("key").GetString()!;
            Assert.StartsWith("ws-alpha/", key, StringComparison.Ordinal);
            Assert.DoesNotContain("..", key.Split('/'));
        }
        else
        {
            Assert.Contains(status, new[] { 400, 404 });
        }

        Assert.DoesNotContain("ws-beta/secret\"", body, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Encoded_traversal_that_reaches_the_handler_is_a_400_naming_the_path()
    {
        var (status, body) = await RawHttp.GetAsync(api.BaseAddress, "/ws-alpha/files/..%2f..%2fws-beta", auth, Ct);

        Assert.Equal(400, status);
        using var json = JsonDocument.Parse(body);
        Assert.StartsWith("path ", json.RootElement.GetProperty("detail").GetString(), StringComparison.Ordinal);
    }

    [Fact]
    public async Task Token_for_another_workspace_cannot_read_through_the_file_route()
    {
        var other = new Dictionary<string, string> { ["Authorization"] = "Bearer " + api.Tokens.ForWorkspace("ws-beta", "a") };
        var (status, _) = await RawHttp.GetAsync(api.BaseAddress, "/ws-alpha/files/x", other, Ct);
        Assert.Equal(403, status);
    }
}
