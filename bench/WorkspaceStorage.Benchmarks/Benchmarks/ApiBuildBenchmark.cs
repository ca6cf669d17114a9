using System.Diagnostics;
using System.Globalization;
using System.Text.Json;
using WorkspaceStorage.Benchmarks.Harness;
using WorkspaceStorage.Core.Credentials;
using WorkspaceStorage.Core.Workspaces;
using WorkspaceStorage.Testing.Hypha;
using WorkspaceStorage.Testing.Kubernetes;
using WorkspaceStorage.Testing.Streams;
using WorkspaceStorage.Testing.Support;

namespace WorkspaceStorage.Benchmarks.Benchmarks;

/// <summary>
/// Row 16: the companion's two builds side by side, each the real executable as a child process — the JIT one
/// (<c>dotnet WorkspaceStorage.Api.dll</c>) and a Native AOT publish (<c>WSO_BENCH_API</c>). Start-up to <c>/readyz</c> 200
/// and idle RSS of fresh processes, with the in-memory directory (no cluster) and with the cluster directory (one Ready
/// workspace on a real API server), alternating per round; then row 2's load (wrk, 64 connections,
/// generate_presigned_url) on one long-lived process of each, warmed up first (the JIT tiers up), in alternating rounds.
/// </summary>
public static class ApiBuildBenchmark
{
    private const string What = "companion API, Native AOT vs JIT (start-up, idle RSS, row 2's presign load)";
    private const string Target = "AOT: less idle RSS, faster start, ≥ 95% of the JIT's presign req/s";
    private const string Jit = "jit";
    private const string Aot = "aot";

    public static async Task<BenchRow> RunAsync(BenchContext context)
    {
        if (ServerProcess.ApiExecutableFromEnvironment() is not { } aot)
        {
            return BenchRow.Skipped("16", What, Target,
                "WSO_BENCH_API unset: point it at a Native AOT publish (dotnet publish src/WorkspaceStorage.Api -c Release -r linux-x64 -p:PublishAot=true -o DIR; DIR/WorkspaceStorage.Api)");
        }

        await using var world = await OperatorWorld.CreateAsync(context);
        var work = Directory.CreateTempSubdirectory("wso-bench-aot-");
        try
        {
            var kubeconfig = Path.Combine(work.FullName, "kubeconfig");
            await world.Kube.WriteKubeconfigAsync(kubeconfig);
            var workspace = WorkspaceId.Parse("ws-aot-" + Guid.NewGuid().ToString("N")[..8]);
            await WorkspaceSeeding.SeedWorkspaceAsync(world.Kube, OperatorWorld.Namespace, workspace.Value, workspace, AccessKeyGenerator.Generate(),
                world.BackendName, world.Bucket, isReady: true);
            var secret = HyphaTokenFactory.NewSecret();
            var builds = new Dictionary<string, string?> { [Jit] = null, [Aot] = aot };
            var memory = new Dictionary<string, string> { ["Api__WorkspaceSource"] = "memory" };
            var cluster = new Dictionary<string, string> { ["Api__WorkspaceSource"] = "kubernetes", ["Kubernetes__Kubeconfig"] = kubeconfig };

            // Fresh processes: start-up and idle footprint.
            var starts = builds.Keys.ToDictionary(b => b, _ => new List<(Started Memory, Started Cluster)>());
            async Task<double> StartRound(string build)
            {
                Started memoryRun, clusterRun;
                await using (var api = await StartAsync(context, builds[build], secret, memory))
                {
                    memoryRun = api.Started;
                }

                await using (var api = await StartAsync(context, builds[build], secret, cluster))
                {
                    clusterRun = api.Started;
                }

                starts[build].Add((memoryRun, clusterRun));
                BenchContext.Progress($"#16 {build}: memory directory ready after {memoryRun.Ready.TotalSeconds:F2} s, {memoryRun.IdleBytes / 1048576.0:F1} MiB; " +
                    $"cluster directory ready after {clusterRun.Ready.TotalSeconds:F2} s, {clusterRun.IdleBytes / 1048576.0:F1} MiB");
                return memoryRun.IdleBytes / 1048576.0;
            }

            var (aotIdle, jitIdle) = await SideBySide.RunAsync(context.Rounds, _ => StartRound(Aot), _ => StartRound(Jit), m => BenchContext.Progress($"#16 idle MiB {m}"));

            // One long-lived process of each: row 2's load, warmed up, alternating.
            var url = $"/{workspace}/services/s3-storage/generate_presigned_url";
            var load = new Dictionary<string, string>
            {
                ["BENCH_TOKEN"] = new HyphaTokenFactory(secret).ForWorkspace(workspace.Value, "rw", lifetime: TimeSpan.FromHours(2)),
                ["BENCH_BODY"] = JsonSerializer.Serialize(new Dictionary<string, string> { ["path"] = "data/some file.bin", ["client_method"] = "get_object" }),
            };
            await using var jitApi = await StartAsync(context, null, secret, cluster);
            await using var aotApi = await StartAsync(context, aot, secret, cluster);
            var servers = new Dictionary<string, RunningApi> { [Jit] = jitApi, [Aot] = aotApi };
            foreach (var server in servers.Values)
            {
                await ApiBenchmarks.WrkAsync(context, server.Url(url), load, 10);
            }

            var loads = builds.Keys.ToDictionary(b => b, _ => new List<ApiBenchmarks.WrkResult>());
            async Task<double> LoadRound(string build)
            {
                var run = await ApiBenchmarks.WrkAsync(context, servers[build].Url(url), load, 5);
                loads[build].Add(run);
                return run.RequestsPerSecond;
            }

            var (aotRps, jitRps) = await SideBySide.RunAsync(context.Rounds, _ => LoadRound(Aot), _ => LoadRound(Jit), m => BenchContext.Progress($"#16 presign req/s {m}"));
            var afterLoad = servers.ToDictionary(s => s.Key, s => MemorySampler.ResidentBytes(s.Value.Process.Id) / 1048576.0);

            var extra = new Dictionary<string, Figure>();
            foreach (var build in builds.Keys)
            {
                Figure Fig(Func<(Started Memory, Started Cluster), double> figure, string unit) => SideBySide.Fig([.. starts[build].Select(figure)], unit);
                extra[$"{build} idle RSS, memory directory"] = Fig(r => r.Memory.IdleBytes / 1048576.0, "MiB");
                extra[$"{build} /readyz after start, memory directory"] = Fig(r => r.Memory.Ready.TotalMilliseconds, "ms");
                extra[$"{build} idle RSS, cluster directory (1 workspace)"] = Fig(r => r.Cluster.IdleBytes / 1048576.0, "MiB");
                extra[$"{build} /readyz after start, cluster directory"] = Fig(r => r.Cluster.Ready.TotalMilliseconds, "ms");
                extra[$"{build} presign p99"] = SideBySide.Fig([.. loads[build].Select(r => r.P99Milliseconds)], "ms");
                extra[$"{build} RSS after the load"] = new(afterLoad[build], "MiB");
                extra[$"{build} non-2xx"] = new(loads[build].Sum(r => r.NonSuccess), "responses");
            }

            var ratio = SideBySide.Median(aotRps) / SideBySide.Median(jitRps);
            double Median(string build, Func<(Started Memory, Started Cluster), double> figure) => SideBySide.Median([.. starts[build].Select(figure)]);
            var lighter = SideBySide.Median(aotIdle) < SideBySide.Median(jitIdle);
            var faster = Median(Aot, r => r.Memory.Ready.TotalMilliseconds) < Median(Jit, r => r.Memory.Ready.TotalMilliseconds);
            return new BenchRow("16", What)
            {
                Measured = SideBySide.Fig(aotRps, "req/s"),
                BaselineName = "the JIT build, same load",
                Baseline = SideBySide.Fig(jitRps, "req/s"),
                Ratio = ratio * 100,
                RatioUnit = "%",
                Target = Target,
                TargetMet = lighter && faster && ratio >= 0.95 && loads.Values.All(l => l.Sum(r => r.NonSuccess) == 0),
                Extra = extra,
                Note = $"{Path.GetFileName(aot)} (WSO_BENCH_API) vs dotnet WorkspaceStorage.Api.dll, child processes from the same folder and settings; " +
                    "idle = /readyz 200 + 3 s, median RSS over 3 s, fresh processes; " +
                    $"load: wrk -t2 -c{ApiBenchmarks.Connections} -d5s on one process of each after a 10 s warm-up, wrk and the API share the 2 cores",
            };
        }
        finally
        {
            work.Delete(recursive: true);
        }
    }

    /// <summary>When a fresh process answered <c>/readyz</c> 200 (from its start), and its RSS 3 s later.</summary>
    private sealed record Started(TimeSpan Ready, long IdleBytes);

    private sealed class RunningApi(ServerProcess process, Uri baseUrl, Started started) : IAsyncDisposable
    {
        public ServerProcess Process => process;

        public Started Started => started;

        public string Url(string path) => new Uri(baseUrl, path).ToString();

        public ValueTask DisposeAsync() => process.DisposeAsync();
    }

    private static async Task<RunningApi> StartAsync(BenchContext context, string? executable, string secret, IReadOnlyDictionary<string, string> settings)
    {
        var port = FreeTcpPort.Next();
        var baseUrl = new Uri($"http://127.0.0.1:{port.ToString(CultureInfo.InvariantCulture)}/");
        var environment = new Dictionary<string, string>(settings)
        {
            ["HYPHA_JWT_SECRET"] = secret,
            ["ASPNETCORE_URLS"] = baseUrl.ToString().TrimEnd('/'),
            ["Api__PublicBaseUrl"] = baseUrl.ToString(),
            ["Logging__LogLevel__Default"] = "Warning",
        };
        using var http = new HttpClient(new SocketsHttpHandler { UseProxy = false }) { BaseAddress = baseUrl, Timeout = TimeSpan.FromSeconds(5) };
        var watch = Stopwatch.StartNew();
        var api = ServerProcess.StartApi(executable, environment);
        try
        {
            await api.WaitUntilReadyAsync(http, context.CancellationToken);
            var ready = watch.Elapsed;
            await Task.Delay(TimeSpan.FromSeconds(3), context.CancellationToken);
            var idle = await MemorySampler.MedianResidentBytesAsync(api.Id, TimeSpan.FromSeconds(3), context.CancellationToken);
            return new RunningApi(api, baseUrl, new Started(ready, idle));
        }
        catch
        {
            await api.DisposeAsync();
            throw;
        }
    }
}
