using k8s.Models;
using System.Collections.Concurrent;
using WorkspaceStorage.Kubernetes.Runtime;
using WorkspaceStorage.Core.Resilience;
using WorkspaceStorage.Testing.Support;
using WorkspaceStorage.Testing.Kubernetes;

namespace WorkspaceStorage.Kubernetes.Tests.Runtime;

public sealed class InformerTests
{
    private static CancellationToken Ct => TestContext.Current.CancellationToken;

    private static InformerOptions Fast(string? ns, TimeSpan? resync = null) => new()
    {
        Namespace = ns,
        ResyncPeriod = resync,
        Backoff = new ExponentialBackoff(TimeSpan.FromMilliseconds(50), TimeSpan.FromMilliseconds(500)),
        MinimumHealthyWatch = TimeSpan.FromMilliseconds(100),
    };

    private sealed class Recorder
    {
        public ConcurrentQueue<InformerEvent<Widget>> Events { get; } = new();

        public void Record(InformerEvent<Widget> change) => Events.Enqueue(change);

        public bool Saw(InformerEventType type, string name) =>
            Events.Any(e => e.Type == type && e.Object.Metadata.Name == name);

        public int Count(InformerEventType type, string name) =>
            Events.Count(e => e.Type == type && e.Object.Metadata.Name == name);
    }

    [Fact]
    public async Task The_initial_list_fills_the_cache_reports_adds_and_marks_synced()
    {
        await using var kube = await KubeHarness.StartAsync();
        var widgets = kube.Widgets();
        foreach (var name in new[] { "a", "b", "c" })
        {
            await widgets.CreateAsync(Widget.Create(kube.Namespace, name), Ct);
        }

        await widgets.CreateAsync(Widget.Create("elsewhere", "not-mine"), Ct);

        var informer = new Informer<Widget>(widgets, "widgets", Fast(kube.Namespace));
        var recorder = new Recorder();
        informer.AddEventHandler(recorder.Record);
        Assert.False(informer.HasSynced);

        using var stop = new CancellationTokenSource();
        var run = informer.RunAsync(stop.Token);
        await informer.WaitForSyncAsync(Ct).WaitAsync(TimeSpan.FromSeconds(10), Ct);

        Assert.True(informer.HasSynced);
        Assert.Equal(["a", "b", "c"], informer.List().Select(w => w.Metadata.Name).Order().ToArray());
        Assert.NotNull(informer.Get(new ResourceKey(kube.Namespace, "b")));
        Assert.Null(informer.Get(new ResourceKey("elsewhere", "not-mine")));
        Assert.All(new[] { "a", "b", "c" }, name => Assert.True(recorder.Saw(InformerEventType.Added, name)));

        await stop.CancelAsync();
        await run;
    }

    [Fact]
    public async Task A_transform_decides_what_the_cache_and_the_handlers_keep_of_listed_and_watched_objects()
    {
        await using var kube = await KubeHarness.StartAsync();
        var widgets = kube.Widgets();
        var listed = Widget.Create(kube.Namespace, "listed", "large");
        listed.Metadata.Annotations = new Dictionary<string, string> { ["kubectl.kubernetes.io/last-applied-configuration"] = "{...}" };
        await widgets.CreateAsync(listed, Ct);

        // Keep name, namespace and version only, as the operator keeps only what its cache readers use.
        static Widget Slim(Widget full) => new()
        {
            Metadata = new V1ObjectMeta { Name = full.Metadata.Name, NamespaceProperty = full.Metadata.NamespaceProperty, ResourceVersion = full.Metadata.ResourceVersion },
        };
        var informer = new Informer<Widget>(widgets, "widgets", Fast(kube.Namespace), transform: Slim);
        var recorder = new Recorder();
        informer.AddEventHandler(recorder.Record);
        using var stop = new CancellationTokenSource();
        var run = informer.RunAsync(stop.Token);
        await informer.WaitForSyncAsync(Ct).WaitAsync(TimeSpan.FromSeconds(10), Ct);
        await widgets.CreateAsync(Widget.Create(kube.Namespace, "watched", "large"), Ct);
        await Eventually.TrueAsync(() => informer.Get(new ResourceKey(kube.Namespace, "watched")) is not null, "watched object cached");

        foreach (var name in new[] { "listed", "watched" })
        {
            var cached = informer.Get(new ResourceKey(kube.Namespace, name))!;
            Assert.Null(cached.Spec);
            Assert.Null(cached.Metadata.Annotations);
            Assert.False(string.IsNullOrEmpty(cached.Metadata.ResourceVersion));
        }

        Assert.All(recorder.Events, change => Assert.Null(change.Object.Spec));
        await stop.CancelAsync();
        await run;
    }

    [Fact]
    public async Task Adds_updates_and_deletes_after_the_list_are_delivered_in_the_cache_and_to_handlers()
    {
        await using var kube = await KubeHarness.StartAsync();
        var widgets = kube.Widgets();
        var informer = new Informer<Widget>(widgets, "widgets", Fast(null));
        var recorder = new Recorder();
        informer.AddEventHandler(recorder.Record);
        using var stop = new CancellationTokenSource();
        var run = informer.RunAsync(stop.Token);
        await informer.WaitForSyncAsync(Ct).WaitAsync(TimeSpan.FromSeconds(10), Ct);

        var created = await widgets.CreateAsync(Widget.Create(kube.Namespace, "w"), Ct);
        await Eventually.TrueAsync(() => recorder.Saw(InformerEventType.Added, "w"), "ADDED delivered");

        created.Spec!.Size = "large";
        await widgets.ReplaceAsync(created, Ct);
        await Eventually.TrueAsync(() => recorder.Saw(InformerEventType.Updated, "w"), "MODIFIED delivered");
        var update = recorder.Events.First(e => e.Type == InformerEventType.Updated);
        Assert.Equal("small", update.Previous?.Spec?.Size);
        Assert.Equal("large", informer.Get(new ResourceKey(kube.Namespace, "w"))?.Spec?.Size);

        await widgets.DeleteAsync(new ResourceKey(kube.Namespace, "w"), Ct);
        await Eventually.TrueAsync(() => recorder.Saw(InformerEventType.Deleted, "w"), "DELETED delivered");
        Assert.Null(informer.Get(new ResourceKey(kube.Namespace, "w")));

        await stop.CancelAsync();
        await run;
    }

    [Theory]
    [InlineData(false)]
    [InlineData(true)]
    public async Task A_dropped_watch_resumes_from_the_last_version_without_missing_changes_or_relisting(bool abortConnections)
    {
        await using var kube = await KubeHarness.StartAsync();
        var widgets = kube.Widgets();
        var informer = new Informer<Widget>(widgets, "widgets", Fast(kube.Namespace));
        var recorder = new Recorder();
        informer.AddEventHandler(recorder.Record);
        using var stop = new CancellationTokenSource();
        var run = informer.RunAsync(stop.Token);
        await informer.WaitForSyncAsync(Ct).WaitAsync(TimeSpan.FromSeconds(10), Ct);
        var keep = await widgets.CreateAsync(Widget.Create(kube.Namespace, "keep"), Ct);
        await widgets.CreateAsync(Widget.Create(kube.Namespace, "doomed"), Ct);
        await Eventually.TrueAsync(() => recorder.Saw(InformerEventType.Added, "doomed") && kube.Server.OpenWatchCount == 1, "watch established");

        // Drop the watch and change things while the informer is between watches.
        Assert.Equal(1, kube.Server.DropWatches(abortConnections));
        await widgets.CreateAsync(Widget.Create(kube.Namespace, "during-gap"), Ct);
        keep.Spec!.Size = "large";
        await widgets.ReplaceAsync(keep, Ct);
        await widgets.DeleteAsync(new ResourceKey(kube.Namespace, "doomed"), Ct);

        await Eventually.TrueAsync(
            () => recorder.Saw(InformerEventType.Added, "during-gap") && recorder.Saw(InformerEventType.Updated, "keep") && recorder.Saw(InformerEventType.Deleted, "doomed"),
            "changes made while the watch was down");
        Assert.Equal(1, informer.ListCount);
        Assert.Equal(2, informer.WatchCount); // the first watch, and one after the drop
        Assert.Equal(1, recorder.Count(InformerEventType.Added, "during-gap"));
        Assert.Equal(["during-gap", "keep"], informer.List().Select(w => w.Metadata.Name).Order().ToArray());

        await stop.CancelAsync();
        await run;
    }

    [Fact]
    public async Task On_410_Gone_the_informer_relists_and_reports_objects_deleted_during_the_gap()
    {
        await using var kube = await KubeHarness.StartAsync();
        var widgets = kube.Widgets();
        await widgets.CreateAsync(Widget.Create(kube.Namespace, "stays"), Ct);
        var changes = await widgets.CreateAsync(Widget.Create(kube.Namespace, "changes"), Ct);
        await widgets.CreateAsync(Widget.Create(kube.Namespace, "vanishes"), Ct);

        var informer = new Informer<Widget>(widgets, "widgets", Fast(kube.Namespace));
        var recorder = new Recorder();
        informer.AddEventHandler(recorder.Record);
        using var stop = new CancellationTokenSource();
        var run = informer.RunAsync(stop.Token);
        await informer.WaitForSyncAsync(Ct).WaitAsync(TimeSpan.FromSeconds(10), Ct);
        await Eventually.TrueAsync(() => kube.Server.OpenWatchCount == 1, "watch established");

        // Changes the informer cannot replay: the history is compacted before it watches again.
        kube.Server.ExpireWatchHistory(forceNextWatches: 1);
        await kube.Server.DeleteAsync<Widget>(kube.Namespace, "vanishes");
        changes.Spec!.Size = "large";
        await widgets.ReplaceAsync(changes, Ct);
        await widgets.CreateAsync(Widget.Create(kube.Namespace, "appears"), Ct);
        kube.Server.DropWatches();

        await Eventually.TrueAsync(() => informer.ListCount >= 2, "a relist after 410");
        await Eventually.TrueAsync(
            () => recorder.Saw(InformerEventType.Deleted, "vanishes") && recorder.Saw(InformerEventType.Added, "appears") && recorder.Saw(InformerEventType.Updated, "changes"),
            "the gap reconstructed from the relist");
        Assert.Equal(["appears", "changes", "stays"], informer.List().Select(w => w.Metadata.Name).Order().ToArray());
        Assert.Equal("large", informer.Get(new ResourceKey(kube.Namespace, "changes"))?.Spec?.Size);
        Assert.Equal(0, recorder.Count(InformerEventType.Updated, "stays"));

        // And it watches on afterwards.
        await widgets.CreateAsync(Widget.Create(kube.Namespace, "later"), Ct);
        await Eventually.TrueAsync(() => recorder.Saw(InformerEventType.Added, "later"), "watching after the relist");

        await stop.CancelAsync();
        await run;
    }

    [Fact]
    public async Task Periodic_resync_hands_out_every_cached_object_again()
    {
        await using var kube = await KubeHarness.StartAsync();
        var widgets = kube.Widgets();
        await widgets.CreateAsync(Widget.Create(kube.Namespace, "x"), Ct);
        await widgets.CreateAsync(Widget.Create(kube.Namespace, "y"), Ct);

        var informer = new Informer<Widget>(widgets, "widgets", Fast(kube.Namespace, resync: TimeSpan.FromMilliseconds(200)));
        var recorder = new Recorder();
        informer.AddEventHandler(recorder.Record);
        using var stop = new CancellationTokenSource();
        var run = informer.RunAsync(stop.Token);

        await Eventually.TrueAsync(() => recorder.Count(InformerEventType.Resync, "x") >= 2 && recorder.Count(InformerEventType.Resync, "y") >= 2, "two resyncs of both objects");
        await stop.CancelAsync();
        await run;
    }

    [Fact]
    public async Task List_failures_back_off_and_the_informer_syncs_once_the_server_answers()
    {
        await using var kube = await KubeHarness.StartAsync();
        var widgets = kube.Widgets();
        await widgets.CreateAsync(Widget.Create(kube.Namespace, "x"), Ct);
        var fault = kube.Server.FailRequests(500, request => request.Verb == "list", count: 3);

        var informer = new Informer<Widget>(widgets, "widgets", Fast(kube.Namespace));
        using var stop = new CancellationTokenSource();
        var run = informer.RunAsync(stop.Token);
        await informer.WaitForSyncAsync(Ct).WaitAsync(TimeSpan.FromSeconds(10), Ct);

        Assert.NotNull(informer.Get(new ResourceKey(kube.Namespace, "x")));
        Assert.True(kube.Server.RequestCount("list", Widget.Descriptor) >= 4);
        fault.Dispose();
        await stop.CancelAsync();
        await run;
    }
}
