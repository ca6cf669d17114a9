using System.Diagnostics;
using System.Globalization;
using System.Net;
using System.Net.Http.Headers;
using System.Net.Http.Json;
using WorkspaceStorage.Benchmarks.Harness;
using WorkspaceStorage.Core.Credentials;
using WorkspaceStorage.Core.Workspaces;
using WorkspaceStorage.Testing.Hypha;
using WorkspaceStorage.Testing.Kubernetes;
using WorkspaceStorage.Testing.Streams;
using WorkspaceStorage.Testing.Support;

namespace WorkspaceStorage.Benchmarks.Benchmarks;

/// <summary>
/// Row 13: resident memory of the real API executable (a child process, production defaults) reading its workspaces
/// from the cluster (a real Kubernetes API server): idle with none, then with many Ready WorkspaceStorages
/// and their Secrets watched, and again after one presign call for every one of them (each workspace's S3 client made).
/// </summary>
public static class ApiMemoryBenchmark
{
    private const string Target = "< 150 MiB resident";

    public static async Task<BenchRow> RunAsync(BenchContext context)
    {
        var n = context.ScaleWorkspaces;
        var what = $"companion API memory, {n:N0} workspaces in its directory, every one called";
        await using var world = await OperatorWorld.CreateAsync(context);
        var work = Directory.CreateTempSubdirectory("wso-bench-api-");
        try
        {
            var kubeconfig = Path.Combine(work.FullName, "kubeconfig");
            await world.Kube.WriteKubeconfigAsync(kubeconfig);
            var secret = HyphaTokenFactory.NewSecret();
            var port = FreeTcpPort.Next();
            var baseUrl = new Uri($"http://127.0.0.1:{port.ToString(CultureInfo.InvariantCulture)}/");
            // WSO_BENCH_API: another build of the API to measure instead (the Native AOT executable).
            var executable = ServerProcess.ApiExecutableFromEnvironment();
            await using var api = ServerProcess.StartApi(executable, new Dictionary<string, string>
            {
                ["HYPHA_JWT_SECRET"] = secret,
                ["ASPNETCORE_URLS"] = baseUrl.ToString().TrimEnd('/'),
                ["Api__PublicBaseUrl"] = baseUrl.ToString(),
                ["Kubernetes__Kubeconfig"] = kubeconfig,
                ["Logging__LogLevel__Default"] = "Warning",
            });
            using var http = new HttpClient(new SocketsHttpHandler { UseProxy = false, MaxConnectionsPerServer = 8 })
            {
                BaseAddress = baseUrl,
                Timeout = TimeSpan.FromSeconds(30),
            };
            await api.WaitUntilReadyAsync(http, context.CancellationToken);
            await Task.Delay(TimeSpan.FromSeconds(3), context.CancellationToken);
            var idle = await MemorySampler.MedianResidentBytesAsync(api.Id, TimeSpan.FromSeconds(3), context.CancellationToken);
            BenchContext.Progress($"#13 idle API (cluster directory, no workspaces): {idle / 1048576.0:F1} MiB; seeding {n} Ready WorkspaceStorages");

            var run = Guid.NewGuid().ToString("N")[..6];
            var workspaces = Enumerable.Range(0, n).Select(i => WorkspaceId.Parse($"ws-apimem-{run}-{i:D5}")).ToList();
            // What the operator would have written for each (no operator runs here): the Ready object and its Secret.
            await OperatorWorld.SeedAsync(workspaces, workspace => WorkspaceSeeding.SeedWorkspaceAsync(world.Kube, OperatorWorld.Namespace, workspace.Value,
                workspace, AccessKeyGenerator.Generate(), world.BackendName, world.Bucket, isReady: true), context.CancellationToken);

            var tokens = new HyphaTokenFactory(secret);
            var watch = Stopwatch.StartNew();
            while (await PresignAsync(http, tokens, workspaces[^1], context.CancellationToken) != HttpStatusCode.OK)
            {
                if (watch.Elapsed > TimeSpan.FromMinutes(2) || api.HasExited)
                {
                    return BenchRow.Skipped("13", what, Target,
                        $"the API did not serve the last seeded workspace within {watch.Elapsed.TotalSeconds:F0} s");
                }

                await Task.Delay(200, context.CancellationToken);
            }

            var seen = watch.Elapsed;
            await Task.Delay(TimeSpan.FromSeconds(3), context.CancellationToken);
            var watched = await MemorySampler.MedianResidentBytesAsync(api.Id, TimeSpan.FromSeconds(3), context.CancellationToken);
            BenchContext.Progress($"#13 {n} watched: {watched / 1048576.0:F1} MiB (served {seen.TotalSeconds:F1} s after seeding); calling each once");

            using var sampler = new MemorySampler(api.Id, TimeSpan.FromMilliseconds(100));
            var failures = 0;
            await Parallel.ForEachAsync(workspaces, new ParallelOptions { MaxDegreeOfParallelism = 8, CancellationToken = context.CancellationToken },
                async (workspace, token) =>
                {
                    if (await PresignAsync(http, tokens, workspace, token) != HttpStatusCode.OK)
                    {
                        Interlocked.Increment(ref failures);
                    }
                });
            await Task.Delay(TimeSpan.FromSeconds(5), context.CancellationToken);
            var used = await MemorySampler.MedianResidentBytesAsync(api.Id, TimeSpan.FromSeconds(5), context.CancellationToken);
            var mib = used / 1048576.0;
            var (anonymous, file, shared) = MemorySampler.ResidentBreakdown(api.Id);
            return new BenchRow("13", what)
            {
                Measured = new Figure(mib, "MiB RSS"),
                BaselineName = "idle API, no workspaces",
                Baseline = new Figure(idle / 1048576.0, "MiB RSS"),
                Ratio = mib - idle / 1048576.0,
                RatioUnit = " MiB more",
                Target = Target,
                TargetMet = mib < 150 && failures == 0,
                Extra = new Dictionary<string, Figure>
                {
                    ["watched, before any call"] = new(watched / 1048576.0, "MiB"),
                    ["peak RSS while calling"] = new(sampler.PeakBytes / 1048576.0, "MiB"),
                    ["growth per workspace"] = new((used - idle) / 1024.0 / n, "KiB"),
                    ["failed calls"] = new(failures, "calls"),
                    ["of which anonymous (heaps)"] = new(anonymous / 1048576.0, "MiB"),
                    ["of which mapped files (assemblies, shared)"] = new(file / 1048576.0, "MiB"),
                    ["of which shared memory (JIT code, W^X)"] = new(shared / 1048576.0, "MiB"),
                },
                Note = $"the real executable as a child process ({(executable is null ? "dotnet WorkspaceStorage.Api.dll" : Path.GetFileName(executable) + " (WSO_BENCH_API)")}, cluster directory over a real API server); " +
                    "one generate_presigned_url per workspace, 8 in flight; median RSS over 5 s once settled",
            };
        }
        finally
        {
            work.Delete(recursive: true);
        }
    }

    private static async Task<HttpStatusCode> PresignAsync(HttpClient http, HyphaTokenFactory tokens, WorkspaceId workspace, CancellationToken cancellationToken)
    {
        using var request = new HttpRequestMessage(HttpMethod.Post, $"/{workspace}/services/s3-storage/generate_presigned_url")
        {
            Content = JsonContent.Create(new Dictionary<string, string> { ["path"] = "data/file.bin" }),
        };
        request.Headers.Authorization = new AuthenticationHeaderValue("Bearer", tokens.ForWorkspace(workspace.Value, "rw"));
        using var response = await http.SendAsync(request, cancellationToken);
        return response.StatusCode;
    }
}
