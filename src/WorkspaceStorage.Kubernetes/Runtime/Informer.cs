using System.Diagnostics;
using k8s;
using k8s.Models;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Logging.Abstractions;

namespace WorkspaceStorage.Kubernetes.Runtime;

/// <summary>
/// Lists then watches one resource type into an <see cref="InformerStore{T}"/>, the local cache by namespace/name
/// that tells handlers what changed. A closed watch resumes from the last resourceVersion seen; a 410 Gone (the server no longer has that version)
/// makes it list again and diff the new list against the cache, so objects deleted during the gap are reported
/// as deleted. Errors back off with jitter. A periodic resync hands every cached object out again.
/// </summary>
public sealed class Informer<T> : IInformer, IResourceCache<T>
    where T : class, IKubernetesObject<V1ObjectMeta>
{
    private readonly IResourceWatcher<T> source;
    private readonly InformerOptions options;
    private readonly ILogger logger;
    private readonly InformerStore<T> store;
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
        store = new InformerStore<T>(name, transform ?? (item => item), this.logger);
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
    public IDisposable AddEventHandler(Action<InformerEvent<T>> handler) => store.AddEventHandler(handler);

    public T? Get(ResourceKey key) => store.Get(key);

    public IReadOnlyList<T> List(string? @namespace = null) => store.List(@namespace);

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
                store.ReplaceAll(list.Items, reportUnchanged: !hasSynced);
                LastResourceVersion = list.ResourceVersion;
                if (!hasSynced)
                {
                    hasSynced = true;
                    synced.TrySetResult();
                    logger.LogInformation("Informer {Informer} synced with {Count} object(s) at resourceVersion {ResourceVersion}", Name, store.Count, list.ResourceVersion);
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
                store.Apply(change);
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

    private async Task ResyncLoopAsync(TimeSpan period, CancellationToken cancellationToken)
    {
        using var timer = new PeriodicTimer(period);
        while (await timer.WaitForNextTickAsync(cancellationToken))
        {
            if (!hasSynced)
            {
                continue;
            }

            store.Resync();
        }
    }

    private static TaskCompletionSource NewSyncSource() => new(TaskCreationOptions.RunContinuationsAsynchronously);
}
