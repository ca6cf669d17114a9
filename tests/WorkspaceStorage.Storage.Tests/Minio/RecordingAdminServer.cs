using System.Collections.Concurrent;
using System.Net;
using System.Text;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Hosting.Server;
using Microsoft.AspNetCore.Hosting.Server.Features;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Http.Features;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;
using WorkspaceStorage.Core.Signing;

namespace WorkspaceStorage.Storage.Tests.Minio;

/// <summary>One request as the server saw it: raw path, parsed query, headers, body bytes.</summary>
internal sealed record RecordedRequest(
    string Method,
    string Path,
    IReadOnlyList<KeyValuePair<string, string>> Query,
    IReadOnlyDictionary<string, string> Headers,
    byte[] Body)
{
    /// <summary>The admin command: the path after /minio/admin/v3/.</summary>
    public string Command => Path.StartsWith("/minio/admin/v3/", StringComparison.Ordinal) ? Path["/minio/admin/v3/".Length..] : Path;

    public string? Header(string name) => Headers.TryGetValue(name.ToLowerInvariant(), out var value) ? value : null;

    /// <summary>Query as a sorted multiset, so that order (which SigV4 ignores) does not matter.</summary>
    public IReadOnlyList<string> SortedQuery => [.. Query.Select(p => p.Key + "=" + p.Value).Order(StringComparer.Ordinal)];

    public override string ToString() => $"{Method} {Path} ?{string.Join('&', SortedQuery)} ({Body.Length} bytes)";
}

internal sealed record ScriptedResponse(int Status, byte[] Body, string ContentType = "application/json")
{
    public static ScriptedResponse Empty(int status) => new(status, []);

    public static ScriptedResponse Json(string json, int status = 200) => new(status, Encoding.UTF8.GetBytes(json));

    public static ScriptedResponse Error(int status, string code) =>
        Json($$"""{"Code":"{{code}}","Message":"scripted","Resource":"/","RequestId":"1"}""", status);
}

/// <summary>
/// An HTTP server on 127.0.0.1 that records every request and answers with a script. Stands in for a MinIO server,
/// which cannot run on this machine. Kestrel binds port 0, so the kernel picks a free port atomically: no window in
/// which another process can take it (the old pick-then-bind HttpListener raced, "Address already in use").
/// </summary>
internal sealed class RecordingAdminServer : IAsyncDisposable
{
    private readonly WebApplication app;
    private readonly Func<RecordedRequest, ScriptedResponse> handler;
    private readonly ConcurrentQueue<RecordedRequest> requests = new();

    public RecordingAdminServer(Func<RecordedRequest, ScriptedResponse> handler)
    {
        this.handler = handler;
        var builder = WebApplication.CreateSlimBuilder(new WebApplicationOptions { ContentRootPath = AppContext.BaseDirectory });
        builder.Logging.ClearProviders();
        builder.WebHost.UseKestrel(kestrel =>
        {
            kestrel.Listen(IPAddress.Loopback, 0);
            kestrel.AddServerHeader = false;
        });
        app = builder.Build();
        app.Run(HandleAsync);
        // Synchronous so that tests can keep a server in a field initializer; Kestrel starts in milliseconds.
        app.StartAsync().GetAwaiter().GetResult();
        var address = app.Services.GetRequiredService<IServer>().Features.Get<IServerAddressesFeature>()!.Addresses.First();
        Port = new Uri(address).Port;
    }

    public int Port { get; }

    public Uri Endpoint => new($"http://127.0.0.1:{Port}");

    /// <summary>host:port, as madmin.New wants it.</summary>
    public string HostPort => $"127.0.0.1:{Port}";

    public IReadOnlyList<RecordedRequest> Requests => [.. requests];

    public void Clear() => requests.Clear();

    public async ValueTask DisposeAsync()
    {
        await app.StopAsync();
        await app.DisposeAsync();
    }

    private async Task HandleAsync(HttpContext context)
    {
        using var body = new MemoryStream();
        await context.Request.Body.CopyToAsync(body, context.RequestAborted);
        // The request target exactly as sent (path and query still escaped), which is what SigV4 signs.
        var raw = context.Features.Get<IHttpRequestFeature>()?.RawTarget ?? context.Request.Path + context.Request.QueryString;
        var q = raw.IndexOf('?', StringComparison.Ordinal);
        var headers = context.Request.Headers.ToDictionary(h => h.Key.ToLowerInvariant(), h => h.Value.ToString(), StringComparer.Ordinal);
        var request = new RecordedRequest(context.Request.Method, q < 0 ? raw : raw[..q],
            HttpRequestSigning.ParseQuery(q < 0 ? "" : raw[q..]), headers, body.ToArray());
        requests.Enqueue(request);
        ScriptedResponse response;
        try
        {
            response = handler(request);
        }
        catch (Exception ex)
        {
            response = ScriptedResponse.Json($$"""{"Code":"TestServerError","Message":"{{ex.GetType().Name}}"}""", 500);
        }

        context.Response.StatusCode = response.Status;
        if (response.Status is 204 or 304)
        {
            return; // no body allowed
        }

        context.Response.ContentType = response.ContentType;
        context.Response.ContentLength = response.Body.Length;
        await context.Response.Body.WriteAsync(response.Body, context.RequestAborted);
    }
}
