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

    /// <summary>One tracker, one gated client through it, and a count of what was enqueued.</summary>
    private sealed class World(TimeProvider? time = null)
    {
        private int enqueued;

        public OwnWrites Writes { get; } = new(time);

        public GatedClient Inner { get; } = new();

        public IResourceClient<V1ConfigMap> Client => Writes.Tracking(Inner);

        public int Enqueued => Volatile.Read(ref enqueued);

        public void Route<T>(InformerEvent<T> change)
            where T : class, k8s.IKubernetesObject<V1ObjectMeta> => Writes.Route(change, () => Interlocked.Increment(ref enqueued));

        /// <summary>An own write that the API server answers with <paramref name="version"/>.</summary>
        public async Task WriteAsync(string version)
        {
            var write = Client.ReplaceAsync(Map("1"), Ct);
            Inner.Finish(version);
            await write;
        }
    }

    [Fact]
    public async Task The_echo_of_a_finished_write_is_dropped_and_nothing_stays_tracked()
    {
        var w = new World();

        await w.WriteAsync("5");
        w.Route(Updated("5"));

        Assert.Equal(0, w.Enqueued);
        Assert.Equal(0, w.Writes.Tracked);
    }

    [Fact]
    public async Task An_echo_that_overtakes_the_writes_response_waits_for_it_and_is_then_dropped()
    {
        var w = new World();

        var write = w.Client.ReplaceStatusAsync(Map("4"), Ct);
        w.Route(Updated("5"));
        Assert.Equal(0, w.Enqueued);
        w.Inner.Finish("5");
        await write;

        Assert.Equal(0, w.Enqueued);
        Assert.Equal(0, w.Writes.Tracked);
    }

    [Fact]
    public async Task A_foreign_change_during_an_own_write_is_reconciled_once_the_write_ends()
    {
        var w = new World();

        var write = w.Client.ReplaceAsync(Map("4"), Ct);
        w.Route(Updated("5")); // someone else's version, landed just before ours
        Assert.Equal(0, w.Enqueued);
        w.Inner.Finish("6");
        await write;
        Assert.Equal(1, w.Enqueued);

        w.Route(Updated("6")); // ours
        Assert.Equal(1, w.Enqueued);
        Assert.Equal(0, w.Writes.Tracked);
    }

    [Fact]
    public async Task An_event_held_for_a_write_that_fails_is_reconciled()
    {
        var w = new World();

        var write = w.Client.CreateAsync(Map(""), Ct);
        w.Route(Updated("5"));
        w.Inner.Fail();
        await Assert.ThrowsAsync<ResourceConflictException>(() => write);

        Assert.Equal(1, w.Enqueued);
        Assert.Equal(0, w.Writes.Tracked);
    }

    [Fact]
    public async Task Resyncs_deletions_other_objects_and_other_types_always_pass()
    {
        var w = new World();
        await w.WriteAsync("5");

        w.Route(new InformerEvent<V1ConfigMap>(InformerEventType.Resync, Map("5")));
        w.Route(Updated("5", name: "other"));
        w.Route(new InformerEvent<V1Secret>(InformerEventType.Updated,
            new V1Secret { Metadata = new V1ObjectMeta { Name = "cm", NamespaceProperty = "ns", ResourceVersion = "5" } }));
        Assert.Equal(3, w.Enqueued);

        w.Route(new InformerEvent<V1ConfigMap>(InformerEventType.Deleted, Map("5")));
        Assert.Equal(4, w.Enqueued);
        Assert.Equal(0, w.Writes.Tracked);
    }

    [Fact]
    public async Task A_version_whose_echo_never_comes_is_forgotten()
    {
        var time = new FakeTimeProvider();
        var w = new World(time);

        // A watch that restarted from a later version never delivers "5".
        await w.WriteAsync("5");
        Assert.Equal(1, w.Writes.Tracked);

        time.Advance(TimeSpan.FromMinutes(3));
        await w.WriteAsync("7");
        w.Route(Updated("5"));
        Assert.Equal(1, w.Enqueued); // "5" is no longer taken for an echo
        w.Route(Updated("7"));
        Assert.Equal(1, w.Enqueued);
        Assert.Equal(0, w.Writes.Tracked);
    }
}
