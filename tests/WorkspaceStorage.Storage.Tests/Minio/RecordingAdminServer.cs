using System.Collections.Concurrent;
using System.Net;
using System.Net.Sockets;
using System.Text;
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
/// An HTTP server on 127.0.0.1 (free port) that records every request and answers with a script. Stands in for a
/// MinIO server, which cannot run on this machine.
/// </summary>
internal sealed class RecordingAdminServer : IAsyncDisposable
{
    private readonly HttpListener listener;
    private readonly Func<RecordedRequest, ScriptedResponse> handler;
    private readonly ConcurrentQueue<RecordedRequest> requests = new();
    private readonly CancellationTokenSource stopping = new();
    private readonly Task loop;

    public RecordingAdminServer(Func<RecordedRequest, ScriptedResponse> handler)
    {
        this.handler = handler;
        (listener, Port) = Start();
        loop = Task.Run(ServeAsync);
    }

    public int Port { get; }

    public Uri Endpoint => new($"http://127.0.0.1:{Port}");

    /// <summary>host:port, as madmin.New wants it.</summary>
    public string HostPort => $"127.0.0.1:{Port}";

    public IReadOnlyList<RecordedRequest> Requests => [.. requests];

    public void Clear() => requests.Clear();

    public async ValueTask DisposeAsync()
    {
        await stopping.CancelAsync();
        listener.Stop();
        listener.Close();
        try
        {
            await loop;
        }
        catch (Exception ex) when (ex is HttpListenerException or ObjectDisposedException or OperationCanceledException)
        {
        }

        stopping.Dispose();
    }

    /// <summary>A port that was free a moment ago; several tries cover the race with other processes.</summary>
    public static int FreePort()
    {
        using var probe = new TcpListener(IPAddress.Loopback, 0);
        probe.Start();
        return ((IPEndPoint)probe.LocalEndpoint).Port;
    }

    private static (HttpListener, int) Start()
    {
        for (var attempt = 0; ; attempt++)
        {
            var port = FreePort();
            var candidate = new HttpListener();
            candidate.Prefixes.Add($"http://127.0.0.1:{port}/");
            try
            {
                candidate.Start();
                return (candidate, port);
            }
            catch (HttpListenerException) when (attempt < 5)
            {
                candidate.Close();
            }
        }
    }

    private async Task ServeAsync()
    {
        while (!stopping.IsCancellationRequested)
        {
            HttpListenerContext context;
            try
            {
                context = await listener.GetContextAsync();
            }
            catch (Exception ex) when (ex is HttpListenerException or ObjectDisposedException or InvalidOperationException)
            {
                return;
            }

            _ = Task.Run(() => HandleAsync(context));
        }
    }

    private async Task HandleAsync(HttpListenerContext context)
    {
        try
        {
            using var body = new MemoryStream();
            await context.Request.InputStream.CopyToAsync(body);
            var raw = context.Request.RawUrl ?? "/";
            var q = raw.IndexOf('?', StringComparison.Ordinal);
            var headers = new Dictionary<string, string>(StringComparer.Ordinal);
            foreach (var name in context.Request.Headers.AllKeys)
            {
                if (name is not null)
                {
                    headers[name.ToLowerInvariant()] = context.Request.Headers[name] ?? "";
                }
            }

            var request = new RecordedRequest(context.Request.HttpMethod, q < 0 ? raw : raw[..q],
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
            context.Response.ContentType = response.ContentType;
            context.Response.ContentLength64 = response.Body.Length;
            await context.Response.OutputStream.WriteAsync(response.Body);
            context.Response.Close();
        }
        catch (Exception ex) when (ex is HttpListenerException or ObjectDisposedException or IOException)
        {
            // the client went away (timeout tests)
        }
    }
}
