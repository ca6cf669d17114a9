using System.Collections.Concurrent;
using System.Diagnostics;
using k8s;
using k8s.Models;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Logging.Abstractions;
using WorkspaceStorage.Core.Resilience;

namespace WorkspaceStorage.Kubernetes.Runtime;

/// <summary>Settings of an <see cref="Informer{T}"/>.</summary>
public sealed record InformerOptions
{
    /// <summary>Only this namespace; null = all namespaces (or the cluster, for cluster-scoped types).</summary>
    public string? Namespace { get; init; }

    /// <summary>Only objects matching this label selector ("k=v,k2=v2"); null = all.</summary>
    public string? LabelSelector { get; init; }

    /// <summary>Every this often each cached object is handed to the handlers again (as <see cref="InformerEventType.Resync"/>),
    /// so drift made outside Kubernetes (in the storage backend) is found even when no object changes. Null = never.</summary>
    public TimeSpan? ResyncPeriod { get; init; } = TimeSpan.FromMinutes(10);

    /// <summary>Delays between attempts after list or watch errors.</summary>
    public ExponentialBackoff Backoff { get; init; } = new(TimeSpan.FromMilliseconds(500), TimeSpan.FromSeconds(30));

    /// <summary>A watch that closes sooner than this without an event counts as a failure (so a server that drops
    /// every watch at once is not hammered).</summary>
    public TimeSpan MinimumHealthyWatch { get; init; } = TimeSpan.FromSeconds(1);
}

/// <summary>What an informer saw.</summary>
public enum InformerEventType
{
    Added,
    Updated,
    Deleted,

    /// <summary>No change seen: the periodic resync hands every cached object out again.</summary>
    Resync,
}

/// <summary>One informer notification; <see cref="Previous"/> is the cached object an update replaced.</summary>
public sealed record InformerEvent<T>(InformerEventType Type, T Object, T? Previous = null)
    where T : class;

/// <summary>The informer's local copy of the objects, as the reconciler reads it. Thread-safe. The objects are
/// shared: treat them as read-only and copy (<see cref="ResourceCopy.Clone{T}"/>) before changing one.</summary>
public interface IResourceCache<T>
    where T : class, IKubernetesObject<V1ObjectMeta>
{
    /// <summary>True once the first list has been loaded into the cache, while the informer runs.</summary>
    bool HasSynced { get; }

    /// <summary>The cached object, or null.</summary>
    T? Get(ResourceKey key);

    /// <summary>All cached objects (of one namespace, when given).</summary>
    IReadOnlyList<T> List(string? @namespace = null);
}

/// <summary>What a controller or the readiness probe needs of any informer.</summary>
public interface IInformer
{
    /// <summary>A name for logs and readiness reports (the resource plural).</summary>
    string Name { get; }

    /// <inheritdoc cref="IResourceCache{T}.HasSynced"/>
    bool HasSynced { get; }

    /// <summary>Lists, then watches, until cancelled.</summary>
    Task RunAsync(CancellationToken cancellationToken);

    /// <summary>Completes once <see cref="HasSynced"/> is true.</summary>
    Task WaitForSyncAsync(CancellationToken cancellationToken);
}

/// <summary>
/// Lists then watches one resource type, keeps a local cache by namespace/name and tells handlers what changed.
/// A closed watch resumes from the last resourceVersion seen; a 410 Gone (the server no longer has that version)
/// makes it list again and diff the new list against the cache, so objects deleted during the gap are reported
/// as deleted. Errors back off with jitter. A periodic resync hands every cached object out again.
/// </summary>
public sealed class Informer<T> : IInformer, IResourceCache<T>
    where T : class, IKubernetesObject<V1ObjectMeta>
{
    private readonly IResourceWatcher<T> source;
    private readonly InformerOptions options;
    private readonly ILogger logger;
    private readonly Func<T, T> transform;
    private readonly ConcurrentDictionary<ResourceKey, T> cache = new();
    private readonly Lock handlersGate = new();
    private ImmutableHandlers handlers = new([]);
    private volatile TaskCompletionSource synced = NewSyncSource();
    private volatile bool hasSynced;
    private long lists;
    private long watches;

    /// <param name="transform">Applied to every object before it is cached or handed to handlers, as client-go's
    /// SetTransform: return a copy holding only the fields the readers of this cache use, so the full object the
    /// server sent (managedFields, annotations, Secret data, …) is garbage at once instead of living in the cache.
    /// Null keeps objects whole.</param>
    public Informer(IResourceWatcher<T> source, string name, InformerOptions? options = null, ILogger? logger = null, Func<T, T>? transform = null)
    {
        this.source = source ?? throw new ArgumentNullException(nameof(source));
        ArgumentException.ThrowIfNullOrWhiteSpace(name);
        Name = name;
        this.options = options ?? new InformerOptions();
        this.logger = logger ?? NullLogger.Instance;
        this.transform = transform ?? (item => item);
    }

    public string Name { get; }

    public bool HasSynced => hasSynced;

    /// <summary>The resourceVersion the next watch resumes from.</summary>
    public string LastResourceVersion { get; private set; } = "";

    /// <summary>How many full lists were made (the first, and one per 410 Gone or list failure).</summary>
    public long ListCount => Interlocked.Read(ref lists);

    /// <summary>How many watches were opened.</summary>
    public long WatchCount => Interlocked.Read(ref watches);

    /// <summary>Registers a handler for every change; handlers run on the informer's loop and must be quick
    /// (enqueue a key, nothing more). Dispose the result to unregister.</summary>
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

    public Task WaitForSyncAsync(CancellationToken cancellationToken) => synced.Task.WaitAsync(cancellationToken);

    public async Task RunAsync(CancellationToken cancellationToken)
    {
        hasSynced = false;
        if (synced.Task.IsCompleted)
        {
            synced = NewSyncSource();
        }

        using var resyncStop = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
        var resync = options.ResyncPeriod is { } period && period > TimeSpan.Zero
            ? ResyncLoopAsync(period, resyncStop.Token)
            : Task.CompletedTask;
        try
        {
            await ListAndWatchLoopAsync(cancellationToken);
        }
        finally
        {
            // A stopped informer's cache is no longer kept current.
            hasSynced = false;
            await resyncStop.CancelAsync();
            await resync.ConfigureAwait(ConfigureAwaitOptions.SuppressThrowing);
        }
    }

    private async Task ListAndWatchLoopAsync(CancellationToken cancellationToken)
    {
        var failures = 0;
        while (!cancellationToken.IsCancellationRequested)
        {
            try
            {
                var list = await source.ListAsync(options.Namespace, options.LabelSelector, cancellationToken);
                Interlocked.Increment(ref lists);
                // The first list of a run hands out every object (a new leader must look at all of them);
                // a relist after 410 reports only differences.
                ReplaceAll(list.Items, reportUnchanged: !hasSynced);
                LastResourceVersion = list.ResourceVersion;
                if (!hasSynced)
                {
                    hasSynced = true;
                    synced.TrySetResult();
                    logger.LogInformation("Informer {Informer} synced with {Count} object(s) at resourceVersion {ResourceVersion}", Name, cache.Count, list.ResourceVersion);
                }

                failures = 0;
            }
            catch (OperationCanceledException) when (cancellationToken.IsCancellationRequested)
            {
                return;
            }
            catch (Exception error)
            {
                failures++;
                await BackOffAsync("list", error, failures, cancellationToken);
                continue;
            }

            // Watch from the list's version; on a normal close resume from the last version seen; on 410, list again.
            while (!cancellationToken.IsCancellationRequested)
            {
                var outcome = await WatchOnceAsync(cancellationToken);
                if (outcome == WatchOutcome.Gone)
                {
                    logger.LogInformation("Informer {Informer}: resourceVersion {ResourceVersion} is gone; listing again", Name, LastResourceVersion);
                    failures = 0;
                    break;
                }

                if (outcome == WatchOutcome.Healthy)
                {
                    failures = 0;
                    continue;
                }

                if (outcome == WatchOutcome.Failed)
                {
                    failures++;
                    await BackOffAsync("watch", null, failures, cancellationToken);
                }
            }
        }
    }

    private enum WatchOutcome
    {
        Healthy,
        Failed,
        Gone,
        Cancelled,
    }

    private async Task<WatchOutcome> WatchOnceAsync(CancellationToken cancellationToken)
    {
        var started = Stopwatch.GetTimestamp();
        var events = 0;
        try
        {
            Interlocked.Increment(ref watches);
            await foreach (var change in source.WatchAsync(options.Namespace, LastResourceVersion, options.LabelSelector, cancellationToken))
            {
                events++;
                Apply(change);
                if (!string.IsNullOrEmpty(change.ResourceVersion))
                {
                    LastResourceVersion = change.ResourceVersion;
                }
            }
        }
        catch (OperationCanceledException) when (cancellationToken.IsCancellationRequested)
        {
            return WatchOutcome.Cancelled;
        }
        catch (ResourceGoneException)
        {
            return WatchOutcome.Gone;
        }
        catch (Exception error)
        {
            logger.LogWarning("Informer {Informer}: watch from {ResourceVersion} failed with {ErrorType}: {Error}", Name, LastResourceVersion, error.GetType().Name, SafeMessage(error));
            return WatchOutcome.Failed;
        }

        return events == 0 && Stopwatch.GetElapsedTime(started) < options.MinimumHealthyWatch ? WatchOutcome.Failed : WatchOutcome.Healthy;
    }

    private async Task BackOffAsync(string what, Exception? error, int failures, CancellationToken cancellationToken)
    {
        var delay = options.Backoff.Delay(failures);
        if (error is not null)
        {
            logger.LogWarning("Informer {Informer}: {Operation} failed with {ErrorType}: {Error}; retrying in {Delay}", Name, what, error.GetType().Name, SafeMessage(error), delay);
        }

        try
        {
            await Task.Delay(delay, cancellationToken);
        }
        catch (OperationCanceledException)
        {
            // Stopping.
        }
    }

    // Our own exceptions carry only status, reason and the server's short message; others may quote anything.
    private static string SafeMessage(Exception error) => error is ResourceClientException ? error.Message : error.GetType().Name;

    private void ReplaceAll(IReadOnlyList<T> items, bool reportUnchanged)
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

    private void Apply(ResourceWatchEvent<T> change)
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

    private async Task ResyncLoopAsync(TimeSpan period, CancellationToken cancellationToken)
    {
        using var timer = new PeriodicTimer(period);
        while (await timer.WaitForNextTickAsync(cancellationToken))
        {
            if (!hasSynced)
            {
                continue;
            }

            foreach (var item in cache.Values)
            {
                Notify(new InformerEvent<T>(InformerEventType.Resync, item));
            }
        }
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
                logger.LogError("Informer {Informer}: a handler failed with {ErrorType}", Name, error.GetType().Name);
            }
        }
    }

    private static TaskCompletionSource NewSyncSource() => new(TaskCreationOptions.RunContinuationsAsynchronously);

    private sealed record ImmutableHandlers(Action<InformerEvent<T>>[] Items);

    private sealed class Registration(Action remove) : IDisposable
    {
        private Action? remove = remove;

        public void Dispose() => Interlocked.Exchange(ref remove, null)?.Invoke();
    }
}
