using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Logging.Abstractions;
using WorkspaceStorage.Core.Resilience;

namespace WorkspaceStorage.Kubernetes.Runtime;

/// <summary>Settings of a <see cref="WorkQueue{TKey}"/>.</summary>
public sealed record WorkQueueOptions
{
    /// <summary>How many keys are processed at once.</summary>
    public int Workers { get; init; } = 4;

    /// <summary>Per-key retry delays after failures (<see cref="WorkQueue{TKey}.AddRateLimited"/>).</summary>
    public ExponentialBackoff Backoff { get; init; } = new(TimeSpan.FromMilliseconds(200), TimeSpan.FromMinutes(5));

    /// <summary>On shutdown, how long in-flight work may run before its token is cancelled, and again how long it
    /// then gets to wind down before <see cref="WorkQueue{TKey}.RunAsync"/> returns regardless. Under leader election
    /// keep it below <c>LeaseDuration − RenewDeadline</c> (5 s by default): a standby may start after that gap.</summary>
    public TimeSpan ShutdownTimeout { get; init; } = TimeSpan.FromSeconds(4);
}

/// <summary>
/// A keyed work queue in the manner of client-go's: a key waiting twice is processed once; one key is never
/// processed by two workers at once (a key added while it is processed is processed again afterwards); failures
/// back off per key; delayed adds; a bounded worker pool; and a graceful shutdown.
/// </summary>
/// <remarks>One queue serves one <see cref="RunAsync"/>; a new run (e.g. after regaining leadership) uses a new queue.</remarks>
public sealed class WorkQueue<TKey>
    where TKey : notnull
{
    private readonly Lock gate = new();
    private readonly Queue<TKey> ready = new();
    private readonly HashSet<TKey> dirty = [];
    private readonly HashSet<TKey> processing = [];
    private readonly Dictionary<TKey, int> failures = [];
    private readonly Dictionary<TKey, DateTimeOffset> delayed = [];
    private readonly SemaphoreSlim available = new(0);
    private readonly CancellationTokenSource shutdown = new();
    private readonly WorkQueueOptions options;
    private readonly TimeProvider time;
    private readonly ILogger logger;
    private readonly Action<int>? depthChanged;
    private bool shuttingDown;
    private bool started;

    public WorkQueue(WorkQueueOptions? options = null, ILogger? logger = null, Action<int>? depthChanged = null, TimeProvider? time = null)
    {
        this.options = options ?? new WorkQueueOptions();
        if (this.options.Workers < 1)
        {
            throw new ArgumentOutOfRangeException(nameof(options), this.options.Workers, "Workers must be at least 1.");
        }

        this.logger = logger ?? NullLogger.Instance;
        this.depthChanged = depthChanged;
        this.time = time ?? TimeProvider.System;
    }

    /// <summary>Keys ready to be processed now (not counting delayed keys or keys in flight).</summary>
    public int Depth
    {
        get
        {
            lock (gate)
            {
                return ready.Count;
            }
        }
    }

    /// <summary>Keys waiting for a delay (backoff or requeue-after) to pass.</summary>
    public int DelayedCount
    {
        get
        {
            lock (gate)
            {
                return delayed.Count;
            }
        }
    }

    /// <summary>Keys being processed right now.</summary>
    public int InFlight
    {
        get
        {
            lock (gate)
            {
                return processing.Count;
            }
        }
    }

    /// <summary>True once shutdown began: adds are ignored.</summary>
    public bool IsShuttingDown
    {
        get
        {
            lock (gate)
            {
                return shuttingDown;
            }
        }
    }

    /// <summary>Queues a key now. A key already waiting is not queued twice; a key in flight runs again after.</summary>
    public void Add(TKey key)
    {
        int depth;
        lock (gate)
        {
            if (shuttingDown || !dirty.Add(key))
            {
                return;
            }

            if (processing.Contains(key))
            {
                return;
            }

            ready.Enqueue(key);
            depth = ready.Count;
        }

        available.Release();
        depthChanged?.Invoke(depth);
    }

    /// <summary>Queues a key once <paramref name="delay"/> has passed. When it already waits for an earlier time,
    /// the earlier time stands.</summary>
    public void AddAfter(TKey key, TimeSpan delay)
    {
        if (delay <= TimeSpan.Zero)
        {
            Add(key);
            return;
        }

        var due = time.GetUtcNow() + delay;
        lock (gate)
        {
            if (shuttingDown || (delayed.TryGetValue(key, out var existing) && existing <= due))
            {
                return;
            }

            delayed[key] = due;
        }

        _ = FireLaterAsync(key, due, delay);
    }

    /// <summary>Records a failure of <paramref name="key"/> and queues it after its next backoff delay, which is returned.</summary>
    public TimeSpan AddRateLimited(TKey key)
    {
        int attempt;
        lock (gate)
        {
            attempt = failures.TryGetValue(key, out var count) ? count + 1 : 1;
            failures[key] = attempt;
        }

        var delay = options.Backoff.Delay(attempt);
        AddAfter(key, delay);
        return delay;
    }

    /// <summary>Clears the failure history of <paramref name="key"/> (after a success), so its next backoff starts small.</summary>
    public void Forget(TKey key)
    {
        lock (gate)
        {
            failures.Remove(key);
        }
    }

    /// <summary>How many failures in a row <paramref name="key"/> has.</summary>
    public int Failures(TKey key)
    {
        lock (gate)
        {
            return failures.GetValueOrDefault(key);
        }
    }

    /// <summary>
    /// Processes keys with <see cref="WorkQueueOptions.Workers"/> workers until <paramref name="stoppingToken"/> is
    /// cancelled; then takes no new key, waits up to <see cref="WorkQueueOptions.ShutdownTimeout"/> for in-flight
    /// work, cancels the token handed to it, and waits up to that timeout once more. The handler decides what
    /// happens to a key next (<see cref="Forget"/>, <see cref="AddRateLimited"/>, <see cref="AddAfter"/>); an
    /// exception escaping it is logged (type only) and backs the key off.
    /// </summary>
    public async Task RunAsync(Func<TKey, CancellationToken, Task> handler, CancellationToken stoppingToken)
    {
        ArgumentNullException.ThrowIfNull(handler);
        lock (gate)
        {
            if (started)
            {
                throw new InvalidOperationException("A work queue runs once; create a new one for a new run.");
            }

            started = true;
        }

        using var workCts = new CancellationTokenSource();
        var workers = Enumerable.Range(0, options.Workers)
            .Select(_ => Task.Run(() => WorkerAsync(handler, stoppingToken, workCts.Token), CancellationToken.None))
            .ToArray();
        var all = Task.WhenAll(workers);

        try
        {
            await Task.Delay(Timeout.InfiniteTimeSpan, stoppingToken);
        }
        catch (OperationCanceledException)
        {
            // Shutdown requested.
        }

        lock (gate)
        {
            shuttingDown = true;
        }

        await shutdown.CancelAsync();
        if (await CompletesWithinAsync(all, options.ShutdownTimeout))
        {
            return;
        }

        logger.LogWarning("Work queue shutdown: {InFlight} item(s) still running after {Timeout}; cancelling them", InFlight, options.ShutdownTimeout);
        await workCts.CancelAsync();
        if (!await CompletesWithinAsync(all, options.ShutdownTimeout))
        {
            logger.LogError("Work queue shutdown: {InFlight} item(s) ignore cancellation; returning without them", InFlight);
        }
    }

    private async Task WorkerAsync(Func<TKey, CancellationToken, Task> handler, CancellationToken stoppingToken, CancellationToken workToken)
    {
        for (; ; )
        {
            TKey key;
            try
            {
                await available.WaitAsync(stoppingToken);
            }
            catch (OperationCanceledException)
            {
                return;
            }

            int depth;
            lock (gate)
            {
                if (shuttingDown || stoppingToken.IsCancellationRequested)
                {
                    available.Release();
                    return;
                }

                key = ready.Dequeue();
                dirty.Remove(key);
                processing.Add(key);
                depth = ready.Count;
            }

            depthChanged?.Invoke(depth);
            try
            {
                await handler(key, workToken);
            }
            catch (Exception error)
            {
                logger.LogError("Work item {Key} failed with {ErrorType}; backing off", key, error.GetType().Name);
                AddRateLimited(key);
            }
            finally
            {
                Done(key);
            }
        }
    }

    private void Done(TKey key)
    {
        int depth;
        lock (gate)
        {
            processing.Remove(key);
            if (shuttingDown || !dirty.Contains(key))
            {
                return;
            }

            ready.Enqueue(key);
            depth = ready.Count;
        }

        available.Release();
        depthChanged?.Invoke(depth);
    }

    private async Task FireLaterAsync(TKey key, DateTimeOffset due, TimeSpan delay)
    {
        try
        {
            await Task.Delay(delay, time, shutdown.Token);
        }
        catch (OperationCanceledException)
        {
            return;
        }

        lock (gate)
        {
            if (!delayed.TryGetValue(key, out var current) || current != due)
            {
                return;
            }

            delayed.Remove(key);
        }

        Add(key);
    }

    private static async Task<bool> CompletesWithinAsync(Task task, TimeSpan timeout)
    {
        var winner = await Task.WhenAny(task, Task.Delay(timeout));
        return winner == task;
    }
}
