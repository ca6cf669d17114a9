using k8s.Models;
using Microsoft.Extensions.Time.Testing;
using WorkspaceStorage.Kubernetes.Runtime;

namespace WorkspaceStorage.Kubernetes.Tests.Runtime;

/// <summary>
/// The echo of an own write reconciles nothing; everything else still does, including a foreign change that lands
/// while an own write is in flight, and whichever of the write's response and its watch event arrives first.
/// </summary>
public sealed class OwnWritesTests
{
    private static CancellationToken Ct => TestContext.Current.CancellationToken;

    /// <summary>Writes that finish when the test says so, with the version the test chooses.</summary>
    private sealed class GatedClient : IResourceClient<V1ConfigMap>
    {
        private TaskCompletionSource<V1ConfigMap>? pending;

        public ResourceDescriptor Resource => new("", "v1", "configmaps", "ConfigMap", Namespaced: true);

        public void Finish(string version) => pending!.SetResult(Map(version));

        public void Fail() => pending!.SetException(new ResourceConflictException("conflict"));

        public Task<V1ConfigMap?> GetAsync(ResourceKey key, CancellationToken cancellationToken) => throw new NotSupportedException();

        public Task<ResourceList<V1ConfigMap>> ListAsync(string? @namespace, string? labelSelector, CancellationToken cancellationToken) => throw new NotSupportedException();

        public Task<V1ConfigMap> CreateAsync(V1ConfigMap resource, CancellationToken cancellationToken) => Hold();

        public Task<V1ConfigMap> ReplaceAsync(V1ConfigMap resource, CancellationToken cancellationToken) => Hold();

        public Task<V1ConfigMap> ReplaceStatusAsync(V1ConfigMap resource, CancellationToken cancellationToken) => Hold();

        public Task<V1ConfigMap> PatchAsync(ResourceKey key, ResourcePatch patch, CancellationToken cancellationToken) => Hold();

        public Task<bool> DeleteAsync(ResourceKey key, CancellationToken cancellationToken) => Task.FromResult(true);

        private Task<V1ConfigMap> Hold()
        {
            pending = new TaskCompletionSource<V1ConfigMap>(TaskCreationOptions.RunContinuationsAsynchronously);
            return pending.Task;
        }
    }

    private static V1ConfigMap Map(string version, string name = "cm") =>
        new() { Metadata = new V1ObjectMeta { Name = name, NamespaceProperty = "ns", ResourceVersion = version } };

    private static InformerEvent<V1ConfigMap> Updated(string version, string name = "cm") => new(InformerEventType.Updated, Map(version, name), Map("0", name));

    private sealed class Counter
    {
        public int Count;

        public Action Enqueue => () => Interlocked.Increment(ref Count);
    }

    [Fact]
    public async Task The_echo_of_a_finished_write_is_dropped_and_nothing_stays_tracked()
    {
        var writes = new OwnWrites();
        var inner = new GatedClient();
        var client = writes.Tracking(inner);
        var enqueued = new Counter();

        var write = client.ReplaceAsync(Map("4"), Ct);
        inner.Finish("5");
        await write;
        writes.Route(Updated("5"), enqueued.Enqueue);

        Assert.Equal(0, enqueued.Count);
        Assert.Equal(0, writes.Tracked);
    }

    [Fact]
    public async Task An_echo_that_overtakes_the_writes_response_waits_for_it_and_is_then_dropped()
    {
        var writes = new OwnWrites();
        var inner = new GatedClient();
        var client = writes.Tracking(inner);
        var enqueued = new Counter();

        var write = client.ReplaceStatusAsync(Map("4"), Ct);
        writes.Route(Updated("5"), enqueued.Enqueue);
        Assert.Equal(0, enqueued.Count);
        inner.Finish("5");
        await write;

        Assert.Equal(0, enqueued.Count);
        Assert.Equal(0, writes.Tracked);
    }

    [Fact]
    public async Task A_foreign_change_during_an_own_write_is_reconciled_once_the_write_ends()
    {
        var writes = new OwnWrites();
        var inner = new GatedClient();
        var client = writes.Tracking(inner);
        var enqueued = new Counter();

        var write = client.ReplaceAsync(Map("4"), Ct);
        writes.Route(Updated("5"), enqueued.Enqueue); // someone else's version, landed just before ours
        Assert.Equal(0, enqueued.Count);
        inner.Finish("6");
        await write;
        Assert.Equal(1, enqueued.Count);

        writes.Route(Updated("6"), enqueued.Enqueue); // ours
        Assert.Equal(1, enqueued.Count);
        Assert.Equal(0, writes.Tracked);
    }

    [Fact]
    public async Task An_event_held_for_a_write_that_fails_is_reconciled()
    {
        var writes = new OwnWrites();
        var inner = new GatedClient();
        var client = writes.Tracking(inner);
        var enqueued = new Counter();

        var write = client.CreateAsync(Map(""), Ct);
        writes.Route(Updated("5"), enqueued.Enqueue);
        inner.Fail();
        await Assert.ThrowsAsync<ResourceConflictException>(() => write);

        Assert.Equal(1, enqueued.Count);
        Assert.Equal(0, writes.Tracked);
    }

    [Fact]
    public async Task Resyncs_deletions_other_objects_and_other_types_always_pass()
    {
        var writes = new OwnWrites();
        var inner = new GatedClient();
        var client = writes.Tracking(inner);
        var enqueued = new Counter();
        var write = client.ReplaceAsync(Map("4"), Ct);
        inner.Finish("5");
        await write;

        writes.Route(new InformerEvent<V1ConfigMap>(InformerEventType.Resync, Map("5")), enqueued.Enqueue);
        writes.Route(Updated("5", name: "other"), enqueued.Enqueue);
        writes.Route(new InformerEvent<V1Secret>(InformerEventType.Updated,
            new V1Secret { Metadata = new V1ObjectMeta { Name = "cm", NamespaceProperty = "ns", ResourceVersion = "5" } }), enqueued.Enqueue);
        Assert.Equal(3, enqueued.Count);

        writes.Route(new InformerEvent<V1ConfigMap>(InformerEventType.Deleted, Map("5")), enqueued.Enqueue);
        Assert.Equal(4, enqueued.Count);
        Assert.Equal(0, writes.Tracked);
    }

    [Fact]
    public async Task A_version_whose_echo_never_comes_is_forgotten()
    {
        var time = new FakeTimeProvider();
        var writes = new OwnWrites(time);
        var inner = new GatedClient();
        var client = writes.Tracking(inner);

        // A watch that restarted from a later version never delivers "5".
        var write = client.ReplaceAsync(Map("4"), Ct);
        inner.Finish("5");
        await write;
        Assert.Equal(1, writes.Tracked);

        time.Advance(TimeSpan.FromMinutes(3));
        var next = client.ReplaceAsync(Map("5"), Ct);
        inner.Finish("7");
        await next;
        var enqueued = new Counter();
        writes.Route(Updated("5"), enqueued.Enqueue);
        Assert.Equal(1, enqueued.Count); // "5" is no longer taken for an echo
        writes.Route(Updated("7"), enqueued.Enqueue);
        Assert.Equal(1, enqueued.Count);
        Assert.Equal(0, writes.Tracked);
    }
}
