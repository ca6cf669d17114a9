using System.Collections.Concurrent;
using System.Diagnostics;
using System.Net;
using System.Text.Json;
using k8s.Models;
using WorkspaceStorage.Core.Model;
using WorkspaceStorage.Resources;
using WorkspaceStorage.Core.Workspaces;
using WorkspaceStorage.EndToEnd.Tests.WholeSystem;
using WorkspaceStorage.Testing.Operator;
using WorkspaceStorage.Testing.S3;
using WorkspaceStorage.Testing.Support;

namespace WorkspaceStorage.EndToEnd.Tests.Faults;

/// <summary>Tests that measure this process's managed heap run alone: no other test of this assembly allocates meanwhile.</summary>
[CollectionDefinition(Name, DisableParallelization = true)]
public sealed class MeasuredAloneCollection
{
    public const string Name = "measured alone (process memory)";
}

/// <summary>
/// Issue 11, target 6: the storage server restarted under load. The companion serves presigned URLs and <c>/files</c>
/// GETs to 32 concurrent clients while radosgw (an RGW of this test's own) is stopped for 10 s and started again; the
/// real operator (a child process, resync every 3 s) watches the same workspaces meanwhile.
/// </summary>
[Collection(MeasuredAloneCollection.Name)]
public sealed class StorageOutageTests
{
    private const int Clients = 32;
    private const int Workspaces = 4;
    private const string Namespace = "outage";
    private const string FileName = "data.bin";
    private static readonly TimeSpan Outage = TimeSpan.FromSeconds(10);
    private static readonly TimeSpan RequestTimeout = TimeSpan.FromSeconds(15);
    private static readonly byte[] Content = Enumerable.Range(0, 64 * 1024).Select(i => (byte)(i * 7)).ToArray();

    private static CancellationToken Ct => TestContext.Current.CancellationToken;

    private static void Say(string line) => TestContext.Current.TestOutputHelper?.WriteLine($"{DateTime.UtcNow:HH:mm:ss.fff} {line}");

    [Fact]
    public async Task Under_load_an_RGW_outage_gives_clear_503s_no_hang_full_recovery_no_leak_and_no_status_write_storm()
    {
        var total = Stopwatch.StartNew();
        await using var rgw = await PrivateRgwServer.StartAsync(Ct);
        await using var cluster = await LocalCluster.StartAsync([Namespace], Ct, rgw: rgw.Server, inProcessOperator: false);
        // A short resync, so the operator reconciles every object while RGW is down, as a 10-minute resync would in a longer outage.
        await using var @operator = OperatorProcess.Start(cluster.KubeconfigPath, ["--resync-period", "3s", "--max-concurrent-reconciles", "4"]);
        var workspaces = Enumerable.Range(0, Workspaces).Select(i => WorkspaceId.Parse($"ws-outage-{Guid.NewGuid().ToString("N")[..6]}-{i}")).ToList();
        foreach (var workspace in workspaces)
        {
            await cluster.Kube.SeedAsync(new WorkspaceStorageResource
            {
                Metadata = new V1ObjectMeta { Name = workspace.Value, NamespaceProperty = Namespace },
                Spec = new WorkspaceStorageSpec { Workspace = workspace.Value, BackendRef = new BackendReference { Name = cluster.BackendName } },
            });
        }

        await Eventually.WaitAsync("the workspaces to be Ready", TimeSpan.FromSeconds(90), async _ =>
        {
            var ready = await ReadyCountAsync(cluster);
            return (ready == Workspaces, $"{ready}/{Workspaces} Ready; operator: {(@operator.HasExited ? "exited" : "running")}");
        }, Ct);

        // Warnings and errors only: the test's log capture holds up to 20,000 lines, which per-request lines would fill
        // during the run and count as growth of this process's heap.
        await using var companion = await CompanionHost.StartAsync(cluster.Kube, new Dictionary<string, string?> { ["Logging:LogLevel:Default"] = "Warning" },
            null, Ct);
        var tokens = workspaces.ToDictionary(w => w, w => companion.Tokens.ForWorkspace(w.Value, "rw"));
        foreach (var workspace in workspaces)
        {
            using var put = new HttpRequestMessage(HttpMethod.Put, $"/{workspace.Value}/files/{FileName}") { Content = new ByteArrayContent(Content) };
            put.Headers.Authorization = new("Bearer", tokens[workspace]);
            using var response = await companion.Http.SendAsync(put, Ct);
            Assert.True(response.IsSuccessStatusCode, $"upload to {workspace}: HTTP {(int)response.StatusCode}");
        }

        using var http = new HttpClient(new SocketsHttpHandler { UseProxy = false, MaxConnectionsPerServer = Clients })
        {
            BaseAddress = companion.BaseAddress,
            Timeout = Timeout.InfiniteTimeSpan, // each request has its own RequestTimeout
        };
        var clock = Stopwatch.StartNew();
        var load = new Load(http, workspaces, tokens, clock);

        // Warm up until the managed heap at rest stops growing (pools and caches filled: measured to take 5-10 s), so
        // "before" is the level the outage must return to, not a level the load itself would have left behind anyway.
        var heapBefore = SettledHeap();
        var warmUp = 0;
        for (var round = 1; round <= 6; round++)
        {
            await load.RunAsync(TimeSpan.FromSeconds(3), Ct);
            warmUp += load.Results.Count;
            load.Results.Clear();
            var previous = heapBefore;
            heapBefore = SettledHeap();
            if (round >= 3 && Math.Abs(heapBefore - previous) < 512 * 1024)
            {
                break;
            }
        }

        var rssBefore = Environment.WorkingSet;
        var threadsBefore = ThreadPool.ThreadCount;
        Say($"warm-up: {warmUp} requests; managed heap {heapBefore / 1048576.0:F1} MiB, RSS {rssBefore / 1048576.0:F1} MiB, {threadsBefore} pool threads");

        // The outage, under load, with the operator watching.
        cluster.Kube.ResetRequestCounts();
        var statuses = new StatusWatch(cluster, workspaces, clock);
        var loadTask = load.RunUntilStoppedAsync(Ct);
        // Load before the outage: every client answered twice (an event, not a time).
        await Eventually.TrueAsync(() => load.Results.Count >= 2 * Clients, "the load to run before the outage", observe: () => load.Results.Count);
        var stoppedAt = clock.Elapsed;
        await rgw.StopGatewayAsync(Ct);
        Say("radosgw stopped");
        await Task.Delay(Outage, Ct); // the outage lasting: what is tested
        await rgw.StartGatewayAsync(Ct); // returns once RGW answers HTTP again
        var answeringAt = clock.Elapsed;
        Say($"radosgw answers again after {(answeringAt - stoppedAt).TotalSeconds:F1} s");

        // Full recovery is an event: since the last failed request started, every client has had two answers that
        // all succeeded. How soon that came is printed (no latency bound in the suite: a loaded machine would break it).
        var recoveredAt = await Eventually.ValueAsync(() => RecoveredSince([.. load.Results], answeringAt), at => at is not null,
            "every request to succeed again after RGW answered", TimeSpan.FromSeconds(90),
            _ => $"{load.Results.Count(r => r.Started >= answeringAt && r.Status != 200)} failures since RGW answered, the last: " +
                 $"{load.Results.Where(r => r.Status != 200).Select(r => $"{r.Kind} {r.Status} {r.Body}").LastOrDefault()}");
        Say($"recovered: every request started from {(recoveredAt!.Value - answeringAt).TotalSeconds:F1} s after RGW answered succeeded");
        await load.StopAsync(loadTask);

        CheckRequests([.. load.Results], stoppedAt, answeringAt, recoveredAt.Value,
            () => string.Join('\n', companion.Logs.Lines.Where(l => l.Contains("Unhandled error", StringComparison.Ordinal)).Take(5)));
        load.Results.Clear();

        // The managed heap of this process (it hosts the API; the operator is a child process) returns to its level.
        // The slack is for ArrayPool.Shared: every download copies through a pooled 1 MiB buffer, and how many the pool
        // keeps (one per thread, up to 32 per core) follows the peak of concurrent downloads, which the burst after
        // recovery raises (measured: 2-4 MiB more at rest, stable under further load). A leak of about 30 KB or more per
        // failed request (300+ of them) would exceed it within one outage; smaller ones would need a longer outage.
        var heapAfter = SettledHeap();
        Say($"after: managed heap {heapAfter / 1048576.0:F1} MiB (before {heapBefore / 1048576.0:F1}), RSS {Environment.WorkingSet / 1048576.0:F1} MiB " +
            $"(before {rssBefore / 1048576.0:F1}; not asserted: the runtime keeps freed pages), {ThreadPool.ThreadCount} pool threads (before {threadsBefore})");
        Assert.True(heapAfter <= heapBefore + 8 * 1048576L,
            $"managed heap {heapAfter / 1048576.0:F1} MiB after the outage, {heapBefore / 1048576.0:F1} MiB before (8 MiB allowed for pooled buffers)");

        // The operator: Reconciling while RGW was down, Ready again after, without a storm of status writes.
        await Eventually.WaitAsync("every workspace Ready again", TimeSpan.FromSeconds(60), async _ =>
        {
            var ready = await ReadyCountAsync(cluster);
            return (ready == Workspaces, $"{ready}/{Workspaces} Ready");
        }, Ct);
        var allReadyAfter = (statuses.AllReadyAt ?? clock.Elapsed) - answeringAt;
        // The fence for "a converged object writes nothing": one more resync pass (3 s period), seen as each object's
        // reconcile reading it once more.
        var reads = cluster.Kube.RequestCount("get", "workspacestorages");
        await Eventually.TrueAsync(() => cluster.Kube.RequestCount("get", "workspacestorages") >= reads + Workspaces, "one more resync of every workspace",
            observe: () => cluster.Kube.RequestCount("get", "workspacestorages") - reads);
        statuses.Dispose();
        var statusWrites = cluster.Kube.WriteCount("workspacestorages/status");
        var secretWrites = cluster.Kube.WriteCount("secrets");
        Say($"operator: Reconciling seen on {statuses.SawReconciling.Count}/{Workspaces}, all Ready again {allReadyAfter.TotalSeconds:F1} s after RGW answered; " +
            $"{statusWrites} status writes, {secretWrites} Secret writes; whole test {total.Elapsed.TotalSeconds:F1} s");
        Say($"a Reconciling condition said: {statuses.SawReconciling.Values.FirstOrDefault()}");
        Assert.Equal(workspaces.Select(w => w.Value).Order(), statuses.SawReconciling.Keys.Select(w => w.Value).Order());
        // One write to Reconciling and one back to Ready each, and one more for an object whose reconcile was under way
        // when radosgw stopped: it fails at a later call (GetRole) than the reconciles after it (get-user), so its
        // Reconciling message changes once. Seen on the real API server in 1 run of 5 (12 writes, the first Reconciling
        // message naming GetRole: a resync wave straddled the stop); a storm (a write per resync or retry, 3 s resyncs
        // over a 10 s outage) is 4 or more each.
        Assert.True(statusWrites <= 3 * Workspaces,
            $"{statusWrites} status writes for {Workspaces} objects (to Reconciling, a changed message, back to Ready: 3 each is the bound)");
        Assert.Equal(0, secretWrites);
        Assert.False(@operator.HasExited, $"the operator exited:\n{@operator.Tail()}");
    }

    /// <summary>
    /// The start of the recovered stretch: the moment after the last failure since <paramref name="answeringAt"/> from
    /// which at least two answers per client came, all of them successes; null until then.
    /// </summary>
    private static TimeSpan? RecoveredSince(List<Outcome> results, TimeSpan answeringAt)
    {
        var lastFailure = results.Where(r => r.Status != 200).Select(r => r.Started).DefaultIfEmpty(answeringAt).Max();
        var from = lastFailure > answeringAt ? lastFailure + TimeSpan.FromTicks(1) : answeringAt;
        return results.Count(r => r.Started >= from && r.Status == 200) >= 2 * Clients ? from : null;
    }

    /// <summary>What the clients saw: answers within the timeout, presigning unaffected, clear 503s only, then full recovery.</summary>
    private static void CheckRequests(List<Outcome> results, TimeSpan stoppedAt, TimeSpan answeringAt, TimeSpan recoveredAt, Func<string> apiErrors)
    {
        var presigns = results.Where(r => r.Kind == "presign").ToList();
        var gets = results.Where(r => r.Kind == "get").ToList();
        var duringOutage = gets.Where(r => r.Started >= stoppedAt && r.Started < answeringAt).ToList();
        var unavailable = gets.Where(r => r.Status == 503).ToList();
        Say($"{results.Count} requests: {presigns.Count} presign ({presigns.Count(r => r.Status == 200)} × 200), {gets.Count} GET /files " +
            $"({gets.Count(r => r.Status == 200)} × 200, {unavailable.Count} × 503); slowest {results.Max(r => r.Duration).TotalMilliseconds:0} ms, " +
            $"slowest 503 {(unavailable.Count == 0 ? 0 : unavailable.Max(r => r.Duration).TotalMilliseconds):0} ms");

        // No request hangs: every one got an answer within its timeout.
        var hung = results.Where(r => r.Status <= 0).ToList();
        Assert.True(hung.Count == 0, $"{hung.Count} requests got no answer (0: timed out, -2: connection cut): {string.Join("; ", hung.Take(5).Select(r => $"{r.Kind} at {r.Started.TotalSeconds:F1} s: {r.Body}"))}");

        // Presigning signs locally with the workspace's key: it needs no RGW and keeps working through the outage.
        Assert.All(presigns, r => Assert.True(r.Status == 200, $"presign at {r.Started.TotalSeconds:F1} s: HTTP {r.Status} {r.Body}"));

        // During the outage a GET fails, and only with a 503 whose body says what happened.
        Assert.NotEmpty(duringOutage);
        Assert.True(unavailable.Count > 0, "no GET failed while RGW was down: the outage was not exercised");
        Assert.All(gets.Where(r => r.Status != 200), r =>
        {
            Assert.True(r.Status == 503, $"GET at {r.Started.TotalSeconds:F1} s: HTTP {r.Status} {r.Body}; the API logged:\n{apiErrors()}");
            using var body = JsonDocument.Parse(r.Body);
            Assert.False(body.RootElement.GetProperty("success").GetBoolean());
            Assert.Contains("storage", body.RootElement.GetProperty("detail").GetString(), StringComparison.OrdinalIgnoreCase);
        });
        Say($"a 503 says: {unavailable[0].Body}");

        // Once recovered, it stays so: no request started since then failed.
        var late = results.Where(r => r.Started >= recoveredAt && r.Status != 200).ToList();
        Assert.True(late.Count == 0, $"{late.Count} requests started after the recovery failed: {string.Join("; ", late.Take(5).Select(r => $"{r.Kind} {r.Status} {r.Body}"))}");
        var lastFailure = gets.Where(r => r.Status != 200).Select(r => r.Started).DefaultIfEmpty().Max();
        Say($"last failed GET started {(lastFailure - answeringAt).TotalSeconds:F1} s after RGW answered");

    }

    private static async Task<int> ReadyCountAsync(LocalCluster cluster) =>
        (await cluster.WorkspaceStoragesAsync(Namespace)).Count(r => r.Status.IsTrue(ConditionTypes.Ready));

    private static long SettledHeap()
    {
        for (var i = 0; i < 3; i++)
        {
            GC.Collect(GC.MaxGeneration, GCCollectionMode.Forced, blocking: true, compacting: true);
            GC.WaitForPendingFinalizers();
        }

        return GC.GetTotalMemory(forceFullCollection: true);
    }

    private sealed record Outcome(string Kind, TimeSpan Started, TimeSpan Duration, int Status, string Body);

    /// <summary>32 clients, each alternating a presign and a GET of its workspace's file; status 0 means no answer within the timeout.</summary>
    private sealed class Load(HttpClient http, IReadOnlyList<WorkspaceId> workspaces, IReadOnlyDictionary<WorkspaceId, string> tokens, Stopwatch clock)
    {
        private CancellationTokenSource? stop;

        public ConcurrentQueue<Outcome> Results { get; } = new();

        public async Task RunAsync(TimeSpan length, CancellationToken cancellationToken)
        {
            var task = RunUntilStoppedAsync(cancellationToken);
            await Task.Delay(length, cancellationToken); // load for a while (warm-up rounds): what is tested
            await StopAsync(task);
        }

        public Task RunUntilStoppedAsync(CancellationToken cancellationToken)
        {
            stop = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
            var token = stop.Token;
            return Task.WhenAll(Enumerable.Range(0, Clients).Select(i => Task.Run(() => ClientAsync(workspaces[i % workspaces.Count], token), CancellationToken.None)));
        }

        public async Task StopAsync(Task running)
        {
            await stop!.CancelAsync();
            await running;
            stop.Dispose();
        }

        private async Task ClientAsync(WorkspaceId workspace, CancellationToken stopping)
        {
            for (var n = 0; !stopping.IsCancellationRequested; n++)
            {
                var presign = n % 2 == 0;
                var uri = presign
                    ? $"/{workspace.Value}/services/s3-storage/generate_presigned_url?path={FileName}"
                    : $"/{workspace.Value}/files/{FileName}";
                using var request = new HttpRequestMessage(HttpMethod.Get, uri);
                request.Headers.Authorization = new("Bearer", tokens[workspace]);
                var started = clock.Elapsed;
                // Its own timeout, not the load's stop signal: a request in flight when the load stops still runs to its end.
                using var timeout = new CancellationTokenSource(RequestTimeout);
                Outcome outcome;
                try
                {
                    using var response = await http.SendAsync(request, timeout.Token);
                    var body = await response.Content.ReadAsByteArrayAsync(timeout.Token);
                    var ok = response.StatusCode == HttpStatusCode.OK && (presign || body.AsSpan().SequenceEqual(Content));
                    outcome = new(presign ? "presign" : "get", started, clock.Elapsed - started, ok ? 200 : (int)response.StatusCode == 200 ? -1 : (int)response.StatusCode,
                        ok ? "" : System.Text.Encoding.UTF8.GetString(body.AsSpan(0, Math.Min(body.Length, 400))));
                }
                catch (Exception error) when (error is OperationCanceledException or HttpRequestException or IOException)
                {
                    outcome = new(presign ? "presign" : "get", started, clock.Elapsed - started, error is OperationCanceledException ? 0 : -2,
                        $"{error.GetType().Name}: {error.Message}");
                }

                Results.Enqueue(outcome);
            }
        }
    }

    /// <summary>Polls the workspaces' status every 100 ms and remembers which showed Reconciling=True.</summary>
    private sealed class StatusWatch : IDisposable
    {
        private readonly CancellationTokenSource stop = new();
        private readonly Task loop;

        public StatusWatch(LocalCluster cluster, IReadOnlyList<WorkspaceId> workspaces, Stopwatch clock)
        {
            loop = Task.Run(async () =>
            {
                while (!stop.IsCancellationRequested)
                {
                    var all = await cluster.WorkspaceStoragesAsync(Namespace);
                    if (!SawReconciling.IsEmpty && AllReadyAt is null && all.All(r => r.Status.IsTrue(ConditionTypes.Ready)))
                    {
                        AllReadyAt = clock.Elapsed;
                    }

                    foreach (var resource in all)
                    {
                        if (resource.Status.IsTrue(ConditionTypes.Reconciling))
                        {
                            SawReconciling.TryAdd(workspaces.Single(w => w.Value == resource.Spec.Workspace), resource.Status.Find(ConditionTypes.Reconciling)!.Message);
                        }
                    }

                    try
                    {
                        await Task.Delay(100, stop.Token); // the pace of the status sampler, not a wait for an outcome
                    }
                    catch (OperationCanceledException)
                    {
                    }
                }
            });
        }

        public ConcurrentDictionary<WorkspaceId, string> SawReconciling { get; } = new();

        /// <summary>When every workspace was Ready again after one had been seen Reconciling.</summary>
        public TimeSpan? AllReadyAt { get; private set; }

        public void Dispose()
        {
            stop.Cancel();
            loop.GetAwaiter().GetResult();
            stop.Dispose();
        }
    }
}
