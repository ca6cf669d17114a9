using System.Collections.Concurrent;
using System.Globalization;
using System.Net;
using System.Reflection;
using System.Text.Json.Nodes;
using k8s;
using k8s.Models;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Hosting.Server;
using Microsoft.AspNetCore.Hosting.Server.Features;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;
using WorkspaceStorage.Kubernetes.InMemory;

namespace WorkspaceStorage.Testing.Kubernetes;

/// <summary>Settings for <see cref="KubeTestServer.StartAsync"/>.</summary>
public sealed record KubeTestServerOptions
{
    /// <summary>Resource types served; defaults to <see cref="KubeResources.Defaults"/>.</summary>
    public IReadOnlyList<ResourceType> Resources { get; init; } = KubeResources.Defaults;

    /// <summary>At least this many most recent writes stay replayable to watches; older resourceVersions get 410 Expired.</summary>
    public int WatchHistoryLimit { get; init; } = 20_000;

    public TimeProvider Clock { get; init; } = TimeProvider.System;
}

/// <summary>
/// An in-process imitation of a Kubernetes API server on 127.0.0.1 that the real KubernetesClient talks to over HTTP.
/// Tests no longer rest on it: they run on the real server (<see cref="RealKubeApiServer"/>, <see cref="KubeCluster"/>).
/// It stays for `make bench` alone (bench/…/OperatorWorld.cs), which seeds 10,000–30,000 objects in-process and
/// measures the operator's memory; moving that to the real server is issue 23's, and then this goes, with
/// Kubernetes.Tests/TestApiServer (the tests that keep it honest until then).
/// </summary>
public sealed class KubeTestServer : IAsyncDisposable
{
    private readonly WebApplication _app;
    private readonly InMemoryApiServer _store;
    private readonly ConcurrentDictionary<(string Group, string Version, string Plural), ResourceType> _types;
    private readonly ConcurrentDictionary<(string Verb, ResourceType Type, string? Subresource), int> _counts = new();
    private readonly InjectedFaults _faults = new();
    private readonly List<Exception> _unexpected = [];
    private readonly ConcurrentDictionary<Type, ResourceType> _typesByClrType = new();
    private readonly TimeProvider _clock;

    private KubeTestServer(WebApplication app, InMemoryApiServer store, ConcurrentDictionary<(string, string, string), ResourceType> types, TimeProvider clock)
    {
        _app = app;
        _store = store;
        _types = types;
        _clock = clock;
    }

    /// <summary>http://127.0.0.1:{port}</summary>
    public Uri BaseAddress { get; private set; } = null!;

    public int Port => BaseAddress.Port;

    /// <summary>The newest resourceVersion handed out (every write increments it).</summary>
    public long ResourceVersion => _store.CurrentResourceVersion;

    /// <summary>Watch streams currently open.</summary>
    public int OpenWatchCount => _store.OpenWatchCount;

    public IReadOnlyCollection<ResourceType> Resources => [.. _types.Values];

    public static async Task<KubeTestServer> StartAsync(KubeTestServerOptions? options = null, CancellationToken cancellationToken = default)
    {
        options ??= new KubeTestServerOptions();
        ArgumentOutOfRangeException.ThrowIfLessThan(options.WatchHistoryLimit, 1);
        var builder = WebApplication.CreateSlimBuilder(new WebApplicationOptions { ContentRootPath = AppContext.BaseDirectory });
        builder.Logging.ClearProviders();
        builder.WebHost.UseKestrel(kestrel =>
        {
            kestrel.Listen(IPAddress.Loopback, 0);
            kestrel.AddServerHeader = false;
        });
        var app = builder.Build();
        var store = new InMemoryApiServer(options.WatchHistoryLimit, options.Clock);
        var types = new ConcurrentDictionary<(string, string, string), ResourceType>();
        var server = new KubeTestServer(app, store, types, options.Clock);
        foreach (var type in options.Resources)
        {
            server.Register(type);
        }

        var handler = new KubeApiHandler(server, store, types);
        app.Run(handler.HandleAsync);
        await app.StartAsync(cancellationToken);
        var address = app.Services.GetRequiredService<IServer>().Features.Get<IServerAddressesFeature>()!.Addresses.First();
        server.BaseAddress = new Uri(address.Replace("[::]", "127.0.0.1", StringComparison.Ordinal));
        return server;
    }

    /// <summary>Serves another resource type (e.g. a further CRD). Safe before or after start.</summary>
    public void Register(ResourceType type)
    {
        // The store first, so a request routed to the new type always finds its table.
        _store.Register(type);
        _types[(type.Group, type.Version, type.Plural)] = type;
    }

    // ---------- clients ----------

    public KubernetesClientConfiguration ClientConfiguration() =>
        new() { Host = BaseAddress.ToString().TrimEnd('/') };

    /// <summary>A real KubernetesClient pointed at this server. The caller disposes it.</summary>
    public k8s.Kubernetes CreateClient() => new(ClientConfiguration());

    /// <summary>A kubeconfig document for this server (plain HTTP, no credentials).</summary>
    public string KubeconfigYaml(string contextName = "kube-test-server", string defaultNamespace = "default") =>
        KubeconfigDocument.Yaml(BaseAddress, "kube-test-server", contextName, defaultNamespace);

    // ---------- in-process object access (no HTTP, not counted) ----------

    /// <summary>
    /// Stores <paramref name="obj"/> as is (status, finalizers and deletionTimestamp included), creating or replacing it.
    /// It gets a new resourceVersion and watchers see ADDED or MODIFIED. Returns the stored object.
    /// </summary>
    public T Seed<T>(T obj) where T : class
    {
        var json = ToJson(obj);
        var type = TypeOf(typeof(T), json);
        return FromJson<T>(SeedJson(type, json).Json);
    }

    /// <summary>Seeds a raw JSON object of <paramref name="type"/>.</summary>
    public JsonObject Seed(ResourceType type, JsonObject obj) => (JsonObject)SeedJson(type, (JsonObject)obj.DeepClone()).Json.DeepClone();

    public T? Get<T>(string? ns, string name) where T : class
    {
        var type = TypeOf(typeof(T), null);
        var found = _store.Get(type, type.Namespaced ? ns ?? "" : "", name);
        return found is null ? null : FromJson<T>(found.Json);
    }

    public T? Get<T>(string name) where T : class => Get<T>(null, name);

    /// <summary>For CLR types without a [KubernetesEntity] attribute.</summary>
    public T? Get<T>(ResourceType type, string? ns, string name) where T : class
    {
        var found = _store.Get(type, type.Namespaced ? ns ?? "" : "", name);
        return found is null ? null : FromJson<T>(found.Json);
    }

    /// <summary>Seeds a typed object as <paramref name="type"/> (for CLR types without a [KubernetesEntity] attribute).</summary>
    public T Seed<T>(ResourceType type, T obj) where T : class => FromJson<T>(SeedJson(type, ToJson(obj)).Json);

    public JsonObject? Get(ResourceType type, string? ns, string name) =>
        _store.Get(type, type.Namespaced ? ns ?? "" : "", name)?.Json.DeepClone() as JsonObject;

    /// <summary>All stored objects of a type (optionally one namespace), sorted by namespace and name.</summary>
    public IReadOnlyList<JsonObject> Objects(ResourceType type, string? ns = null) =>
        _store.List(type, ns, LabelSelector.Everything, FieldSelector.Everything).Items.Select(o => (JsonObject)o.Json.DeepClone()).ToList();

    public IReadOnlyList<T> Objects<T>(string? ns = null) where T : class
    {
        var type = TypeOf(typeof(T), null);
        return _store.List(type, ns, LabelSelector.Everything, FieldSelector.Everything).Items.Select(o => FromJson<T>(o.Json)).ToList();
    }

    public IReadOnlyList<T> Objects<T>(ResourceType type, string? ns = null) where T : class =>
        _store.List(type, ns, LabelSelector.Everything, FieldSelector.Everything).Items.Select(o => FromJson<T>(o.Json)).ToList();

    public int Count(ResourceType type, string? ns = null) =>
        _store.List(type, ns, LabelSelector.Everything, FieldSelector.Everything).Items.Count;

    /// <summary>
    /// Changes a stored object the way a PUT by someone else would (e.g. a user editing the spec): generation grows on
    /// spec changes, .status changes are ignored for types with a status subresource, watchers see MODIFIED.
    /// No resourceVersion check. Returns the stored result.
    /// </summary>
    public T Modify<T>(string? ns, string name, Action<T> change) where T : class => ModifyCore(ns, name, change, statusOnly: false);

    /// <summary>Changes only .status, the way a PUT to /status would.</summary>
    public T ModifyStatus<T>(string? ns, string name, Action<T> change) where T : class => ModifyCore(ns, name, change, statusOnly: true);

    private T ModifyCore<T>(string? ns, string name, Action<T> change, bool statusOnly) where T : class
    {
        var type = TypeOf(typeof(T), null);
        var stored = _store.Update(type, type.Namespaced ? ns ?? "" : "", name, statusOnly, isPatch: true, current =>
        {
            var typed = FromJson<T>(current);
            change(typed);
            var json = ToJson(typed);
            if (json["metadata"] is JsonObject meta)
            {
                meta.Remove("resourceVersion");
            }

            return json;
        });
        return FromJson<T>(stored.Json);
    }

    /// <summary>Deletes like a DELETE call would (finalizers only mark it). Returns false when it did not exist.</summary>
    public bool Delete(ResourceType type, string? ns, string name)
    {
        try
        {
            _store.Delete(type, type.Namespaced ? ns ?? "" : "", name, null, null);
            return true;
        }
        catch (KubeApiException error) when (error.Code == 404)
        {
            return false;
        }
    }

    // ---------- request counting ----------

    /// <summary>
    /// Requests that reached <paramref name="resource"/> with <paramref name="verb"/> (get, list, watch, create, update,
    /// patch, delete), including ones a fault failed. <paramref name="resource"/> is a plural ("secrets", across groups)
    /// or plural/subresource ("workspacestorages/status").
    /// </summary>
    public int RequestCount(string verb, string resource)
    {
        var (plural, subresource) = SplitResource(resource);
        return _counts.Where(c => c.Key.Verb == verb && c.Key.Type.Plural == plural && c.Key.Subresource == subresource).Sum(c => c.Value);
    }

    public int RequestCount(string verb, ResourceType type, string? subresource = null) =>
        _counts.GetValueOrDefault((verb, type, subresource));

    /// <summary>create + update + patch + delete on the resource and all its subresources ("secrets": every Secret write).</summary>
    public int WriteCount(string resource)
    {
        var (plural, subresource) = SplitResource(resource);
        return _counts.Where(c => c.Key.Type.Plural == plural && (subresource is null || c.Key.Subresource == subresource) &&
                                  c.Key.Verb is "create" or "update" or "patch" or "delete").Sum(c => c.Value);
    }

    public int WriteCount(ResourceType type) =>
        _counts.Where(c => c.Key.Type == type && c.Key.Verb is "create" or "update" or "patch" or "delete").Sum(c => c.Value);

    public int TotalRequestCount => _counts.Values.Sum();

    public void ResetRequestCounts() => _counts.Clear();

    /// <summary>Exceptions the server itself threw while handling requests (a bug here, not in the client). Tests may assert it is empty.</summary>
    public IReadOnlyList<Exception> UnexpectedErrors
    {
        get
        {
            lock (_unexpected)
            {
                return [.. _unexpected];
            }
        }
    }

    internal void RecordUnexpected(Exception error)
    {
        lock (_unexpected)
        {
            _unexpected.Add(error);
        }
    }

    internal void Count(KubeRequest request) =>
        _counts.AddOrUpdate((request.Verb, request.Type, request.Subresource), 1, static (_, n) => n + 1);

    // ---------- fault injection ----------

    /// <summary>The next <paramref name="count"/> updates/patches of the object (or of its /status) answer 409 Conflict.</summary>
    public void InjectConflicts(ResourceType type, string? ns, string name, int count = 1, bool onStatus = false) =>
        _store.InjectConflicts(type, type.Namespaced ? ns ?? "" : "", name, onStatus, count);

    /// <summary>
    /// Requests matching <paramref name="match"/> (all when null) answer <paramref name="statusCode"/> (e.g. 500, 503, 429)
    /// with a Status body, for at most <paramref name="count"/> requests and/or <paramref name="duration"/>, or until disposed.
    /// </summary>
    public InjectedFault FailRequests(int statusCode, Func<KubeRequest, bool>? match = null, int? count = null, TimeSpan? duration = null) =>
        _faults.Add(statusCode, match, count, duration, _clock);

    /// <summary>Removes every injected fault (conflict injections stay until used).</summary>
    public void ClearFaults() => _faults.Clear();

    internal InjectedFault? FindFault(KubeRequest request) => _faults.Find(request);

    // ---------- watch control ----------

    /// <summary>
    /// Forgets the watch history as a compaction would: watches from any older resourceVersion, and the next
    /// <paramref name="forceNextWatches"/> watches that name a resourceVersion at all, get an ERROR event with 410 Expired.
    /// </summary>
    public void ExpireWatchHistory(int forceNextWatches = 1) => _store.ExpireHistory(forceNextWatches);

    /// <summary>
    /// Ends every open watch stream, as an API server restart would. <paramref name="abortConnections"/> resets the
    /// connections (clients see an I/O error) instead of ending the streams cleanly. Returns how many were dropped.
    /// </summary>
    public int DropWatches(bool abortConnections = false) => _store.DropWatches(abortConnections);

    public async ValueTask DisposeAsync()
    {
        _store.DropWatches(abort: true);
        await _app.StopAsync(CancellationToken.None);
        await _app.DisposeAsync();
    }

    // ---------- helpers ----------

    private StoredObject SeedJson(ResourceType type, JsonObject json)
    {
        var ns = type.Namespaced ? json["metadata"]?["namespace"]?.GetValue<string>() ?? "default" : "";
        return _store.Create(type, ns, json, seed: true);
    }

    private ResourceType TypeOf(Type clrType, JsonObject? json)
    {
        if (_typesByClrType.TryGetValue(clrType, out var cached))
        {
            return cached;
        }

        var resolved = ResolveType(clrType, json);
        if (clrType.GetCustomAttribute<KubernetesEntityAttribute>() is not null)
        {
            _typesByClrType.TryAdd(clrType, resolved);
        }

        return resolved;
    }

    private ResourceType ResolveType(Type clrType, JsonObject? json)
    {
        var entity = clrType.GetCustomAttribute<KubernetesEntityAttribute>();
        string? apiVersion = entity is null ? null : entity.Group.Length == 0 ? entity.ApiVersion : $"{entity.Group}/{entity.ApiVersion}";
        var kind = entity?.Kind;
        if (apiVersion is null && json is not null)
        {
            apiVersion = json["apiVersion"]?.GetValue<string>();
            kind = json["kind"]?.GetValue<string>();
        }

        return _types.Values.FirstOrDefault(t => t.ApiVersion == apiVersion && t.Kind == kind && (entity?.PluralName is null || entity.PluralName == t.Plural))
               ?? throw new InvalidOperationException(
                   $"{clrType.Name} ({apiVersion ?? "no apiVersion"}, {kind ?? "no kind"}) is not a registered resource type; register it or pass a ResourceType");
    }

    private static (string Plural, string? Subresource) SplitResource(string resource)
    {
        var slash = resource.IndexOf('/', StringComparison.Ordinal);
        return slash < 0 ? (resource, null) : (resource[..slash], resource[(slash + 1)..]);
    }

    private static JsonObject ToJson(object obj) =>
        obj as JsonObject is { } json ? (JsonObject)json.DeepClone()
        : JsonNode.Parse(KubernetesJson.Serialize(obj)) as JsonObject ?? throw new ArgumentException("object does not serialise to a JSON object", nameof(obj));

    private static T FromJson<T>(JsonObject json) where T : class =>
        typeof(T) == typeof(JsonObject) ? (T)(object)json.DeepClone() : KubernetesJson.Deserialize<T>(json.ToJsonString());

    internal static string FormatVersion(long rv) => rv.ToString(CultureInfo.InvariantCulture);
}
