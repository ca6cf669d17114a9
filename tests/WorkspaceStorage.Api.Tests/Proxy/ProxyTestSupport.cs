using System.Collections.Concurrent;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Http.Features;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;
using WorkspaceStorage.Api.Presigning;
using WorkspaceStorage.Api.Proxy;
using WorkspaceStorage.Api.Tests.Host;
using WorkspaceStorage.Storage.Backends;
using WorkspaceStorage.Testing.Support;

namespace WorkspaceStorage.Api.Tests.Proxy;

/// <summary>The real API with the proxy on, on a fixed loopback port that is also its Api:PublicBaseUrl, serving the given buckets.</summary>
internal sealed class ProxyApi : IAsyncDisposable
{
    private ProxyApi(TestApi api) => Api = api;

    public TestApi Api { get; }

    public HttpClient Client => Api.Client;

    public Uri BaseAddress => Api.BaseAddress;

    public IPresignedUrlRewriter Rewriter => Api.App.Services.GetRequiredService<IPresignedUrlRewriter>();

    /// <summary>Its public URL names its own port (presigned URLs are rewritten to it), so the port is chosen first: see <see cref="FreeTcpPort"/>.</summary>
    public static Task<ProxyApi> StartAsync(IEnumerable<S3Location> locations, bool enabled = true, TimeSpan? headersTimeout = null,
        Action<WebApplicationBuilder>? configure = null) =>
        FreeTcpPort.StartAsync(port => StartAsync(port, locations, enabled, headersTimeout, configure));

    private static async Task<ProxyApi> StartAsync(int port, IEnumerable<S3Location> locations, bool enabled, TimeSpan? headersTimeout,
        Action<WebApplicationBuilder>? configure)
    {
        var baseUrl = $"http://127.0.0.1:{port}/";
        var settings = new Dictionary<string, string?>
        {
            ["Api:PublicBaseUrl"] = baseUrl,
            ["Api:S3Proxy:Enabled"] = enabled ? "true" : "false",
        };
        if (headersTimeout is { } timeout)
        {
            settings["Api:S3Proxy:ResponseHeadersTimeout"] = timeout.ToString("c");
        }

        var targets = new StaticS3ProxyTargets(locations);
        var api = await TestApi.StartAsync(
            configure: builder =>
            {
                builder.WebHost.UseUrls(baseUrl.TrimEnd('/'));
                builder.Services.AddSingleton<IS3ProxyTargets>(targets);
                configure?.Invoke(builder);
            },
            settings: settings);
        return new ProxyApi(api);
    }

    /// <summary>A presigned URL rewritten to go through this API's /s3 proxy (asserting that it was rewritten).</summary>
    public string Proxied(string presignedUrl)
    {
        var rewritten = Rewriter.Rewrite(Core.Workspaces.WorkspaceId.Parse("ws-test"), presignedUrl);
        Assert.StartsWith(BaseAddress.ToString().TrimEnd('/') + "/s3/", rewritten, StringComparison.Ordinal);
        return rewritten;
    }

    /// <summary>A URI sent exactly as written (no client-side canonicalisation of path or query).</summary>
    public static Uri Exact(string url) => new(url, new UriCreationOptions { DangerousDisablePathAndQueryCanonicalization = true });

    public ValueTask DisposeAsync() => Api.DisposeAsync();
}

/// <summary>What the fake S3 server received.</summary>
internal sealed record SeenRequest(string Method, string RawTarget, IReadOnlyDictionary<string, string> Headers, long BodyLength)
{
    public string? Header(string name) => Headers.TryGetValue(name, out var value) ? value : null;
}

/// <summary>
/// A stand-in S3 server on real Kestrel: records every request exactly as it arrived (raw target, headers, body
/// length) and answers as the test says. For what RGW cannot be made to do (stall, trickle, answer with odd headers).
/// </summary>
internal sealed class FakeS3 : IAsyncDisposable
{
    private readonly WebApplication app;

    private FakeS3(WebApplication app, Uri endpoint)
    {
        this.app = app;
        Endpoint = endpoint;
    }

    public Uri Endpoint { get; }

    public ConcurrentQueue<SeenRequest> Seen { get; } = new();

    public Func<HttpContext, Task> Respond { get; set; } = context =>
    {
        context.Response.StatusCode = 200;
        context.Response.ContentType = "text/plain";
        return context.Response.WriteAsync("fake-s3-body");
    };

    public static async Task<FakeS3> StartAsync()
    {
        var builder = WebApplication.CreateSlimBuilder();
        builder.WebHost.UseUrls("http://127.0.0.1:0");
        builder.Logging.ClearProviders();
        var app = builder.Build();
        FakeS3? fake = null;
        app.Run(async context =>
        {
            var raw = context.Features.Get<IHttpRequestFeature>()!.RawTarget;
            var headers = context.Request.Headers.ToDictionary(h => h.Key, h => h.Value.ToString(), StringComparer.OrdinalIgnoreCase);
            long length = 0;
            var buffer = new byte[64 * 1024];
            int n;
            while ((n = await context.Request.Body.ReadAsync(buffer, context.RequestAborted)) > 0)
            {
                length += n;
            }

            fake!.Seen.Enqueue(new SeenRequest(context.Request.Method, raw, headers, length));
            await fake.Respond(context);
        });
        await app.StartAsync(TestContext.Current.CancellationToken);
        fake = new FakeS3(app, new Uri(app.Urls.Single()));
        return fake;
    }

    public SeenRequest Single()
    {
        Assert.Single(Seen);
        Seen.TryPeek(out var seen);
        return seen!;
    }

    public async ValueTask DisposeAsync()
    {
        await app.StopAsync(CancellationToken.None);
        await app.DisposeAsync();
    }
}
