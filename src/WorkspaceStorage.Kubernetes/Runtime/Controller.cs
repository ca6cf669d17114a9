using System.Diagnostics;
using k8s;
using k8s.Models;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Logging.Abstractions;

namespace WorkspaceStorage.Kubernetes.Runtime;

/// <summary>Settings of a <see cref="Controller{T}"/>.</summary>
public sealed record ControllerOptions
{
    public WorkQueueOptions Queue { get; init; } = new();

    /// <summary>Upper bound of one reconcile; past it the reconcile's token is cancelled and the key backs off.</summary>
    public TimeSpan ReconcileTimeout { get; init; } = TimeSpan.FromMinutes(2);
}

/// <summary>Something that runs until cancelled and can say whether its caches are loaded (a controller).</summary>
public interface IRunnable
{
    string Name { get; }

    /// <summary>True once every informer it reads has synced.</summary>
    bool HasSynced { get; }

    Task RunAsync(CancellationToken cancellationToken);
}

/// <summary>
/// Wires a primary informer (and any informers of owned objects) to a work queue and a reconciler: every change
/// enqueues the key of the primary object concerned; workers reconcile keys one at a time per key, and the result
/// decides what happens next (done, backoff, requeue after a delay). Exceptions back off and are logged redacted.
/// </summary>
public sealed class Controller<T> : IRunnable
    where T : class, IKubernetesObject<V1ObjectMeta>
{
    private readonly Informer<T> primary;
    private readonly IReconciler<T> reconciler;
    private readonly ControllerOptions options;
    private readonly IControllerMetrics metrics;
    private readonly ILogger logger;
    private readonly List<IInformer> informers = [];
    private readonly List<Func<WorkQueue<ResourceKey>, IDisposable>> subscriptions = [];
    private volatile WorkQueue<ResourceKey>? queue;
    private OwnWrites? ownWrites;
    private int running;

    public Controller(string name, Informer<T> primary, IReconciler<T> reconciler, ControllerOptions? options = null, IControllerMetrics? metrics = null, ILogger? logger = null)
    {
        ArgumentException.ThrowIfNullOrWhiteSpace(name);
        Name = name;
        this.primary = primary ?? throw new ArgumentNullException(nameof(primary));
        this.reconciler = reconciler ?? throw new ArgumentNullException(nameof(reconciler));
        this.options = options ?? new ControllerOptions();
        this.metrics = metrics ?? NullControllerMetrics.Instance;
        this.logger = logger ?? NullLogger.Instance;
        informers.Add(primary);
        subscriptions.Add(q => primary.AddEventHandler(change => Route(change, () => q.Add(ResourceKey.Of(change.Object)))));
    }

    public string Name { get; }

    public bool HasSynced => informers.TrueForAll(informer => informer.HasSynced);

    /// <summary>Keys ready in the queue of the current run (0 when not running).</summary>
    public int QueueDepth => queue?.Depth ?? 0;

    /// <summary>
    /// Also reconcile the owner when an object of another type changes: <paramref name="mapToOwners"/> names the
    /// owners (see <see cref="OwnerMapping"/>). The informer is run by this controller. Call before <see cref="RunAsync"/>.
    /// </summary>
    public Controller<T> Watches<TOwned>(Informer<TOwned> informer, Func<TOwned, IEnumerable<ResourceKey>> mapToOwners)
        where TOwned : class, IKubernetesObject<V1ObjectMeta>
    {
        ArgumentNullException.ThrowIfNull(mapToOwners);
        return Watches(informer, (InformerEvent<TOwned> change) => mapToOwners(change.Object));
    }

    /// <summary>
    /// As <see cref="Watches{TOwned}(Informer{TOwned}, Func{TOwned, IEnumerable{ResourceKey}})"/>, with the whole event
    /// (its type and, on updates, the previous object), for mappings that depend on what changed.
    /// </summary>
    public Controller<T> Watches<TOwned>(Informer<TOwned> informer, Func<InformerEvent<TOwned>, IEnumerable<ResourceKey>> mapChange)
        where TOwned : class, IKubernetesObject<V1ObjectMeta>
    {
        ArgumentNullException.ThrowIfNull(informer);
        ArgumentNullException.ThrowIfNull(mapChange);
        if (Volatile.Read(ref running) != 0)
        {
            throw new InvalidOperationException("Add watches before the controller runs.");
        }

        informers.Add(informer);
        subscriptions.Add(q => informer.AddEventHandler(change => Route(change, () =>
        {
            foreach (var owner in mapChange(change))
            {
                q.Add(owner);
            }
        })));
        return this;
    }

    /// <summary>
    /// Events that are only the echo of the reconciler's own writes (made through <paramref name="writes"/>'s
    /// <see cref="OwnWrites.Tracking{T}"/> clients) reconcile nothing: the reconcile that wrote already saw that state.
    /// Applies to the primary informer and to <c>Watches</c>. Call before <c>RunAsync</c>.
    /// </summary>
    public Controller<T> IgnoreOwnWrites(OwnWrites writes)
    {
        ArgumentNullException.ThrowIfNull(writes);
        if (Volatile.Read(ref running) != 0)
        {
            throw new InvalidOperationException("Set this before the controller runs.");
        }

        ownWrites = writes;
        return this;
    }

    /// <summary>
    /// Also reconcile other objects of the same type when one changes: <paramref name="related"/> names them from the
    /// primary informer's event (with the previous object on updates). Costs no second cache of the primary type.
    /// Call before <see cref="RunAsync"/>.
    /// </summary>
    public Controller<T> AlsoReconcile(Func<InformerEvent<T>, IEnumerable<ResourceKey>> related)
    {
        ArgumentNullException.ThrowIfNull(related);
        if (Volatile.Read(ref running) != 0)
        {
            throw new InvalidOperationException("Add watches before the controller runs.");
        }

        subscriptions.Add(q => primary.AddEventHandler(change =>
        {
            foreach (var key in related(change))
            {
                q.Add(key);
            }
        }));
        return this;
    }

    /// <summary>
    /// Runs the informers, waits until they have synced, then reconciles until cancelled; on cancellation takes no
    /// new key and waits (bounded by the queue's shutdown timeout) for reconciles in flight. Can run again later
    /// (e.g. on regaining leadership) with a fresh queue.
    /// </summary>
    public async Task RunAsync(CancellationToken cancellationToken)
    {
        if (Interlocked.Exchange(ref running, 1) != 0)
        {
            throw new InvalidOperationException($"Controller {Name} is already running.");
        }

        var current = new WorkQueue<ResourceKey>(options.Queue, logger, depth => metrics.QueueDepthChanged(Name, depth));
        queue = current;
        var registrations = subscriptions.Select(subscribe => subscribe(current)).ToList();
        using var informerStop = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
        var informerTasks = informers.Select(informer => Task.Run(() => informer.RunAsync(informerStop.Token), CancellationToken.None)).ToList();
        try
        {
            logger.LogInformation("Controller {Controller}: waiting for {Count} informer(s) to sync", Name, informers.Count);
            try
            {
                await Task.WhenAll(informers.Select(informer => informer.WaitForSyncAsync(cancellationToken)));
            }
            catch (OperationCanceledException) when (cancellationToken.IsCancellationRequested)
            {
                return;
            }

            logger.LogInformation("Controller {Controller}: synced; starting {Workers} worker(s)", Name, options.Queue.Workers);
            await current.RunAsync((key, stopping) => ReconcileKeyAsync(current, key, stopping), cancellationToken);
        }
        finally
        {
            foreach (var registration in registrations)
            {
                registration.Dispose();
            }

            await informerStop.CancelAsync();
            foreach (var task in informerTasks)
            {
                await task.ConfigureAwait(ConfigureAwaitOptions.SuppressThrowing);
            }

            queue = null;
            Volatile.Write(ref running, 0);
            logger.LogInformation("Controller {Controller}: stopped", Name);
        }
    }

    private void Route<TObject>(InformerEvent<TObject> change, Action enqueue)
        where TObject : class, IKubernetesObject<V1ObjectMeta>
    {
        if (ownWrites is { } writes)
        {
            writes.Route(change, enqueue);
        }
        else
        {
            enqueue();
        }
    }

    private async Task ReconcileKeyAsync(WorkQueue<ResourceKey> current, ResourceKey key, CancellationToken stopping)
    {
        var started = Stopwatch.GetTimestamp();
        using var timeout = CancellationTokenSource.CreateLinkedTokenSource(stopping);
        timeout.CancelAfter(options.ReconcileTimeout);
        try
        {
            var result = await reconciler.ReconcileAsync(new ReconcileRequest<T>(key), timeout.Token);
            var elapsed = Stopwatch.GetElapsedTime(started);
            switch (result.Outcome)
            {
                case ReconcileOutcome.Requeue:
                    var backoff = current.AddRateLimited(key);
                    metrics.ReconcileCompleted(Name, ControllerMetricResults.Requeue, elapsed);
                    logger.LogDebug("Reconciled {Controller} {Key}: requeue in {Delay}", Name, key, backoff);
                    break;
                case ReconcileOutcome.RequeueAfter:
                    current.Forget(key);
                    current.AddAfter(key, result.Delay);
                    metrics.ReconcileCompleted(Name, ControllerMetricResults.RequeueAfter, elapsed);
                    logger.LogDebug("Reconciled {Controller} {Key}: again in {Delay}", Name, key, result.Delay);
                    break;
                default:
                    current.Forget(key);
                    metrics.ReconcileCompleted(Name, ControllerMetricResults.Success, elapsed);
                    logger.LogDebug("Reconciled {Controller} {Key} in {Elapsed}", Name, key, elapsed);
                    break;
            }
        }
        catch (OperationCanceledException) when (stopping.IsCancellationRequested)
        {
            // Shutting down: the next run lists everything again, so the key is not lost.
            metrics.ReconcileCompleted(Name, ControllerMetricResults.Error, Stopwatch.GetElapsedTime(started));
        }
        catch (Exception error)
        {
            var delay = current.AddRateLimited(key);
            metrics.ReconcileCompleted(Name, ControllerMetricResults.Error, Stopwatch.GetElapsedTime(started));
            var timedOut = error is OperationCanceledException && timeout.IsCancellationRequested;
            if (error is ResourceConflictException)
            {
                logger.LogInformation("Reconcile {Controller} {Key}: object changed meanwhile; retry in {Delay}", Name, key, delay);
            }
            else if (timedOut)
            {
                logger.LogWarning("Reconcile {Controller} {Key}: no result within {Timeout}; retry in {Delay} (attempt {Attempt})", Name, key, options.ReconcileTimeout, delay, current.Failures(key));
            }
            else
            {
                logger.LogWarning("Reconcile {Controller} {Key} failed with {ErrorType}: {Error}; retry in {Delay} (attempt {Attempt})", Name, key, error.GetType().Name, LogRedaction.Redact(error.Message), delay, current.Failures(key));
            }
        }
    }
}
