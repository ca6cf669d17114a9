using System.Collections.Concurrent;
using System.Diagnostics;
using WorkspaceStorage.Kubernetes.Runtime;
using WorkspaceStorage.Core.Resilience;
using WorkspaceStorage.Testing.Support;

namespace WorkspaceStorage.Kubernetes.Tests.Runtime;

public sealed class WorkQueueTests
{
    private static WorkQueueOptions Options(int workers = 4, double jitter = 0, TimeSpan? shutdown = null) => new()
    {
        Workers = workers,
        Backoff = new ExponentialBackoff(TimeSpan.FromMilliseconds(50), TimeSpan.FromSeconds(1), jitter),
        ShutdownTimeout = shutdown ?? TimeSpan.FromSeconds(5),
    };

    [Fact]
    public async Task A_key_queued_several_times_before_it_runs_is_processed_once()
    {
        var queue = new WorkQueue<string>(Options());
        queue.Add("a");
        queue.Add("a");
        queue.Add("a");
        queue.Add("b");
        Assert.Equal(2, queue.Depth);

        var calls = new ConcurrentDictionary<string, int>();
        using var stop = new CancellationTokenSource();
        var run = queue.RunAsync((key, _) =>
        {
            calls.AddOrUpdate(key, 1, (_, n) => n + 1);
            return Task.CompletedTask;
        }, stop.Token);

        await Eventually.TrueAsync(() => calls.Count == 2 && queue.InFlight == 0, "both keys processed");
        // The fence for "processed once": a key added now, processed; a second "a" would have been queued before it.
        queue.Add("fence");
        await Eventually.TrueAsync(() => calls.ContainsKey("fence") && queue.InFlight == 0, "the fence processed");
        await stop.CancelAsync();
        await run;

        Assert.Equal(1, calls["a"]);
        Assert.Equal(1, calls["b"]);
    }

    [Fact]
    public async Task One_key_is_never_processed_twice_at_once_and_a_re_add_while_running_runs_again_after()
    {
        var queue = new WorkQueue<string>(Options(workers: 8));
        var active = 0;
        var maxActive = 0;
        var calls = 0;
        var firstStarted = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        using var stop = new CancellationTokenSource();
        var run = queue.RunAsync(async (_, _) =>
        {
            var now = Interlocked.Increment(ref active);
            InterlockedMax(ref maxActive, now);
            Interlocked.Increment(ref calls);
            firstStarted.TrySetResult();
            await Task.Delay(100, CancellationToken.None); // work that lasts while the key is re-added: what is tested
            Interlocked.Decrement(ref active);
        }, stop.Token);

        queue.Add("same");
        await firstStarted.Task.WaitAsync(TimeSpan.FromSeconds(5), TestContext.Current.CancellationToken);

        // Hammer the key from many threads while it is being processed; eight idle workers are free to grab it.
        await Task.WhenAll(Enumerable.Range(0, 8).Select(_ => Task.Run(() =>
        {
            for (var i = 0; i < 50; i++)
            {
                queue.Add("same");
            }
        }, TestContext.Current.CancellationToken)));

        await Eventually.TrueAsync(() => Volatile.Read(ref calls) >= 2 && queue.InFlight == 0 && queue.Depth == 0, "the re-added key ran again");
        await stop.CancelAsync();
        await run;

        Assert.Equal(1, maxActive);
        Assert.Equal(2, calls); // all the adds during the first run collapse into one more run
    }

    [Fact]
    public void Backoff_grows_exponentially_per_key_up_to_the_cap_and_resets_after_forget()
    {
        var queue = new WorkQueue<string>(Options());
        var delays = Enumerable.Range(0, 7).Select(_ => queue.AddRateLimited("failing")).ToList();

        Assert.Equal(
            [50, 100, 200, 400, 800, 1000, 1000],
            delays.Select(d => (int)Math.Round(d.TotalMilliseconds)).ToArray());
        Assert.Equal(7, queue.Failures("failing"));

        // Another key has its own history.
        Assert.Equal(50, (int)queue.AddRateLimited("other").TotalMilliseconds);

        queue.Forget("failing");
        Assert.Equal(0, queue.Failures("failing"));
        Assert.Equal(50, (int)queue.AddRateLimited("failing").TotalMilliseconds);
    }

    [Fact]
    public void Jitter_shortens_a_delay_by_at_most_the_jitter_fraction_and_varies()
    {
        var backoff = new ExponentialBackoff(TimeSpan.FromMilliseconds(100), TimeSpan.FromSeconds(10), jitter: 0.5);
        var samples = Enumerable.Range(0, 200).Select(_ => backoff.Delay(3).TotalMilliseconds).ToList();

        Assert.All(samples, ms => Assert.InRange(ms, 200, 400));
        Assert.All(Enumerable.Range(1, 40), retry => Assert.InRange(backoff.Delay(retry).TotalMilliseconds, 50, 10_000)); // the maximum is a true maximum
        Assert.True(samples.Distinct().Count() > 10, "jitter should spread the delays");
    }

    [Fact]
    public async Task A_failed_key_is_retried_after_its_backoff_not_before()
    {
        var queue = new WorkQueue<string>(Options());
        var started = Stopwatch.StartNew();
        var times = new ConcurrentQueue<TimeSpan>();
        using var stop = new CancellationTokenSource();
        var run = queue.RunAsync((key, _) =>
        {
            times.Enqueue(started.Elapsed);
            if (times.Count < 3)
            {
                throw new InvalidOperationException("transient");
            }

            queue.Forget(key);
            return Task.CompletedTask;
        }, stop.Token);

        queue.Add("k");
        await Eventually.TrueAsync(() => times.Count == 3, "three attempts");
        await stop.CancelAsync();
        await run;

        var t = times.ToArray();
        Assert.True(t[1] - t[0] >= TimeSpan.FromMilliseconds(45), $"first retry after {t[1] - t[0]}");
        Assert.True(t[2] - t[1] >= TimeSpan.FromMilliseconds(95), $"second retry after {t[2] - t[1]}");
        Assert.Equal(0, queue.Failures("k"));
    }

    [Fact]
    public async Task AddAfter_holds_the_key_until_the_delay_passed_and_keeps_the_earliest_time()
    {
        var queue = new WorkQueue<string>(Options());
        var started = Stopwatch.StartNew();
        var ranAt = new ConcurrentQueue<TimeSpan>();
        using var stop = new CancellationTokenSource();
        var run = queue.RunAsync((_, _) =>
        {
            ranAt.Enqueue(started.Elapsed);
            return Task.CompletedTask;
        }, stop.Token);

        queue.AddAfter("later", TimeSpan.FromMilliseconds(300));
        queue.AddAfter("later", TimeSpan.FromSeconds(30)); // a later time does not push it back
        Assert.Equal(1, queue.DelayedCount);
        Assert.Equal(0, queue.Depth);

        await Eventually.TrueAsync(() => !ranAt.IsEmpty, "the delayed key ran");
        await stop.CancelAsync();
        await run;

        var at = Assert.Single(ranAt);
        Assert.InRange(at, TimeSpan.FromMilliseconds(280), TimeSpan.FromSeconds(5));
    }

    [Fact]
    public async Task No_more_than_the_configured_number_of_workers_run_at_once()
    {
        var queue = new WorkQueue<int>(Options(workers: 3));
        var active = 0;
        var maxActive = 0;
        var done = 0;
        using var stop = new CancellationTokenSource();
        for (var i = 0; i < 12; i++)
        {
            queue.Add(i);
        }

        var run = queue.RunAsync(async (_, _) =>
        {
            InterlockedMax(ref maxActive, Interlocked.Increment(ref active));
            await Task.Delay(50, CancellationToken.None); // work that lasts, so workers overlap: what is tested
            Interlocked.Decrement(ref active);
            Interlocked.Increment(ref done);
        }, stop.Token);

        await Eventually.TrueAsync(() => Volatile.Read(ref done) == 12, "all keys processed");
        await stop.CancelAsync();
        await run;

        Assert.Equal(3, maxActive);
    }

    [Fact]
    public void The_default_worker_count_is_four()
    {
        Assert.Equal(4, new WorkQueueOptions().Workers);
        Assert.Throws<ArgumentOutOfRangeException>(() => new WorkQueue<string>(new WorkQueueOptions { Workers = 0 }));
    }

    [Fact]
    public async Task Shutdown_lets_in_flight_work_finish_and_starts_nothing_new()
    {
        var queue = new WorkQueue<string>(Options(workers: 1));
        var inFlight = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        var finished = new ConcurrentQueue<string>();
        var sawCancellation = false;
        using var stop = new CancellationTokenSource();
        queue.Add("first");
        queue.Add("second");
        var run = queue.RunAsync(async (key, token) =>
        {
            inFlight.TrySetResult();
            await Task.Delay(300, CancellationToken.None); // in-flight work that shutdown must let finish: what is tested
            sawCancellation |= token.IsCancellationRequested;
            finished.Enqueue(key);
        }, stop.Token);

        await inFlight.Task.WaitAsync(TimeSpan.FromSeconds(5), TestContext.Current.CancellationToken);
        await stop.CancelAsync();
        queue.Add("after-shutdown");
        await run.WaitAsync(TimeSpan.FromSeconds(5), TestContext.Current.CancellationToken);

        Assert.Equal(["first"], finished.ToArray());
        Assert.False(sawCancellation, "in-flight work within the timeout keeps an uncancelled token");
        Assert.True(queue.IsShuttingDown);
        Assert.Equal(0, queue.InFlight);
    }

    [Fact]
    public async Task Shutdown_cancels_in_flight_work_that_outlives_the_timeout_and_returns()
    {
        var queue = new WorkQueue<string>(Options(workers: 1, shutdown: TimeSpan.FromMilliseconds(200)));
        var inFlight = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        var cancelled = false;
        using var stop = new CancellationTokenSource();
        queue.Add("slow");
        var run = queue.RunAsync(async (_, token) =>
        {
            inFlight.TrySetResult();
            try
            {
                await Task.Delay(Timeout.InfiniteTimeSpan, token); // work that outlives the shutdown timeout: what is tested
            }
            catch (OperationCanceledException)
            {
                cancelled = true;
            }
        }, stop.Token);

        await inFlight.Task.WaitAsync(TimeSpan.FromSeconds(5), TestContext.Current.CancellationToken);
        var stopping = Stopwatch.StartNew();
        await stop.CancelAsync();
        await run.WaitAsync(TimeSpan.FromSeconds(5), TestContext.Current.CancellationToken);

        Assert.True(cancelled);
        Assert.InRange(stopping.Elapsed, TimeSpan.FromMilliseconds(150), TimeSpan.FromSeconds(3));
    }

    [Fact]
    public async Task Depth_changes_are_reported()
    {
        var depths = new ConcurrentQueue<int>();
        var queue = new WorkQueue<string>(Options(), depthChanged: depths.Enqueue);
        queue.Add("a");
        queue.Add("b");
        Assert.Equal([1, 2], depths.ToArray());

        using var stop = new CancellationTokenSource();
        var run = queue.RunAsync((_, _) => Task.CompletedTask, stop.Token);
        await Eventually.TrueAsync(() => queue.Depth == 0 && depths.Contains(0), "queue drained");
        await stop.CancelAsync();
        await run;
    }

    private static void InterlockedMax(ref int target, int value)
    {
        int seen;
        while ((seen = Volatile.Read(ref target)) < value && Interlocked.CompareExchange(ref target, value, seen) != seen)
        {
        }
    }
}
