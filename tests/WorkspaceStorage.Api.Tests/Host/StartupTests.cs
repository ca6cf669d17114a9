using System.Net;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;
using WorkspaceStorage.Testing.Hypha;
using WorkspaceStorage.Testing.Support;

namespace WorkspaceStorage.Api.Tests.Host;

/// <summary>Start-up refuses bad configuration, and the secret and tokens never reach a log line.</summary>
public sealed class StartupTests
{
    private static CancellationToken Ct => TestContext.Current.CancellationToken;

    [Fact]
    public async Task Missing_secret_stops_start_up_naming_the_variable()
    {
        await using var app = TestApi.Build(secret: null);
        var error = await Assert.ThrowsAsync<OptionsValidationException>(() => app.StartAsync(Ct));
        Assert.Contains("HYPHA_JWT_SECRET", error.Message, StringComparison.Ordinal);
    }

    /// <summary>
    /// Without a cluster (no KUBERNETES_SERVICE_HOST, no kubeconfig) and no directory of the host's, the API used to serve
    /// an empty in-memory directory: healthy, and 404 for every workspace. It now refuses to start and says what to give.
    /// </summary>
    [Fact]
    public void Without_a_cluster_to_read_workspaces_from_start_up_stops_saying_what_to_give()
    {
        Assert.Null(Environment.GetEnvironmentVariable("KUBERNETES_SERVICE_HOST"));
        var error = Assert.Throws<OptionsValidationException>(() =>
            TestApi.Build(HyphaTokenFactory.NewSecret(), settings: new Dictionary<string, string?> { ["Api:WorkspaceSource"] = null }));
        Assert.Contains("no cluster to read workspaces from", error.Message, StringComparison.Ordinal);
        Assert.Contains("--kubeconfig", error.Message, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Short_secret_stops_start_up_without_echoing_it()
    {
        await using var app = TestApi.Build(secret: "tiny-secret-xyz");
        var error = await Assert.ThrowsAsync<OptionsValidationException>(() => app.StartAsync(Ct));
        Assert.Contains("at least 16 bytes", error.Message, StringComparison.Ordinal);
        Assert.DoesNotContain("tiny-secret-xyz", error.Message, StringComparison.Ordinal);
    }

    [Theory]
    [InlineData(null)]
    [InlineData("not a url")]
    [InlineData("ftp://files.example/")]
    [InlineData("https://user:pw@api.example/")]
    [InlineData("https://api.example/?x=1")]
    public async Task Bad_public_base_url_stops_start_up(string? url)
    {
        await using var app = TestApi.Build(HyphaTokenFactory.NewSecret(), settings: new Dictionary<string, string?> { ["Api:PublicBaseUrl"] = url });
        var error = await Assert.ThrowsAsync<OptionsValidationException>(() => app.StartAsync(Ct));
        Assert.Contains("PublicBaseUrl", error.Message, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Bad_issuer_skew_or_public_workspace_stops_start_up()
    {
        await using var app = TestApi.Build(HyphaTokenFactory.NewSecret(), settings: new Dictionary<string, string?>
        {
            ["Hypha:Issuer"] = " ",
            ["Hypha:ClockSkew"] = "01:00:00",
        });
        var error = await Assert.ThrowsAsync<OptionsValidationException>(() => app.StartAsync(Ct));
        Assert.Contains("Issuer", error.Message, StringComparison.Ordinal);
        Assert.Contains("ClockSkew", error.Message, StringComparison.Ordinal);

        await using var badPublic = TestApi.Build(HyphaTokenFactory.NewSecret(), settings: new Dictionary<string, string?> { ["Api:PublicWorkspaces:0"] = "../x" });
        await Assert.ThrowsAsync<OptionsValidationException>(() => badPublic.StartAsync(Ct));
    }

    [Theory]
    [InlineData("Storage:FileDownloadMode", "Teleport", "FileDownloadMode")]
    [InlineData("Storage:FileDownloadUrlLifetime", "00:00:01", "Storage:FileDownloadUrlLifetime must be between 00:00:10 and 01:00:00")]
    [InlineData("Storage:FileDownloadUrlLifetime", "1.00:00:00", "Storage:FileDownloadUrlLifetime must be between 00:00:10 and 01:00:00")]
    public async Task A_bad_download_mode_or_URL_lifetime_stops_start_up_naming_the_setting(string key, string value, string expected)
    {
        await using var app = TestApi.Build(HyphaTokenFactory.NewSecret(), settings: new Dictionary<string, string?> { [key] = value });
        var error = await Assert.ThrowsAnyAsync<Exception>(() => app.StartAsync(Ct));
        Assert.Contains(expected, error.Message, StringComparison.Ordinal);
    }

    /// <summary>
    /// A bucket under Storage:Backends is one the /s3 proxy forwards to and presigns for, so it is held to the
    /// StorageBackend's endpoint rules: an endpoint the operator would refuse (a path, user info) used to start.
    /// </summary>
    [Theory]
    [InlineData("Endpoint", "http://s3.internal:7480/prefix", "Storage:Backends:main:Endpoint must not have a path")]
    [InlineData("Endpoint", "http://admin:pw@s3.internal:7480", "Storage:Backends:main:Endpoint must not contain user info")]
    [InlineData("PublicEndpoint", "ftp://s3.example.org", "Storage:Backends:main:PublicEndpoint must use http or https")]
    [InlineData("PublicEndpoint", "https://s3.example.org/?x=1", "Storage:Backends:main:PublicEndpoint must not have a query")]
    public async Task A_configured_proxy_bucket_is_held_to_the_StorageBackend_endpoint_rules(string field, string value, string expected)
    {
        var settings = new Dictionary<string, string?>
        {
            ["Storage:Backends:main:Endpoint"] = "http://s3.internal:7480",
            ["Storage:Backends:main:Bucket"] = "hypha-workspaces",
            [$"Storage:Backends:main:{field}"] = value,
        };
        await using var app = TestApi.Build(HyphaTokenFactory.NewSecret(), settings: settings);
        var error = await Assert.ThrowsAsync<OptionsValidationException>(() => app.StartAsync(Ct));
        Assert.Contains(expected, error.Message, StringComparison.Ordinal);
        Assert.DoesNotContain("pw@", error.Message, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Secret_can_come_from_a_file_and_the_environment_style_keys()
    {
        var secret = HyphaTokenFactory.NewSecret();
        var file = Path.Combine(Path.GetTempPath(), $"hypha-secret-{Guid.NewGuid():N}");
        await File.WriteAllTextAsync(file, secret + "\n", Ct);
        try
        {
            await using var app = TestApi.Build(secret: null, settings: new Dictionary<string, string?> { ["HYPHA_JWT_SECRET_FILE"] = file });
            ProbeRoutes.Map(app);
            await app.StartAsync(Ct);
            using var client = TestApi.NewClient(new Uri(app.Urls.Single()));
            using var request = new HttpRequestMessage(HttpMethod.Get, "/ws-alpha/probe/read");
            request.Headers.TryAddWithoutValidation("Authorization", "Bearer " + new HyphaTokenFactory(secret).ForWorkspace("ws-alpha", "r"));

            using var response = await client.SendAsync(request, Ct);
            Assert.Equal(HttpStatusCode.OK, response.StatusCode);
            await app.StopAsync(Ct);
        }
        finally
        {
            File.Delete(file);
        }

        await using var fromVariable = TestApi.Build(secret: null, settings: new Dictionary<string, string?> { ["HYPHA_JWT_SECRET"] = secret });
        await fromVariable.StartAsync(Ct);
        await fromVariable.StopAsync(Ct);
    }

    [Fact]
    public async Task Tokens_and_the_secret_never_appear_in_logs()
    {
        var sink = new LogCapture { RecordScopes = true };
        await using var api = await TestApi.StartAsync(
            configure: b => b.Logging.AddProvider(sink),
            map: ProbeRoutes.Map,
            settings: new Dictionary<string, string?> { ["Logging:LogLevel:Default"] = "Trace" });

        var valid = api.Tokens.ForWorkspace("ws-alpha", "r");
        var forged = api.Tokens.Sign(HyphaTokenFactory.HS256Header(), api.Tokens.Claims("u-1", "ws:ws-alpha#a"), HyphaTokenFactory.NewSecret());
        var expired = api.Tokens.Create("u-1", "ws:ws-alpha#a", lifetime: TimeSpan.FromMinutes(-10));
        foreach (var token in new[] { valid, forged, expired, "garbage.garbage.garbage" })
        {
            foreach (var path in new[] { "/ws-alpha/probe/read", "/probe/throw" })
            {
                using var request = new HttpRequestMessage(HttpMethod.Get, path);
                request.Headers.TryAddWithoutValidation("Authorization", "Bearer " + token);
                using var response = await api.Client.SendAsync(request, Ct);
            }
        }

        var logs = string.Join("\n", sink.Lines);
        Assert.Contains("Refused credentials", logs, StringComparison.Ordinal);
        Assert.Contains("Unhandled error", logs, StringComparison.Ordinal);
        foreach (var token in new[] { valid, forged, expired })
        {
            foreach (var part in token.Split('.'))
            {
                Assert.DoesNotContain(part, logs, StringComparison.Ordinal);
            }
        }

        Assert.DoesNotContain(api.Tokens.Secret, logs, StringComparison.Ordinal);
    }
}
