using System.Collections.Concurrent;
using k8s;
using k8s.Models;
using Microsoft.Extensions.Logging;

namespace WorkspaceStorage.Kubernetes.Runtime;

/// <summary>
/// An informer's cache by namespace/name and the handlers told what changed in it: it turns lists and watch events
/// into Added/Updated/Deleted/Resync notifications (an object whose resourceVersion did not change is not news).
/// Written by the informer's loop only; read from any thread.
/// </summary>
internal sealed class InformerStore<T>(string name, Func<T, T> transform, ILogger logger)
    where T : class, IKubernetesObject<V1ObjectMeta>
{
    private readonly ConcurrentDictionary<ResourceKey, T> cache = new();
    private readonly Lock handlersGate = new();
    private ImmutableHandlers handlers = new([]);

    public int Count => cache.Count;

    public IDisposable AddEventHandler(Action<InformerEvent<T>> handler)
    {
        ArgumentNullException.ThrowIfNull(handler);
        lock (handlersGate)
        {
            handlers = new ImmutableHandlers([.. handlers.Items, handler]);
        }

        return new Registration(() =>
        {
            lock (handlersGate)
            {
                handlers = new ImmutableHandlers([.. handlers.Items.Where(h => h != handler)]);
            }
        });
    }

    public T? Get(ResourceKey key) => cache.TryGetValue(key, out var value) ? value : null;

    public IReadOnlyList<T> List(string? @namespace = null) =>
        [.. cache.Where(entry => @namespace is null || entry.Key.Namespace == @namespace).Select(entry => entry.Value)];

    /// <summary>Makes the cache the list: new and changed objects are reported, missing ones deleted, and with
    /// <paramref name="reportUnchanged"/> the rest handed out as <see cref="InformerEventType.Resync"/>.</summary>
    public void ReplaceAll(IReadOnlyList<T> items, bool reportUnchanged)
    {
        var seen = new HashSet<ResourceKey>();
        foreach (var received in items)
        {
            var item = transform(received);
            var key = ResourceKey.Of(item);
            seen.Add(key);
            if (!Upsert(key, item) && reportUnchanged)
            {
                Notify(new InformerEvent<T>(InformerEventType.Resync, item));
            }
        }

        foreach (var key in cache.Keys.Where(key => !seen.Contains(key)).ToList())
        {
            if (cache.TryRemove(key, out var gone))
            {
                Notify(new InformerEvent<T>(InformerEventType.Deleted, gone));
            }
        }
    }

    public void Apply(ResourceWatchEvent<T> change)
    {
        switch (change.Type)
        {
            case ResourceWatchEventType.Added:
            case ResourceWatchEventType.Modified:
                var item = transform(change.Object);
                Upsert(ResourceKey.Of(item), item);
                break;
            case ResourceWatchEventType.Deleted:
                var gone = transform(change.Object);
                cache.TryRemove(ResourceKey.Of(gone), out _);
                Notify(new InformerEvent<T>(InformerEventType.Deleted, gone));
                break;
            case ResourceWatchEventType.Bookmark:
                break;
        }
    }

    /// <summary>Hands every cached object out again.</summary>
    public void Resync()
    {
        foreach (var item in cache.Values)
        {
            Notify(new InformerEvent<T>(InformerEventType.Resync, item));
        }
    }

    // Returns whether a change was reported.
    private bool Upsert(ResourceKey key, T item)
    {
        if (cache.TryGetValue(key, out var previous))
        {
            cache[key] = item;
            if (string.Equals(previous.Metadata.ResourceVersion, item.Metadata.ResourceVersion, StringComparison.Ordinal)
                && !string.IsNullOrEmpty(item.Metadata.ResourceVersion))
            {
                return false;
            }

            Notify(new InformerEvent<T>(InformerEventType.Updated, item, previous));
            return true;
        }

        cache[key] = item;
        Notify(new InformerEvent<T>(InformerEventType.Added, item));
        return true;
    }

    private void Notify(InformerEvent<T> change)
    {
        foreach (var handler in handlers.Items)
        {
            try
            {
                handler(change);
            }
            catch (Exception error)
            {
                logger.LogError("Informer {Informer}: a handler failed with {ErrorType}", name, error.GetType().Name);
            }
        }
    }

    private sealed record ImmutableHandlers(Action<InformerEvent<T>>[] Items);

    private sealed class Registration(Action remove) : IDisposable
    {
        private Action? remove = remove;

        public void Dispose() => Interlocked.Exchange(ref remove, null)?.Invoke();
    }
}
