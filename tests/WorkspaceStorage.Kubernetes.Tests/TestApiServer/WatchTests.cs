using WorkspaceStorage.Testing.Support;
using k8s;
using k8s.Models;
using WorkspaceStorage.Testing.Kubernetes;

namespace WorkspaceStorage.Kubernetes.Tests.TestApiServer;

/// <summary>Watches through KubernetesClient's own WatchAsync, the way an operator's informer loop uses them.</summary>
public sealed class WatchTests : IAsyncLifetime
{
    private KubeTestServer _server = null!;
    private k8s.Kubernetes _client = null!;

    public async ValueTask InitializeAsync()
    {
        _server = await KubeTestServer.StartAsync(new KubeTestServerOptions { WatchHistoryLimit = 50 }, TestContext.Current.CancellationToken);
        _client = _server.CreateClient();
    }

    public async ValueTask DisposeAsync()
    {
        _client.Dispose();
        await _server.DisposeAsync();
    }

    /// <summary>The custom-object watch KubernetesClient 21 offers (objects arrive as JsonElement), typed here.</summary>
    private async IAsyncEnumerable<(WatchEventType, TestWorkspaceStorage)> Watch(
        string? resourceVersion, [System.Runtime.CompilerServices.EnumeratorCancellation] CancellationToken ct,
        Action<Exception>? onError = null, string? labelSelector = null, int? timeoutSeconds = null)
    {
        var events = _client.CustomObjects.WatchListNamespacedCustomObjectAsync(
            Api.Group, Api.Version, "default", Api.WorkspaceStorages,
            resourceVersion: resourceVersion, labelSelector: labelSelector, timeoutSeconds: timeoutSeconds, onError: onError, cancellationToken: ct);
        await foreach (var (type, obj) in events.WithCancellation(ct))
        {
            yield return (type, KubernetesJson.Deserialize<TestWorkspaceStorage>((System.Text.Json.JsonElement)obj));
        }
    }

    private async Task<string> ListVersion(CancellationToken ct) =>
        (await _client.CustomObjects.ListNamespacedCustomObjectWithHttpMessagesAsync<TestList<TestWorkspaceStorage>>(
            Api.Group, Api.Version, "default", Api.WorkspaceStorages, cancellationToken: ct)).Body.Metadata.ResourceVersion;

    [Fact]
    public async Task Watch_delivers_added_modified_deleted_in_order()
    {
        var ct = Api.Timeout();
        using var generic = Api.WorkspaceStorageClient(_client);
        var rv = await ListVersion(ct);
        var collecting = Api.Collect(Watch(rv, ct), 4, ct);

        var created = await generic.CreateNamespacedAsync(TestWorkspaceStorage.New("w1"), "default", ct);
        created.Spec!.Access = "ReadOnly";
        var modified = await generic.ReplaceNamespacedAsync(created, "default", "w1", ct);
        modified.Status = new TestWorkspaceStorageStatus { Phase = "Ready" };
        await _client.CustomObjects.ReplaceNamespacedCustomObjectStatusWithHttpMessagesAsync<TestWorkspaceStorage>(
            modified, Api.Group, Api.Version, "default", Api.WorkspaceStorages, "w1", cancellationToken: ct);
        await generic.DeleteNamespacedAsync<TestWorkspaceStorage>("default", "w1", ct);

        var events = await collecting;
        Assert.Equal([WatchEventType.Added, WatchEventType.Modified, WatchEventType.Modified, WatchEventType.Deleted], events.Select(e => e.Type));
        Assert.Equal("ReadOnly", events[1].Object.Spec!.Access);
        Assert.Equal("Ready", events[2].Object.Status!.Phase);
        var versions = events.Select(e => long.Parse(e.Object.Metadata.ResourceVersion)).ToList();
        Assert.Equal(versions.Order(), versions);
        Assert.Equal(versions.Count, versions.Distinct().Count());
    }

    [Fact]
    public async Task Watch_resumes_after_a_resourceVersion_without_replaying_older_events()
    {
        var ct = Api.Timeout();
        using var generic = Api.WorkspaceStorageClient(_client);
        await generic.CreateNamespacedAsync(TestWorkspaceStorage.New("old"), "default", ct);
        var resumeFrom = await ListVersion(ct);
        await generic.CreateNamespacedAsync(TestWorkspaceStorage.New("new"), "default", ct);

        var events = await Api.Collect(Watch(resumeFrom, ct), 1, ct);
        var only = Assert.Single(events);
        Assert.Equal(WatchEventType.Added, only.Type);
        Assert.Equal("new", only.Object.Metadata.Name);
    }

    [Fact]
    public async Task Watch_without_a_resourceVersion_starts_with_the_current_objects()
    {
        var ct = Api.Timeout();
        _server.Seed(TestWorkspaceStorage.New("a"));
        _server.Seed(TestWorkspaceStorage.New("b"));
        var events = await Api.Collect(Watch(null, ct), 2, ct);
        Assert.Equal(["a", "b"], events.Select(e => e.Object.Metadata.Name).Order());
        Assert.All(events, e => Assert.Equal(WatchEventType.Added, e.Type));
    }

    [Fact]
    public async Task Watch_from_expired_history_gets_410_Expired()
    {
        var ct = Api.Timeout();
        var rv = await ListVersion(ct);
        _server.Seed(TestWorkspaceStorage.New("a"));
        _server.ExpireWatchHistory();

        var errors = new List<Exception>();
        var events = await Api.Collect(Watch(rv, ct, errors.Add), 1, ct);
        Assert.Empty(events);
        var error = Assert.IsType<KubernetesException>(Assert.Single(errors));
        Assert.Equal(410, error.Status.Code);
        Assert.Equal("Expired", error.Status.Reason);

        // A relist and a watch from the new version work again.
        var fresh = await ListVersion(ct);
        var collecting = Api.Collect(Watch(fresh, ct), 1, ct);
        _server.Seed(TestWorkspaceStorage.New("b"));
        Assert.Equal("b", Assert.Single(await collecting).Object.Metadata.Name);
    }

    [Fact]
    public async Task History_older_than_the_window_is_410()
    {
        var ct = Api.Timeout();
        var rv = await ListVersion(ct);
        for (var i = 0; i < 120; i++)
        {
            _server.Seed(TestWorkspaceStorage.New($"w{i}"));
        }

        var errors = new List<Exception>();
        await Api.Collect(Watch(rv, ct, errors.Add), 1, ct);
        Assert.Equal(410, Assert.IsType<KubernetesException>(Assert.Single(errors)).Status.Code);

        // A version still inside the window replays only what follows it.
        var recent = _server.ResourceVersion - 3;
        var replay = await Api.Collect(Watch(recent.ToString(System.Globalization.CultureInfo.InvariantCulture), ct), 3, ct);
        Assert.Equal(["w117", "w118", "w119"], replay.Select(e => e.Object.Metadata.Name));
    }

    [Fact]
    public async Task Label_filtered_watch_sees_objects_enter_and_leave()
    {
        var ct = Api.Timeout();
        using var generic = Api.WorkspaceStorageClient(_client);
        var rv = await ListVersion(ct);
        var collecting = Api.Collect(Watch(rv, ct, labelSelector: "team=a"), 2, ct);

        await generic.CreateNamespacedAsync(TestWorkspaceStorage.New("other", labels: new Dictionary<string, string> { ["team"] = "b" }), "default", ct);
        var mine = await generic.CreateNamespacedAsync(TestWorkspaceStorage.New("mine", labels: new Dictionary<string, string> { ["team"] = "a" }), "default", ct);
        mine.Metadata.Labels["team"] = "c";
        await generic.ReplaceNamespacedAsync(mine, "default", "mine", ct);

        var events = await collecting;
        Assert.Equal([(WatchEventType.Added, "mine"), (WatchEventType.Deleted, "mine")], events.Select(e => (e.Type, e.Object.Metadata.Name)));
    }

    [Fact]
    public async Task TimeoutSeconds_ends_the_stream()
    {
        var ct = Api.Timeout();
        var rv = await ListVersion(ct);
        var started = DateTime.UtcNow;
        var ended = Api.Collect(Watch(rv, ct, timeoutSeconds: 1), 10, ct);
        // The client returns from the watch call only once a first line arrives; give it one.
        _server.Seed(TestWorkspaceStorage.New("first"));
        var events = await ended;
        Assert.Single(events);
        Assert.False(ct.IsCancellationRequested);
        Assert.InRange(DateTime.UtcNow - started, TimeSpan.FromSeconds(0.9), TimeSpan.FromSeconds(10));
    }

    [Fact]
    public async Task Dropping_watches_ends_every_open_stream()
    {
        var ct = Api.Timeout();
        var rv = await ListVersion(ct);
        var first = Api.Collect(Watch(rv, ct), 10, ct);
        var second = Api.Collect(Watch(rv, ct), 10, ct);
        _server.Seed(TestWorkspaceStorage.New("x"));
        await Eventually.TrueAsync(() => _server.OpenWatchCount == 2, "two open watches", observe: () => _server.OpenWatchCount, cancellationToken: ct);

        Assert.Equal(2, _server.DropWatches());
        Assert.Single(await first);
        Assert.Single(await second);
        Assert.False(ct.IsCancellationRequested);
        Assert.Equal(2, _server.RequestCount("watch", "workspacestorages"));
    }

    [Fact]
    public async Task Aborted_watches_surface_as_errors_to_the_client()
    {
        var ct = Api.Timeout();
        var rv = await ListVersion(ct);
        var errors = new List<Exception>();
        var events = Api.Collect(Watch(rv, ct, errors.Add), 10, ct);
        _server.Seed(TestWorkspaceStorage.New("x"));
        await Eventually.TrueAsync(() => _server.OpenWatchCount == 1, "one open watch", observe: () => _server.OpenWatchCount, cancellationToken: ct);
        _server.DropWatches(abortConnections: true);
        await Assert.ThrowsAnyAsync<Exception>(async () => await events);
        Assert.False(ct.IsCancellationRequested);
    }

    [Fact]
    public async Task Secret_watch_via_typed_client_works()
    {
        var ct = Api.Timeout();
        var list = await _client.CoreV1.ListNamespacedSecretAsync("default", cancellationToken: ct);
        var collecting = Api.Collect(
            _client.CoreV1.WatchListNamespacedSecretAsync("default", resourceVersion: list.Metadata.ResourceVersion, cancellationToken: ct), 1, ct);
        await _client.CoreV1.CreateNamespacedSecretAsync(new V1Secret { Metadata = new V1ObjectMeta { Name = "s" } }, "default", cancellationToken: ct);
        var only = Assert.Single(await collecting);
        Assert.Equal("s", only.Item2.Metadata.Name);
    }

    [Fact]
    public async Task Legacy_list_with_watch_true_plus_WatchAsync_works()
    {
        var ct = Api.Timeout();
        var rv = await ListVersion(ct);
#pragma warning disable CS0618 // The older pattern many operators still use; the server must serve it too.
        var events = _client.CustomObjects.ListNamespacedCustomObjectWithHttpMessagesAsync(
                Api.Group, Api.Version, "default", Api.WorkspaceStorages, watch: true, resourceVersion: rv, cancellationToken: ct)
            .WatchAsync<TestWorkspaceStorage, object>(cancellationToken: ct);
#pragma warning restore CS0618
        var collecting = Api.Collect(events, 1, ct);
        _server.Seed(TestWorkspaceStorage.New("legacy"));
        Assert.Equal("legacy", Assert.Single(await collecting).Item2.Metadata.Name);
    }
}
