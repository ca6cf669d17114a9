using System.Diagnostics;
using Microsoft.Extensions.Logging.Abstractions;
using WorkspaceStorage.Benchmarks.Harness;
using WorkspaceStorage.Core.Credentials;
using WorkspaceStorage.Core.Workspaces;
using WorkspaceStorage.Operator.Hosting;
using WorkspaceStorage.Core.Model;
using WorkspaceStorage.Storage.Aws;
using WorkspaceStorage.Storage.Backends;
using WorkspaceStorage.Storage.CephRgw;
using WorkspaceStorage.Storage.Http;
using WorkspaceStorage.Storage.S3;

namespace WorkspaceStorage.Benchmarks.Benchmarks;

/// <summary>
/// Rows 6 and 7: the operator's controllers (production defaults: 4 workers) in this process against a real
/// Kubernetes API server and the local RGW; every backend call counted. Rows 14 and 15: the same on the aws backend,
/// against moto (<see cref="BenchContext.BackendType"/>).
/// </summary>
public static class OperatorBenchmarks
{
    private const string Controller = "workspacestorage";

    /// <param name="ids">The rows' ids (cold, resync) and what to add to their names.</param>
    public static async Task<IReadOnlyList<BenchRow>> RunAsync(BenchContext context, (string Cold, string Resync, string Label)? ids = null)
    {
        var (coldId, resyncId, label) = ids ?? ("6", "7", "");
        var n = context.Workspaces;
        await using var world = await OperatorWorld.CreateAsync(context);
        var baseline = await MinimumCallsOneByOneAsync(context, world.Bucket, context.BaselineSample);
        // RGW answers its admin calls in ~40 ms each here, so 1,000 one by one would take ~10 minutes alone: the sum is
        // measured on a sample and scaled to N (per-workspace work is identical; each sample workspace is fresh).
        var baselineTotal = baseline.Elapsed.TotalSeconds * n / context.BaselineSample;

        var calls = new BackendCallCounter();
        var metrics = new CountingControllerMetrics();
        var (host, stop, running) = Start(world, calls, metrics);
        await host.WorkspaceStorageInformer.WaitForSyncAsync(context.CancellationToken);
        calls.Reset();

        // Row 6: N WorkspaceStorages at once, until all are Ready.
        BenchContext.Progress($"#{coldId} creating {n} WorkspaceStorages at once");
        var watch = Stopwatch.StartNew();
        await world.CreateStoragesAsync(n, "cold", context.CancellationToken);
        var converged = await world.WaitForReadyAsync(n, TimeSpan.FromMinutes(6), $"#{coldId} cold", context.CancellationToken);
        var cold = watch.Elapsed;
        var coldCalls = calls.Calls;
        await StopAsync(host, stop, running);
        if (!converged)
        {
            var (ready, stalled) = await world.CountReadyAsync();
            return
            [
                BenchRow.Skipped(coldId, $"cold convergence, {n} WorkspaceStorages{label}", "calls/workspace ≤ minimum + 1",
                    $"only {ready}/{n} Ready ({stalled} Stalled) after {cold.TotalSeconds:F0} s"),
                BenchRow.Skipped(resyncId, $"steady state: full resync of {n}{label}", "0 backend writes, 0 Secret writes", $"row {coldId} did not converge"),
            ];
        }

        var perWorkspace = coldCalls.Count / (double)n;
        var coldRow = new BenchRow(coldId, $"cold convergence: {n} WorkspaceStorages at once → all Ready{label}")
        {
            Measured = new Figure(cold.TotalSeconds, "s"),
            BaselineName = context.BaselineSample == n
                ? "minimum backend calls, one by one, no operator"
                : $"minimum backend calls, one by one, no operator: {context.BaselineSample} timed, × {n / (double)context.BaselineSample:0.##}",
            Baseline = new Figure(baselineTotal, "s"),
            Ratio = cold.TotalSeconds / baselineTotal,
            RatioUnit = "× baseline time",
            Target = "time reported; backend calls/workspace ≤ minimum + 1",
            TargetMet = perWorkspace <= baseline.CallsPerWorkspace + 1,
            Extra = new Dictionary<string, Figure>
            {
                ["operator calls/workspace"] = new(perWorkspace, "calls"),
                ["minimum calls/workspace"] = new(baseline.CallsPerWorkspace, "calls"),
                ["operator writes/workspace"] = new(coldCalls.Count(c => c.IsWrite) / (double)n, "calls"),
                ["minimum writes/workspace"] = new(baseline.WritesPerWorkspace, "calls"),
                ["usage reads/workspace"] = new(UsageReads(coldCalls) / (double)n, "listings"),
            },
            Note = "per workspace, operator: " + Breakdown(coldCalls, n) + " — minimum: " + Breakdown(baseline.Calls, context.BaselineSample),
        };

        // Row 7: a full resync of the N Ready ones — a fresh operator over the same cluster reconciles every object once.
        calls.Reset();
        metrics.Reset();
        world.Kube.ResetRequestCounts();
        watch.Restart();
        (host, stop, running) = Start(world, calls, metrics);
        var resynced = await WaitForReconcilesAsync(metrics, n, TimeSpan.FromMinutes(5), context.CancellationToken);
        var resync = watch.Elapsed;
        await StopAsync(host, stop, running);
        var resyncCalls = calls.Calls;
        var backendWrites = resyncCalls.Count(c => c.IsWrite);
        var secretWrites = world.Kube.WriteCount("secrets");
        var statusWrites = world.Kube.RequestCount("update", "workspacestorages/status") + world.Kube.RequestCount("patch", "workspacestorages/status");
        var resyncRow = new BenchRow(resyncId, $"steady state: full resync of the {n} Ready{label}")
        {
            Measured = new Figure(resync.TotalSeconds, "s"),
            Target = "0 backend writes, 0 Secret writes, 0 usage listings (each workspace was measured less than --usage-period ago); time reported",
            TargetMet = resynced && backendWrites == 0 && secretWrites == 0 && UsageReads(resyncCalls) == 0,
            Extra = new Dictionary<string, Figure>
            {
                ["backend writes"] = new(backendWrites, "calls"),
                ["Secret writes"] = new(secretWrites, "writes"),
                ["status writes"] = new(statusWrites, "writes"),
                ["backend reads/workspace"] = new(resyncCalls.Count(c => !c.IsWrite) / (double)n, "calls"),
                ["usage reads"] = new(UsageReads(resyncCalls), "listings"),
                ["reconciles"] = new(metrics.Completed(Controller), ""),
            },
            Note = (resynced ? "" : "NOT every object reconciled within 5 min; ") +
                "a fresh operator (list, then every object reconciled once) — what a periodic resync does; reads: " + Breakdown(resyncCalls, n),
        };
        return [coldRow, resyncRow];
    }

    /// <summary>The usage reader's listings (ListObjectsV2 of a workspace prefix, at most one sequence per workspace per --usage-period).</summary>
    private static int UsageReads(IEnumerable<BackendCall> calls) => calls.Count(c => c.Operation == "ListObjectsV2");

    private static (OperatorHost Host, CancellationTokenSource Stop, Task Running) Start(OperatorWorld world, BackendCallCounter calls, CountingControllerMetrics metrics)
    {
        var host = new OperatorHost(world.Stores, new OperatorHostOptions(), NullLoggerFactory.Instance, calls, metrics);
        var stop = new CancellationTokenSource();
        var running = Task.Run(() => host.RunAsync(stop.Token));
        return (host, stop, running);
    }

    private static async Task StopAsync(OperatorHost host, CancellationTokenSource stop, Task running)
    {
        await stop.CancelAsync();
        await running.ConfigureAwait(ConfigureAwaitOptions.SuppressThrowing);
        stop.Dispose();
        host.Dispose();
    }

    private static async Task<bool> WaitForReconcilesAsync(CountingControllerMetrics metrics, int count, TimeSpan timeout, CancellationToken cancellationToken)
    {
        var watch = Stopwatch.StartNew();
        while (watch.Elapsed < timeout)
        {
            if (metrics.Completed(Controller) >= count && metrics.Depth(Controller) == 0)
            {
                return true;
            }

            await Task.Delay(50, cancellationToken);
        }

        return false;
    }

    private static string Breakdown(IEnumerable<BackendCall> calls, int n) => string.Join(", ", calls
        .GroupBy(c => c.Operation)
        .OrderByDescending(g => g.Count())
        .Select(g => $"{g.Key} {g.Count() / (double)n:0.##}"));

    private sealed record Minimum(TimeSpan Elapsed, IReadOnlyList<BackendCall> Calls, double CallsPerWorkspace, double WritesPerWorkspace);

    /// <summary>
    /// What N workspaces need at the least, with no operator: the bucket once, then per workspace the backend's
    /// EnsureIdentity (user, policy, role) and its first key (EnsureKey, or CreateKey where the server makes keys),
    /// called one after another.
    /// </summary>
    private static async Task<Minimum> MinimumCallsOneByOneAsync(BenchContext context, string bucket, int n)
    {
        var location = new S3Location(context.RgwEndpoint, context.RgwEndpoint, context.Region, bucket);
        var calls = new BackendCallCounter();
        using var clients = new S3ClientFactory(observer: calls); // the usage listing is an S3 call: counted like the operator's
        using var http = new HttpClient(QuickAckConnections.Apply(new SocketsHttpHandler { UseProxy = false })) { Timeout = Timeout.InfiniteTimeSpan };
        var buckets = new AdminBucketOperations(clients.Create(location, context.Admin));
        IStorageBackend backend = context.BackendType == StorageBackendType.Aws
            ? new AwsStorageBackend(new AwsBackendOptions(location, context.Admin), http, buckets, calls, NullLogger<AwsStorageBackend>.Instance)
            : new CephRgwStorageBackend(new CephRgwBackendOptions(location, context.Admin), http, buckets, calls, NullLogger<CephRgwStorageBackend>.Instance);
        await backend.EnsureBucketAsync(context.CancellationToken);
        await backend.CheckHealthAsync(context.CancellationToken);
        calls.Reset();

        var run = Guid.NewGuid().ToString("N")[..6];
        BenchContext.Progress($"baseline of rows 6/14: provisioning {n} workspaces on {context.BackendType} one by one, no operator");
        var watch = Stopwatch.StartNew();
        for (var i = 0; i < n; i++)
        {
            var workspace = WorkspaceId.Parse($"ws-min-{run}-{i:D5}");
            // What a new workspace needs now: its usage measured once (one ListObjectsV2: status.usage, the quota's access).
            await backend.MeasureUsageAsync(workspace, 1, context.CancellationToken);
            await backend.EnsureIdentityAsync(workspace, AccessLevel.ReadWrite, context.CancellationToken);
            if (backend is IServerIssuedKeys issued)
            {
                await issued.CreateKeyAsync(workspace, [], context.CancellationToken);
            }
            else
            {
                await backend.EnsureKeyAsync(workspace, AccessKeyGenerator.Generate(), context.CancellationToken);
            }
        }

        var elapsed = watch.Elapsed;
        var all = calls.Calls;
        return new Minimum(elapsed, all, all.Count / (double)n, all.Count(c => c.IsWrite) / (double)n);
    }
}
