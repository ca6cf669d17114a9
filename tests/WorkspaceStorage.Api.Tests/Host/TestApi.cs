using System.Net;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using WorkspaceStorage.Api.Hosting;
using WorkspaceStorage.Testing.Hypha;

namespace WorkspaceStorage.Api.Tests.Host;

/// <summary>
/// The real API on a real Kestrel bound to 127.0.0.1:0. Tests may add settings, replace services, and map
/// probe routes before it starts.
/// </summary>
internal sealed class TestApi : IAsyncDisposable
{
    private TestApi(WebApplication app, Uri baseAddress, HyphaTokenFactory tokens)
    {
        App = app;
        BaseAddress = baseAddress;
        Tokens = tokens;
        Client = NewClient(baseAddress);
    }

    public WebApplication App { get; }

    public Uri BaseAddress { get; }

    public HyphaTokenFactory Tokens { get; }

    /// <summary>No cookie container and no automatic decompression, so tests see exactly what the server sent.</summary>
    public HttpClient Client { get; }

    public static async Task<TestApi> StartAsync(
        Action<WebApplicationBuilder>? configure = null,
        Action<WebApplication>? map = null,
        IReadOnlyDictionary<string, string?>? settings = null,
        TimeProvider? time = null)
    {
        var secret = HyphaTokenFactory.NewSecret();
        var app = Build(secret, configure, settings, time);
        map?.Invoke(app);
        await app.StartAsync(TestContext.Current.CancellationToken);
        var address = new Uri(app.Urls.Single());
        return new TestApi(app, address, new HyphaTokenFactory(secret, time));
    }

    /// <summary>Builds without starting (for start-up validation tests). <paramref name="secret"/> null leaves it unset.</summary>
    public static WebApplication Build(
        string? secret,
        Action<WebApplicationBuilder>? configure = null,
        IReadOnlyDictionary<string, string?>? settings = null,
        TimeProvider? time = null) =>
        ApiApplication.Build([], builder =>
        {
            builder.WebHost.UseUrls("http://127.0.0.1:0");
            var values = new Dictionary<string, string?>
            {
                ["Hypha:JwtSecret"] = secret,
                ["Api:PublicBaseUrl"] = "http://127.0.0.1:8080/",
                ["Logging:LogLevel:Default"] = "Warning",
                // Said outright: the program itself refuses to start without a cluster to read workspaces from.
                ["Api:WorkspaceSource"] = "memory",
            };
            foreach (var (key, value) in settings ?? new Dictionary<string, string?>())
            {
                values[key] = value;
            }

            builder.Configuration.AddInMemoryCollection(values);
            if (time is not null)
            {
                builder.Services.AddSingleton(time);
            }

            // The probe routes' answers (ProbeRoutes), beside the API's own contract.
            builder.Services.ConfigureHttpJsonOptions(o => o.SerializerOptions.TypeInfoResolverChain.Add(ProbeJsonContext.Default));
            configure?.Invoke(builder);
        });

    public static HttpClient NewClient(Uri baseAddress) =>
        new(new SocketsHttpHandler { UseCookies = false, AutomaticDecompression = DecompressionMethods.None, UseProxy = false })
        {
            BaseAddress = baseAddress,
            Timeout = TimeSpan.FromSeconds(30),
        };

    public async ValueTask DisposeAsync()
    {
        Client.Dispose();
        await App.StopAsync(CancellationToken.None);
        await App.DisposeAsync();
    }
}
