using System.Collections.Concurrent;
using WorkspaceStorage.Kubernetes.Runtime;
using WorkspaceStorage.Core.Resilience;
using WorkspaceStorage.Testing.Support;
using WorkspaceStorage.Testing.Kubernetes;
using WorkspaceStorage.Kubernetes.InMemory;

namespace WorkspaceStorage.Kubernetes.Tests.Runtime;

/// <summary>The in-memory store keeps the same contract the Kubernetes adapter does.</summary>
public sealed class InMemoryResourceStoreTests
{
    private static CancellationToken Ct => TestContext.Current.CancellationToken;

    private static InMemoryResourceStore<Widget> NewStore(int historyLimit = 10_000) => new(Widget.Descriptor, historyLimit);

    [Fact]
    public async Task Writes_bump_the_resource_version_stale_writes_conflict_and_status_is_separate()
    {
        await ResourceClientContract.WritesBumpTheResourceVersionConflictAndKeepStatusSeparateAsync(NewStore(), Ct);
    }

    [Fact]
    public async Task A_finalizer_holds_a_deleted_object_until_it_is_removed()
    {
        var store = NewStore();
        var key = new ResourceKey("ns", "w");
        var widget = Widget.Create("ns", "w");
        widget.Metadata.Finalizers = ["example.com/cleanup"];
        await store.CreateAsync(widget, Ct);

        Assert.True(await store.DeleteAsync(key, Ct));
        var deleting = await store.GetAsync(key, Ct);
        Assert.NotNull(deleting?.Metadata.DeletionTimestamp);

        deleting!.Metadata.Finalizers = [];
        await store.ReplaceAsync(deleting, Ct);
        Assert.Null(await store.GetAsync(key, Ct));
        Assert.False(await store.DeleteAsync(key, Ct));
    }

    [Fact]
    public async Task An_informer_on_the_store_resumes_after_dropped_watches_and_relists_after_compaction()
    {
        var store = NewStore();
        await store.CreateAsync(Widget.Create("ns", "stays"), Ct);
        await store.CreateAsync(Widget.Create("ns", "vanishes"), Ct);
        var informer = new Informer<Widget>(store, "widgets", new InformerOptions
        {
            ResyncPeriod = null,
            Backoff = new ExponentialBackoff(TimeSpan.FromMilliseconds(20), TimeSpan.FromMilliseconds(100)),
            MinimumHealthyWatch = TimeSpan.Zero,
        });
        var events = new ConcurrentQueue<InformerEvent<Widget>>();
        informer.AddEventHandler(events.Enqueue);
        using var stop = new CancellationTokenSource();
        var run = informer.RunAsync(stop.Token);
        await informer.WaitForSyncAsync(Ct).WaitAsync(TimeSpan.FromSeconds(5), Ct);

        await Eventually.TrueAsync(() => store.DropWatches() == 1, "a watch to drop");
        await store.CreateAsync(Widget.Create("ns", "during-drop"), Ct);
        await Eventually.TrueAsync(() => events.Any(e => e.Type == InformerEventType.Added && e.Object.Metadata.Name == "during-drop"), "resumed");
        Assert.Equal(1, informer.ListCount);

        store.CompactHistory(expireNextWatches: 1);
        store.DropWatches();
        await store.DeleteAsync(new ResourceKey("ns", "vanishes"), Ct);
        await Eventually.TrueAsync(() => events.Any(e => e.Type == InformerEventType.Deleted && e.Object.Metadata.Name == "vanishes"), "gap delete seen");
        await Eventually.TrueAsync(() => informer.ListCount == 2, "relisted after 410");
        Assert.Equal(["during-drop", "stays"], informer.List().Select(w => w.Metadata.Name).Order().ToArray());

        await stop.CancelAsync();
        await run;
    }

    [Fact]
    public async Task A_watch_with_a_selector_sees_objects_enter_and_leave_it()
    {
        await ResourceClientContract.ASelectorWatchSeesObjectsEnterAndLeaveItAsync(NewStore(), Ct);
    }

    [Fact]
    public async Task Old_resource_versions_are_gone_once_history_is_bounded()
    {
        var store = NewStore(historyLimit: 2);
        for (var i = 0; i < 5; i++)
        {
            await store.CreateAsync(Widget.Create("ns", $"w{i}"), Ct);
        }

        await Assert.ThrowsAsync<ResourceGoneException>(async () =>
        {
            await foreach (var _ in store.WatchAsync(null, "1", null, Ct))
            {
            }
        });
    }

    [Fact]
    public async Task Equality_and_set_based_selectors_filter_as_on_the_API_server()
    {
        var store = NewStore();
        foreach (var (name, tier) in new[] { ("gold", "gold"), ("silver", "silver"), ("bare", (string?)null) })
        {
            var widget = Widget.Create("ns", name);
            widget.Metadata.Labels = tier is null ? null : new Dictionary<string, string> { ["tier"] = tier };
            await store.CreateAsync(widget, Ct);
        }

        async Task<string[]> NamesAsync(string selector) =>
            [.. (await store.ListAsync("ns", selector, Ct)).Items.Select(w => w.Metadata.Name).Order()];

        Assert.Equal(["gold"], await NamesAsync("tier=gold"));
        Assert.Equal(["bare", "silver"], await NamesAsync("tier!=gold"));
        Assert.Equal(["bare"], await NamesAsync("!tier"));
        Assert.Equal(["gold", "silver"], await NamesAsync("tier in (gold,silver)"));
        Assert.Equal(["bare", "silver"], await NamesAsync("tier notin (gold)"));
    }
}
