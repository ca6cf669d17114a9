using k8s;
using k8s.Models;

namespace WorkspaceStorage.Kubernetes.Runtime;

/// <summary>
/// Tells the watch events a controller's own writes cause (their echoes) from everyone else's, so that writing a
/// status, a finalizer or an owned Secret does not reconcile the object once more: that second reconcile finds
/// nothing to do, yet costs every read of a full reconcile (eight backend calls per WorkspaceStorage on RGW).
/// </summary>
/// <remarks>
/// A write wrapped by <see cref="Tracking{T}"/> records the resourceVersion the API server gave it; an event carrying
/// that version is an echo. The echo can arrive before the write's response does, so an event for an object with a
/// write in flight waits for that write to end and is then judged. Anything unsure is passed on: a stray reconcile
/// costs reads, a lost one would leave drift until the next resync. Deletions and resyncs always pass.
/// </remarks>
public sealed class OwnWrites
{
    /// <summary>A version whose echo never came (a watch that restarted from a later version) is forgotten after this.</summary>
    private static readonly TimeSpan RecordLifetime = TimeSpan.FromMinutes(2);

    private readonly TimeProvider clock;
    private readonly Lock gate = new();
    private readonly Dictionary<(Type Type, string? Namespace, string Name), Entry> entries = [];
    private DateTimeOffset nextSweep;

    public OwnWrites(TimeProvider? time = null)
    {
        clock = time ?? TimeProvider.System;
        nextSweep = clock.GetUtcNow() + RecordLifetime;
    }

    /// <summary>Objects with a write in flight, a version awaiting its echo or an event awaiting judgement (tests).</summary>
    public int Tracked
    {
        get
        {
            lock (gate)
            {
                return entries.Count;
            }
        }
    }

    /// <summary><paramref name="inner"/>, with its creates, replaces and patches recorded as this controller's own.</summary>
    public IResourceClient<T> Tracking<T>(IResourceClient<T> inner)
        where T : class, IKubernetesObject<V1ObjectMeta> => new OwnWriteTrackingClient<T>(inner ?? throw new ArgumentNullException(nameof(inner)), this);

    /// <summary>
    /// Routes one informer event: <paramref name="enqueue"/> runs now, later (once a write in flight for the object
    /// turns out not to have caused the event), or never (the event is the echo of an own write).
    /// </summary>
    public void Route<T>(InformerEvent<T> change, Action enqueue)
        where T : class, IKubernetesObject<V1ObjectMeta>
    {
        ArgumentNullException.ThrowIfNull(change);
        ArgumentNullException.ThrowIfNull(enqueue);
        var version = change.Object.Metadata.ResourceVersion;
        if (change.Type is InformerEventType.Resync or InformerEventType.Deleted || string.IsNullOrEmpty(version))
        {
            if (change.Type == InformerEventType.Deleted)
            {
                Forget(KeyOf<T>(change.Object.Metadata));
            }

            enqueue();
            return;
        }

        lock (gate)
        {
            var key = KeyOf<T>(change.Object.Metadata);
            if (entries.TryGetValue(key, out var entry))
            {
                if (entry.Written.Remove(version))
                {
                    RemoveIfIdle(key, entry);
                    return;
                }

                if (entry.Pending > 0)
                {
                    entry.Deferred.Add((version, enqueue));
                    return;
                }
            }
        }

        enqueue();
    }

    internal (Type Type, string? Namespace, string Name) Begin<T>(V1ObjectMeta metadata)
    {
        var key = KeyOf<T>(metadata);
        lock (gate)
        {
            SweepIfDue();
            if (!entries.TryGetValue(key, out var entry))
            {
                entry = new Entry();
                entries[key] = entry;
            }

            entry.Pending++;
        }

        return key;
    }

    /// <param name="version">The version the write produced; null when it failed.</param>
    internal void End((Type Type, string? Namespace, string Name) key, string? version)
    {
        List<Action>? release = null;
        lock (gate)
        {
            if (!entries.TryGetValue(key, out var entry))
            {
                return;
            }

            entry.Pending--;
            if (!string.IsNullOrEmpty(version))
            {
                entry.Written[version] = clock.GetUtcNow();
            }

            // Events that waited for this write: its echo is dropped; the rest wait until no write is in flight.
            for (var i = entry.Deferred.Count - 1; i >= 0; i--)
            {
                var (deferredVersion, enqueue) = entry.Deferred[i];
                if (entry.Written.Remove(deferredVersion))
                {
                    entry.Deferred.RemoveAt(i);
                }
                else if (entry.Pending == 0)
                {
                    (release ??= []).Add(enqueue);
                    entry.Deferred.RemoveAt(i);
                }
            }

            RemoveIfIdle(key, entry);
        }

        // Outside the lock: enqueueing takes the work queue's own lock.
        release?.ForEach(enqueue => enqueue());
    }

    private static (Type, string?, string) KeyOf<T>(V1ObjectMeta metadata) => (typeof(T), metadata.NamespaceProperty, metadata.Name);

    private void Forget((Type, string?, string) key)
    {
        lock (gate)
        {
            if (entries.TryGetValue(key, out var entry) && entry.Pending == 0 && entry.Deferred.Count == 0)
            {
                entries.Remove(key);
            }
        }
    }

    private void RemoveIfIdle((Type, string?, string) key, Entry entry)
    {
        if (entry.Pending == 0 && entry.Written.Count == 0 && entry.Deferred.Count == 0)
        {
            entries.Remove(key);
        }
    }

    private void SweepIfDue()
    {
        var now = clock.GetUtcNow();
        if (now < nextSweep)
        {
            return;
        }

        nextSweep = now + RecordLifetime;
        foreach (var (key, entry) in entries.ToList())
        {
            foreach (var (version, at) in entry.Written.ToList())
            {
                if (now - at > RecordLifetime)
                {
                    entry.Written.Remove(version);
                }
            }

            RemoveIfIdle(key, entry);
        }
    }

    private sealed class Entry
    {
        public int Pending { get; set; }

        public Dictionary<string, DateTimeOffset> Written { get; } = new(StringComparer.Ordinal);

        public List<(string Version, Action Enqueue)> Deferred { get; } = [];
    }

    /// <summary>Records the version of every write that goes through it.</summary>
    private sealed class OwnWriteTrackingClient<T>(IResourceClient<T> inner, OwnWrites writes) : IResourceClient<T>
        where T : class, IKubernetesObject<V1ObjectMeta>
    {
        public ResourceDescriptor Resource => inner.Resource;

        public Task<T?> GetAsync(ResourceKey key, CancellationToken cancellationToken) => inner.GetAsync(key, cancellationToken);

        public Task<ResourceList<T>> ListAsync(string? @namespace, string? labelSelector, CancellationToken cancellationToken) =>
            inner.ListAsync(@namespace, labelSelector, cancellationToken);

        public Task<T> CreateAsync(T resource, CancellationToken cancellationToken) =>
            WriteAsync(resource.Metadata, () => inner.CreateAsync(resource, cancellationToken));

        public Task<T> ReplaceAsync(T resource, CancellationToken cancellationToken) =>
            WriteAsync(resource.Metadata, () => inner.ReplaceAsync(resource, cancellationToken));

        public Task<T> ReplaceStatusAsync(T resource, CancellationToken cancellationToken) =>
            WriteAsync(resource.Metadata, () => inner.ReplaceStatusAsync(resource, cancellationToken));

        public Task<T> PatchAsync(ResourceKey key, ResourcePatch patch, CancellationToken cancellationToken) =>
            WriteAsync(new V1ObjectMeta { NamespaceProperty = key.Namespace, Name = key.Name }, () => inner.PatchAsync(key, patch, cancellationToken));

        // A delete's event always passes (Route), so there is nothing to record.
        public Task<bool> DeleteAsync(ResourceKey key, CancellationToken cancellationToken) => inner.DeleteAsync(key, cancellationToken);

        private async Task<T> WriteAsync(V1ObjectMeta metadata, Func<Task<T>> write)
        {
            var key = writes.Begin<T>(metadata);
            string? version = null;
            try
            {
                var written = await write();
                version = written.Metadata?.ResourceVersion;
                return written;
            }
            finally
            {
                writes.End(key, version);
            }
        }
    }
}
