using WorkspaceStorage.Kubernetes.Runtime;

namespace WorkspaceStorage.Testing.Kubernetes;

/// <summary>
/// The IResourceClient write contract every store keeps (the in-memory store, the local directory adapter): one
/// sequence of checks, run against each, so the stores cannot drift apart unnoticed.
/// </summary>
public static class ResourceClientContract
{
    /// <summary>Creates ns/w and walks replace, stale replace, status, patch and list; returns the patched object.</summary>
    public static async Task<Widget> WritesBumpTheResourceVersionConflictAndKeepStatusSeparateAsync(IResourceClient<Widget> store, CancellationToken ct)
    {
        var key = new ResourceKey("ns", "w");
        var created = await store.CreateAsync(Widget.Create("ns", "w"), ct);
        Assert.Equal(1, created.Metadata.Generation);
        Assert.False(string.IsNullOrEmpty(created.Metadata.Uid));
        await Assert.ThrowsAsync<ResourceAlreadyExistsException>(() => store.CreateAsync(Widget.Create("ns", "w"), ct));

        var stale = ResourceCopy.Clone(created);
        created.Spec!.Size = "large";
        created.Status = new WidgetStatus { Phase = "ignored on replace" };
        var replaced = await store.ReplaceAsync(created, ct);
        Assert.NotEqual(created.Metadata.ResourceVersion, replaced.Metadata.ResourceVersion);
        Assert.Equal(2, replaced.Metadata.Generation);
        Assert.Null(replaced.Status);

        stale.Spec!.Size = "tiny";
        await Assert.ThrowsAsync<ResourceConflictException>(() => store.ReplaceAsync(stale, ct));

        replaced.Status = new WidgetStatus { Phase = "Ready" };
        var withStatus = await store.ReplaceStatusAsync(replaced, ct);
        Assert.Equal("Ready", withStatus.Status?.Phase);
        Assert.Equal(2, withStatus.Metadata.Generation);
        await Assert.ThrowsAsync<ResourceConflictException>(() => store.ReplaceStatusAsync(replaced, ct));

        var patched = await store.PatchAsync(key, ResourcePatch.Merge("""{"metadata":{"labels":{"tier":"gold"}},"status":{"phase":"no"}}"""), ct);
        Assert.Equal("gold", patched.Metadata.Labels["tier"]);
        Assert.Equal("Ready", patched.Status?.Phase);
        Assert.Equal(2, patched.Metadata.Generation);

        Assert.Single((await store.ListAsync("ns", "tier=gold", ct)).Items);
        Assert.Empty((await store.ListAsync("ns", "tier!=gold", ct)).Items);
        await Assert.ThrowsAsync<ResourceNotFoundException>(() => store.PatchAsync(new ResourceKey("ns", "nope"), ResourcePatch.Merge("{}"), ct));
        return patched;
    }

    /// <summary>A watch from a resource version, filtered by a label, sees ns/w enter (Added) and leave (Deleted) the selection.</summary>
    public static async Task ASelectorWatchSeesObjectsEnterAndLeaveItAsync<TStore>(TStore store, CancellationToken ct)
        where TStore : IResourceClient<Widget>, IResourceWatcher<Widget>
    {
        IResourceWatcher<Widget> watcher = store;
        var start = (await watcher.ListAsync(null, null, ct)).ResourceVersion;
        var widget = await store.CreateAsync(Widget.Create("ns", "w"), ct);
        var labelled = await store.PatchAsync(new ResourceKey("ns", "w"), ResourcePatch.Merge("""{"metadata":{"labels":{"tier":"gold"}}}"""), ct);
        await store.PatchAsync(new ResourceKey("ns", "w"), ResourcePatch.Merge("""{"metadata":{"labels":{"tier":null}}}"""), ct);

        using var cts = CancellationTokenSource.CreateLinkedTokenSource(ct);
        cts.CancelAfter(TimeSpan.FromSeconds(10)); // an upper bound; the watch is left as soon as both events are in
        var seen = new List<ResourceWatchEventType>();
        try
        {
            await foreach (var change in watcher.WatchAsync("ns", start, "tier=gold", cts.Token))
            {
                seen.Add(change.Type);
                if (seen.Count == 2)
                {
                    break;
                }
            }
        }
        catch (OperationCanceledException)
        {
            // Fewer events than expected: the assertion below says which.
        }

        Assert.Equal([ResourceWatchEventType.Added, ResourceWatchEventType.Deleted], seen);
        Assert.NotEqual(widget.Metadata.ResourceVersion, labelled.Metadata.ResourceVersion);
    }
}
