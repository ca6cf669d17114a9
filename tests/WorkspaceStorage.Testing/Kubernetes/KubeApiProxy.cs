using System.Collections.Concurrent;
using System.Net;
using System.Security.Cryptography.X509Certificates;
using System.Text.Json.Nodes;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Hosting.Server;
using Microsoft.AspNetCore.Hosting.Server.Features;
using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;
using WorkspaceStorage.Kubernetes.Runtime;

namespace WorkspaceStorage.Testing.Kubernetes;

/// <summary>
/// A small HTTP proxy in front of the real API server, for what a real server cannot be made to do on cue: it counts
/// requests (verb, resource, subresource), answers chosen requests with a fault (500, 503, 409 Conflict) in the
/// server's own Status shape, ends or resets open watch streams, and answers watches that resume from a resourceVersion
/// with 410 Expired. Everything else passes through unchanged, the client's bearer token included, so authentication
/// and RBAC stay the server's. Plain HTTP on 127.0.0.1 towards the client, HTTPS (the server's pinned certificate)
/// towards the server.
/// </summary>
public sealed class KubeApiProxy : IAsyncDisposable
{
    private static readonly HashSet<string> HopByHop = new(StringComparer.OrdinalIgnoreCase)
    {
        "Connection", "Keep-Alive", "Transfer-Encoding", "Upgrade", "Proxy-Connection", "Host",
    };

    private readonly WebApplication _app;
    private readonly HttpClient _upstream;
    private readonly Uri _server;
    private readonly ConcurrentDictionary<(string Verb, ResourceDescriptor Type, string? Subresource), int> _counts = new();
    private readonly InjectedFaults _faults = new();
    private readonly List<ConflictInjection> _conflicts = [];
    private readonly Lock _gate = new();
    private readonly ConcurrentDictionary<HttpContext, CancellationTokenSource> _watches = new();
    private int _expireWatches;

    private KubeApiProxy(WebApplication app, HttpClient upstream, Uri server)
    {
        _app = app;
        _upstream = upstream;
        _server = server;
    }

    /// <summary>http://127.0.0.1:{port}</summary>
    public Uri BaseAddress { get; private set; } = null!;

    /// <summary>Watch streams open through the proxy now.</summary>
    public int OpenWatchCount => _watches.Count;

    public static async Task<KubeApiProxy> StartAsync(Uri server, X509Certificate2 certificate, CancellationToken cancellationToken)
    {
        var builder = WebApplication.CreateSlimBuilder(new WebApplicationOptions { ContentRootPath = AppContext.BaseDirectory });
        builder.Logging.ClearProviders();
        builder.WebHost.UseKestrel(kestrel =>
        {
            kestrel.Listen(IPAddress.Loopback, 0);
            kestrel.AddServerHeader = false;
            kestrel.Limits.MinResponseDataRate = null; // watch streams are idle for long stretches
        });
        var pinned = certificate.GetCertHashString();
        var upstream = new HttpClient(new SocketsHttpHandler
        {
            UseProxy = false,
            AllowAutoRedirect = false,
            AutomaticDecompression = DecompressionMethods.None,
            SslOptions = { RemoteCertificateValidationCallback = (_, presented, _, _) => presented?.GetCertHashString() == pinned },
        })
        { Timeout = Timeout.InfiniteTimeSpan };
        var app = builder.Build();
        var proxy = new KubeApiProxy(app, upstream, server);
        app.Run(proxy.HandleAsync);
        await app.StartAsync(cancellationToken);
        var address = app.Services.GetRequiredService<IServer>().Features.Get<IServerAddressesFeature>()!.Addresses.First();
        proxy.BaseAddress = new Uri(address.Replace("[::]", "127.0.0.1", StringComparison.Ordinal));
        return proxy;
    }

    // ---------- request counting ----------

    /// <summary>Requests with <paramref name="verb"/> on <paramref name="type"/> (and subresource), faults included.</summary>
    public int RequestCount(string verb, ResourceDescriptor type, string? subresource = null) =>
        _counts.Where(c => c.Key.Verb == verb && Same(c.Key.Type, type) && c.Key.Subresource == subresource).Sum(c => c.Value);

    /// <summary><paramref name="resource"/> is a plural ("secrets", across groups) or plural/subresource ("workspacestorages/status").</summary>
    public int RequestCount(string verb, string resource)
    {
        var (plural, subresource) = SplitResource(resource);
        return _counts.Where(c => c.Key.Verb == verb && c.Key.Type.Plural == plural && c.Key.Subresource == subresource).Sum(c => c.Value);
    }

    /// <summary>create + update + patch + delete on the type and its subresources.</summary>
    public int WriteCount(ResourceDescriptor type) => _counts.Where(c => Same(c.Key.Type, type) && IsWrite(c.Key.Verb)).Sum(c => c.Value);

    public int WriteCount(string resource)
    {
        var (plural, subresource) = SplitResource(resource);
        return _counts.Where(c => c.Key.Type.Plural == plural && (subresource is null || c.Key.Subresource == subresource) && IsWrite(c.Key.Verb)).Sum(c => c.Value);
    }

    public int TotalRequestCount => _counts.Values.Sum();

    public void ResetRequestCounts() => _counts.Clear();

    // ---------- faults ----------

    /// <summary>
    /// Requests matching <paramref name="match"/> (all when null) answer <paramref name="statusCode"/> with a Status
    /// body, for at most <paramref name="count"/> requests and/or <paramref name="duration"/>, or until disposed.
    /// </summary>
    public InjectedFault FailRequests(int statusCode, Func<KubeRequest, bool>? match = null, int? count = null, TimeSpan? duration = null) =>
        _faults.Add(statusCode, match, count, duration, TimeProvider.System);

    /// <summary>Removes every injected fault and conflict.</summary>
    public void ClearFaults()
    {
        _faults.Clear();
        lock (_gate)
        {
            _conflicts.Clear();
        }
    }

    /// <summary>The next <paramref name="count"/> updates/patches of the object (or of its /status) answer 409 Conflict, as a write racing another writer does.</summary>
    public void InjectConflicts(ResourceDescriptor type, string? ns, string name, int count = 1, bool onStatus = false)
    {
        lock (_gate)
        {
            _conflicts.Add(new ConflictInjection(type, type.Namespaced ? ns : null, name, onStatus ? "status" : null) { Remaining = count });
        }
    }

    // ---------- watches ----------

    /// <summary>
    /// Ends every open watch stream, as an API server restart does; <paramref name="abortConnections"/> resets the
    /// connections instead (clients see an I/O error). Returns how many were dropped.
    /// </summary>
    public int DropWatches(bool abortConnections = false)
    {
        var dropped = 0;
        foreach (var (context, cancel) in _watches)
        {
            try
            {
                if (abortConnections)
                {
                    context.Abort();
                }

                cancel.Cancel();
                dropped++;
            }
            catch (ObjectDisposedException)
            {
                // that watch ended on its own just now
            }
        }

        return dropped;
    }

    /// <summary>
    /// The next <paramref name="forceNextWatches"/> watches that resume from a resourceVersion get the server's 410
    /// Expired ERROR event (what an etcd compaction past that version gives), and every open watch ends, so clients
    /// resume, meet 410 and must list again.
    /// </summary>
    public void ExpireWatchHistory(int forceNextWatches = 1)
    {
        Interlocked.Exchange(ref _expireWatches, forceNextWatches);
        DropWatches();
    }

    public async ValueTask DisposeAsync()
    {
        DropWatches(abortConnections: true);
        await _app.StopAsync(CancellationToken.None);
        await _app.DisposeAsync();
        _upstream.Dispose();
    }

    // ---------- the proxy ----------

    private async Task HandleAsync(HttpContext context)
    {
        var request = KubeRequest.Parse(context.Request.Method, context.Request.Path.Value ?? "/", context.Request.Query);
        if (request is not null)
        {
            _counts.AddOrUpdate((request.Verb, request.Type, request.Subresource), 1, static (_, n) => n + 1);
            if (TakeFault(request) is { } code)
            {
                await WriteStatusAsync(context, code, request);
                return;
            }

            if (request.Verb == "watch" && context.Request.Query.ContainsKey("resourceVersion") &&
                context.Request.Query["resourceVersion"] is var rv && rv != "" && rv != "0" && TakeExpiry())
            {
                await WriteExpiredAsync(context, rv.ToString());
                return;
            }
        }

        using var cancel = CancellationTokenSource.CreateLinkedTokenSource(context.RequestAborted);
        var isWatch = request?.Verb == "watch";
        if (isWatch)
        {
            _watches[context] = cancel;
        }

        try
        {
            await ForwardAsync(context, cancel.Token);
        }
        catch (OperationCanceledException) when (cancel.IsCancellationRequested)
        {
            // a dropped watch, or the client went away: the response simply ends
        }
        catch (HttpRequestException error) when (!context.Response.HasStarted)
        {
            context.Response.StatusCode = StatusCodes.Status502BadGateway;
            await context.Response.WriteAsync($"proxy: the API server did not answer: {error.Message}", CancellationToken.None);
        }
        finally
        {
            if (isWatch)
            {
                _watches.TryRemove(context, out _);
            }
        }
    }

    private async Task ForwardAsync(HttpContext context, CancellationToken cancellationToken)
    {
        var incoming = context.Request;
        using var outgoing = new HttpRequestMessage(new HttpMethod(incoming.Method), new Uri(_server, incoming.Path + incoming.QueryString));
        if (incoming.ContentLength > 0 || incoming.Headers.TransferEncoding.Count > 0)
        {
            outgoing.Content = new StreamContent(incoming.Body);
        }

        foreach (var (name, values) in incoming.Headers)
        {
            if (HopByHop.Contains(name))
            {
                continue;
            }

            if (!outgoing.Headers.TryAddWithoutValidation(name, values.ToArray()))
            {
                outgoing.Content?.Headers.TryAddWithoutValidation(name, values.ToArray());
            }
        }

        using var response = await _upstream.SendAsync(outgoing, HttpCompletionOption.ResponseHeadersRead, cancellationToken);
        context.Response.StatusCode = (int)response.StatusCode;
        foreach (var (name, values) in response.Headers.Concat(response.Content.Headers))
        {
            if (!HopByHop.Contains(name))
            {
                context.Response.Headers[name] = values.ToArray();
            }
        }

        await using var body = await response.Content.ReadAsStreamAsync(cancellationToken);
        var buffer = new byte[16 * 1024];
        int read;
        while ((read = await body.ReadAsync(buffer, cancellationToken)) > 0)
        {
            await context.Response.Body.WriteAsync(buffer.AsMemory(0, read), cancellationToken);
            await context.Response.Body.FlushAsync(cancellationToken); // watch events must reach the client as they come
        }
    }

    private int? TakeFault(KubeRequest request)
    {
        if (_faults.Find(request) is { } fault)
        {
            return fault.StatusCode;
        }

        lock (_gate)
        {
            if (request.Verb is "update" or "patch" &&
                _conflicts.FirstOrDefault(c => c.Remaining > 0 && Same(c.Type, request.Type) && c.Namespace == request.Namespace &&
                                               c.Name == request.Name && c.Subresource == request.Subresource) is { } conflict)
            {
                conflict.Remaining--;
                return StatusCodes.Status409Conflict;
            }
        }

        return null;
    }

    private bool TakeExpiry()
    {
        int current;
        do
        {
            current = Volatile.Read(ref _expireWatches);
            if (current <= 0)
            {
                return false;
            }
        }
        while (Interlocked.CompareExchange(ref _expireWatches, current - 1, current) != current);

        return true;
    }

    private static Task WriteStatusAsync(HttpContext context, int code, KubeRequest request)
    {
        var (reason, message) = code == StatusCodes.Status409Conflict
            ? ("Conflict", $"Operation cannot be fulfilled on {KubeStatus.Resource(request.Type)} \"{request.Name}\": the object has been modified; please apply your changes to the latest version and try again")
            : (KubeStatus.ReasonFor(code), $"injected fault: {code} for {request.Verb} {KubeStatus.Resource(request.Type)}");
        context.Response.StatusCode = code;
        context.Response.ContentType = "application/json";
        return context.Response.WriteAsync(KubeStatus.Failure(code, reason, message).ToJsonString(), CancellationToken.None);
    }

    private static async Task WriteExpiredAsync(HttpContext context, string resourceVersion)
    {
        context.Response.StatusCode = StatusCodes.Status200OK;
        context.Response.ContentType = "application/json";
        var error = new JsonObject { ["type"] = "ERROR", ["object"] = KubeStatus.Failure(410, "Expired", $"too old resource version: {resourceVersion}") };
        await context.Response.WriteAsync(error.ToJsonString() + "\n", CancellationToken.None);
    }

    /// <summary>One resource whatever the flags: the path alone names a type the proxy was not told about.</summary>
    private static bool Same(ResourceDescriptor a, ResourceDescriptor b) => a.Group == b.Group && a.Version == b.Version && a.Plural == b.Plural;

    private static bool IsWrite(string verb) => verb is "create" or "update" or "patch" or "delete";

    private static (string Plural, string? Subresource) SplitResource(string resource)
    {
        var slash = resource.IndexOf('/', StringComparison.Ordinal);
        return slash < 0 ? (resource, null) : (resource[..slash], resource[(slash + 1)..]);
    }

    private sealed record ConflictInjection(ResourceDescriptor Type, string? Namespace, string Name, string? Subresource)
    {
        public int Remaining { get; set; }
    }
}
