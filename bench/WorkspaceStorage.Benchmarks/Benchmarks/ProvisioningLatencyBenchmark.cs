using System.Collections.Concurrent;
using System.Diagnostics;
using k8s.Models;
using Microsoft.Extensions.Logging.Abstractions;
using WorkspaceStorage.Benchmarks.Harness;
using WorkspaceStorage.Core.Model;
using WorkspaceStorage.Resources;
using WorkspaceStorage.Kubernetes.Runtime;
using WorkspaceStorage.Operator.Hosting;
using WorkspaceStorage.Storage.Backends;

namespace WorkspaceStorage.Benchmarks.Benchmarks;

/// <summary>
/// Row 11: create-to-Ready of one WorkspaceStorage at a time (the operator's controllers with production defaults in
/// this process, a real Kubernetes API server, the real RGW), alternating with the minimum backend calls for a
/// fresh workspace timed alone (<see cref="MinimumProvisioning"/>). Each create is split into: create → the operator's
/// first backend call (watch and queue), the backend calls, and last backend call → Ready seen (Secret, status).
/// </summary>
public static class ProvisioningLatencyBenchmark
{
    public const string Target = "p50 ≤ 1.3× minimum backend calls; p99 reported";
    private const string What = "create-to-Ready of one WorkspaceStorage";
    private const int PerRound = 10;

    public static async Task<IReadOnlyList<BenchRow>> RunAsync(BenchContext context)
    {
        await using var world = await OperatorWorld.CreateAsync(context);
        using var minimum = new MinimumProvisioning(context, world.Bucket);
        await minimum.PrepareAsync();
        await using var running = await RunningOperator.StartAsync(world, context.CancellationToken);

        // Warm-up, untimed: JIT, the backend's first resolution and bucket check, the HTTP connections.
        for (var i = 0; i < 3; i++)
        {
            await CreateToReadyAsync(world, running, context.CancellationToken);
            await minimum.TimeOneAsync();
        }

        minimum.Calls.Reset();

        var creates = new List<Create>();
        var baseline = new List<double>();
        var (candidateP50s, baselineP50s) = await SideBySide.RunAsync(context.Rounds,
            async _ =>
            {
                var round = new List<double>();
                for (var i = 0; i < PerRound; i++)
                {
                    var create = await CreateToReadyAsync(world, running, context.CancellationToken);
                    creates.Add(create);
                    round.Add(create.ToReadyMs);
                }

                return SideBySide.Median(round);
            },
            async _ =>
            {
                var round = new List<double>();
                for (var i = 0; i < PerRound; i++)
                {
                    round.Add(await minimum.TimeOneAsync());
                }

                baseline.AddRange(round);
                return SideBySide.Median(round);
            },
            m => BenchContext.Progress($"#11 create-to-Ready p50 (ms) {m}"));

        var measured = creates.Select(c => c.ToReadyMs).ToList();
        var ratio = SideBySide.Percentile(measured, 50) / SideBySide.Percentile(baseline, 50);
        var minimumCalls = minimum.Calls.Calls.Count / (double)baseline.Count;
        return
        [
            new BenchRow("11", What)
            {
                Measured = new Figure(SideBySide.Percentile(measured, 50), "ms p50", candidateP50s),
                BaselineName = "minimum backend calls alone (EnsureIdentity + EnsureKey, fresh workspace)",
                Baseline = new Figure(SideBySide.Percentile(baseline, 50), "ms p50", baselineP50s),
                Ratio = ratio,
                RatioUnit = "×",
                Target = Target,
                TargetMet = ratio <= 1.3,
                Extra = new Dictionary<string, Figure>
                {
                    ["p99"] = new(SideBySide.Percentile(measured, 99), "ms"),
                    ["minimum p99"] = new(SideBySide.Percentile(baseline, 99), "ms"),
                    ["create → first backend call p50"] = new(SideBySide.Percentile([.. creates.Select(c => c.ToFirstCallMs)], 50), "ms"),
                    ["backend calls p50"] = new(SideBySide.Percentile([.. creates.Select(c => c.BackendSpanMs)], 50), "ms"),
                    ["of which in backend calls p50"] = new(SideBySide.Percentile([.. creates.Select(c => c.BackendBusyMs)], 50), "ms"),
                    ["last backend call → Ready seen p50"] = new(SideBySide.Percentile([.. creates.Select(c => c.AfterBackendMs)], 50), "ms"),
                    ["operator backend calls before Ready"] = new(creates.Average(c => c.CallsBeforeReady), "per create"),
                    ["after Ready"] = new(creates.Average(c => c.CallsAfterReady), "per create"),
                    ["minimum backend calls"] = new(minimumCalls, "per workspace"),
                    ["creates"] = new(creates.Count, "per side"),
                },
                Note = "operator calls before Ready per create: " + Breakdown(creates.SelectMany(c => c.Operations), creates.Count) +
                    " — minimum: " + Breakdown(minimum.Calls.Calls.Select(c => c.Operation), baseline.Count) +
                    "; p50 ms per call, operator/minimum: " + PerCall(creates.SelectMany(c => c.Calls), minimum.Calls.Calls) + "; one at a time, each through the API server (as kubectl apply), Ready seen by a watch (an informer); the operator's controllers " +
                    "in process with production defaults; the next create waits until the operator is idle",
            },
        ];
    }

    /// <summary>One create: its milliseconds to Ready and where they went.</summary>
    private sealed record Create(double ToReadyMs, double ToFirstCallMs, double BackendSpanMs, double BackendBusyMs, double AfterBackendMs, int CallsBeforeReady, int CallsAfterReady,
        IReadOnlyList<BackendCall> Calls)
    {
        public IEnumerable<string> Operations => Calls.Select(c => c.Operation);
    }

    /// <summary>Each operation's p50 in the operator beside the same operation's p50 alone: where the operator is slower.</summary>
    private static string PerCall(IEnumerable<BackendCall> operatorCalls, IEnumerable<BackendCall> minimumCalls)
    {
        var alone = minimumCalls.GroupBy(c => c.Operation).ToDictionary(g => g.Key, g => SideBySide.Percentile([.. g.Select(c => c.Duration.TotalMilliseconds)], 50));
        return string.Join(", ", operatorCalls.GroupBy(c => c.Operation).OrderBy(g => g.Key, StringComparer.Ordinal).Select(g =>
            $"{g.Key} {SideBySide.Percentile([.. g.Select(c => c.Duration.TotalMilliseconds)], 50):0.0}/" +
            (alone.TryGetValue(g.Key, out var a) ? a.ToString("0.0", System.Globalization.CultureInfo.InvariantCulture) : "-")));
    }

    private static string Breakdown(IEnumerable<string> operations, int n) => string.Join(", ", operations
        .GroupBy(o => o)
        .OrderByDescending(g => g.Count())
        .Select(g => $"{g.Key} {g.Count() / (double)n:0.##}"));

    private static async Task<Create> CreateToReadyAsync(OperatorWorld world, RunningOperator running, CancellationToken cancellationToken)
    {
        var name = "ws-lat-" + Guid.NewGuid().ToString("N")[..10];
        running.Calls.Reset();
        var start = Stopwatch.GetTimestamp();
        await world.DirectStores.WorkspaceStorages.CreateAsync(new WorkspaceStorageResource
        {
            Metadata = new V1ObjectMeta { Name = name, NamespaceProperty = OperatorWorld.Namespace },
            Spec = new WorkspaceStorageSpec
            {
                Workspace = name,
                BackendRef = new BackendReference { Name = world.BackendName },
                Access = WorkspaceAccess.ReadWrite,
            },
        }, cancellationToken);

        var ready = await running.ReadyAsync(name, cancellationToken);
        var before = running.Calls.Snapshot().Where(c => c.End <= ready).ToList();
        // Let the operator finish what the create set off (a follow-up reconcile of its own status write) before the next one.
        await running.WaitIdleAsync(cancellationToken);
        var after = running.Calls.Snapshot().Count - before.Count;
        double Ms(long from, long to) => Stopwatch.GetElapsedTime(from, to).TotalMilliseconds;
        var firstStart = before.Count == 0 ? ready : before.Min(c => c.Start);
        var lastEnd = before.Count == 0 ? ready : before.Max(c => c.End);
        return new Create(Ms(start, ready), Ms(start, firstStart), Ms(firstStart, lastEnd), before.Sum(c => c.Call.Duration.TotalMilliseconds), Ms(lastEnd, ready),
            before.Count, after, [.. before.Select(c => c.Call)]);
    }

    private static bool IsReady(WorkspaceStorageResource resource) =>
        resource.Status?.Conditions.Any(c => c.Type == ConditionTypes.Ready && c.Status == Conditions.True) == true;

    /// <summary>The operator's controllers running in this process, with its backend calls timed.</summary>
    internal sealed class RunningOperator : IAsyncDisposable
    {
        private readonly OperatorHost host;
        private readonly CancellationTokenSource stop = new();
        private readonly Task running;
        private readonly CountingControllerMetrics metrics = new();

        // Ready is seen as a watching client sees it (an informer of our own), not by polling: a poll's own delay on a
        // busy machine would count as the operator's time.
        private readonly Informer<WorkspaceStorageResource> readyWatch;
        private readonly ConcurrentDictionary<string, TaskCompletionSource<long>> readyAt = new(StringComparer.Ordinal);
        private readonly Task watching;

        private RunningOperator(OperatorWorld world)
        {
            host = new OperatorHost(world.DirectStores, new OperatorHostOptions(), NullLoggerFactory.Instance, Calls, metrics);
            readyWatch = new Informer<WorkspaceStorageResource>(world.DirectStores.WorkspaceStorageWatcher, "bench-ready-watch",
                new InformerOptions { Namespace = OperatorWorld.Namespace });
            readyWatch.AddEventHandler(change =>
            {
                if (IsReady(change.Object))
                {
                    Waiter(change.Object.Metadata.Name).TrySetResult(Stopwatch.GetTimestamp());
                }
            });
            watching = Task.Run(() => readyWatch.RunAsync(stop.Token));
            running = Task.Run(() => host.RunAsync(stop.Token));
        }

        private TaskCompletionSource<long> Waiter(string name) =>
            readyAt.GetOrAdd(name, _ => new TaskCompletionSource<long>(TaskCreationOptions.RunContinuationsAsynchronously));

        /// <summary>When <paramref name="name"/> was first seen Ready (a Stopwatch timestamp).</summary>
        public async Task<long> ReadyAsync(string name, CancellationToken cancellationToken)
        {
            try
            {
                return await Waiter(name).Task.WaitAsync(TimeSpan.FromSeconds(60), cancellationToken);
            }
            catch (TimeoutException)
            {
                throw new TimeoutException($"{name} was not Ready within 60 s");
            }
        }

        public TimedCalls Calls { get; } = new();

        public static async Task<RunningOperator> StartAsync(OperatorWorld world, CancellationToken cancellationToken)
        {
            var started = new RunningOperator(world);
            await started.host.WorkspaceStorageInformer.WaitForSyncAsync(cancellationToken);
            await started.readyWatch.WaitForSyncAsync(cancellationToken);
            return started;
        }

        /// <summary>Until the work queue is empty and no backend call came for 100 ms.</summary>
        public async Task WaitIdleAsync(CancellationToken cancellationToken)
        {
            var quietSince = Stopwatch.GetTimestamp();
            var seen = Calls.Snapshot().Count;
            while (Stopwatch.GetElapsedTime(quietSince) < TimeSpan.FromMilliseconds(100))
            {
                await Task.Delay(10, cancellationToken);
                var now = Calls.Snapshot().Count;
                if (now != seen || metrics.Depth("workspacestorage") != 0)
                {
                    seen = now;
                    quietSince = Stopwatch.GetTimestamp();
                }
            }
        }

        public async ValueTask DisposeAsync()
        {
            await stop.CancelAsync();
            await running.ConfigureAwait(ConfigureAwaitOptions.SuppressThrowing);
            await watching.ConfigureAwait(ConfigureAwaitOptions.SuppressThrowing);
            stop.Dispose();
            host.Dispose();
        }
    }

    /// <summary>Backend calls with when they started and ended (Stopwatch timestamps).</summary>
    internal sealed class TimedCalls : IBackendCallObserver
    {
        private readonly ConcurrentQueue<(long Start, long End, BackendCall Call)> calls = new();

        public void OnCall(BackendCall call)
        {
            var end = Stopwatch.GetTimestamp();
            calls.Enqueue((end - (long)(call.Duration.TotalSeconds * Stopwatch.Frequency), end, call));
        }

        public IReadOnlyList<(long Start, long End, BackendCall Call)> Snapshot() => [.. calls];

        public void Reset() => calls.Clear();
    }
}
