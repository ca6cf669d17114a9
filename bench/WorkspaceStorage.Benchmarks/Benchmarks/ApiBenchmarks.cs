using System.Globalization;
using System.Text.Json;
using System.Text.RegularExpressions;
using WorkspaceStorage.Benchmarks.Harness;
using WorkspaceStorage.Core.Policies;
using WorkspaceStorage.Core.Workspaces;
using WorkspaceStorage.Storage.CephRgw;
using WorkspaceStorage.Testing.Streams;

namespace WorkspaceStorage.Benchmarks.Benchmarks;

/// <summary>Rows 2–5, 9 and 17: the API over HTTP, driven by outside clients (wrk, curl, a Python script) so only the API is in this process.</summary>
public static partial class ApiBenchmarks
{
    private const long ObjectSize = 256L * 1024 * 1024;
    internal const int Connections = 64;

    public static async Task<IReadOnlyList<BenchRow>> RunAsync(BenchContext context)
    {
        var rows = new List<BenchRow>();
        await using var world = await ApiWorld.StartAsync(context);
        // --only 2 runs row 2 alone: the transfers (3-5) and row 9 take minutes more.
        if (context.Selected(2))
        {
            rows.Add(await Guard("2", "generate_presigned_url over HTTP (wrk, 64 connections)", "≥ 60% of bare req/s; p99 reported",
                () => PresignOverHttpAsync(context, world)));
        }

        if (context.Selected(3) || context.Selected(4) || context.Selected(5))
        {
            rows.AddRange(await GuardMany(["3", "4", "5"], () => TransfersAsync(context, world)));
        }

        if (context.Selected(17))
        {
            rows.Add(await Guard("17", "GET and PUT /s3/{bucket}/{key}, 256 MiB", "≥ 90% of direct", () => S3ProxyTransfersAsync(context, world)));
        }

        if (context.Selected(9))
        {
            rows.Add(await Guard("9", "generate_credential latency", "p50, p99 reported; overhead ≤ 20%", () => CredentialLatencyAsync(context, world)));
        }

        return rows;
    }

    private static async Task<BenchRow> Guard(string id, string what, string target, Func<Task<BenchRow>> run)
    {
        try
        {
            return await run();
        }
        catch (Exception ex) when (ex is not OperationCanceledException)
        {
            BenchContext.Progress($"#{id} failed: {ex}");
            return BenchRow.Skipped(id, what, target, $"failed: {ex.GetType().Name}: {ex.Message}");
        }
    }

    private static async Task<IReadOnlyList<BenchRow>> GuardMany(string[] ids, Func<Task<IReadOnlyList<BenchRow>>> run)
    {
        try
        {
            return await run();
        }
        catch (Exception ex) when (ex is not OperationCanceledException)
        {
            BenchContext.Progress($"#{string.Join(',', ids)} failed: {ex}");
            return [.. ids.Select(id => BenchRow.Skipped(id, "transfer " + id, "see issue", $"failed: {ex.GetType().Name}: {ex.Message}"))];
        }
    }

    // ---- row 2 -------------------------------------------------------------------------------------------------

    private static async Task<BenchRow> PresignOverHttpAsync(BenchContext context, ApiWorld world)
    {
        var fixture = world.Fixture;
        var url = new Uri(world.ApiUrl, $"/{fixture.Workspace}/services/s3-storage/generate_presigned_url").ToString();
        var environment = new Dictionary<string, string>
        {
            ["BENCH_TOKEN"] = fixture.Token,
            ["BENCH_BODY"] = JsonSerializer.Serialize(new Dictionary<string, string> { ["path"] = "data/some file.bin", ["client_method"] = "get_object" }),
        };
        var duration = context.Rounds >= 5 ? 5 : 3;

        // Warm both (JIT, connection pools), then check the API really answers 200 before trusting any req/s.
        await WrkAsync(context, url, environment, 2);
        await WrkAsync(context, world.BareUrl.ToString(), environment, 1);
        var apiRuns = new List<WrkResult>();
        var bareRuns = new List<WrkResult>();
        await SideBySide.RunAsync(context.Rounds,
            async _ =>
            {
                var run = await WrkAsync(context, url, environment, duration);
                apiRuns.Add(run);
                return run.RequestsPerSecond;
            },
            async _ =>
            {
                var run = await WrkAsync(context, world.BareUrl.ToString(), environment, duration);
                bareRuns.Add(run);
                return run.RequestsPerSecond;
            },
            m => BenchContext.Progress($"#2 wrk {m}"));

        // One round each of the decomposition (not ratios against a neighbour: indications of where the time goes).
        var pipeline = await WrkAsync(context, new Uri(world.ApiUrl, "/bench/constant").ToString(), environment, duration);
        var authorized = await WrkAsync(context, new Uri(world.ApiUrl, $"/{fixture.Workspace}/bench/constant").ToString(), environment, duration);
        BenchContext.Progress($"#2 decomposition: API pipeline constant {pipeline.RequestsPerSecond:F0} req/s, + token and permission {authorized.RequestsPerSecond:F0} req/s");

        var errors = apiRuns.Sum(r => r.NonSuccess);
        var api = apiRuns.Select(r => r.RequestsPerSecond).ToList();
        var bare = bareRuns.Select(r => r.RequestsPerSecond).ToList();
        var ratio = SideBySide.Median(api) / SideBySide.Median(bare);
        return new BenchRow("2", "generate_presigned_url over HTTP (wrk, 64 connections)")
        {
            Measured = SideBySide.Fig(api, "req/s"),
            BaselineName = "bare Kestrel endpoint, constant string",
            Baseline = SideBySide.Fig(bare, "req/s"),
            Ratio = ratio * 100,
            RatioUnit = "%",
            Target = "≥ 60% of bare req/s; p99 reported",
            TargetMet = ratio >= 0.6 && errors == 0,
            Extra = new Dictionary<string, Figure>
            {
                ["API p99"] = SideBySide.Fig([.. apiRuns.Select(r => r.P99Milliseconds)], "ms"),
                ["API p50"] = SideBySide.Fig([.. apiRuns.Select(r => r.P50Milliseconds)], "ms"),
                ["bare p99"] = SideBySide.Fig([.. bareRuns.Select(r => r.P99Milliseconds)], "ms"),
                ["API non-2xx"] = new Figure(errors, "responses"),
                ["diag: API pipeline, constant answer"] = new(pipeline.RequestsPerSecond, "req/s"),
                ["diag: + Hypha token and permission"] = new(authorized.RequestsPerSecond, "req/s"),
            },
            Note = $"wrk -t2 -c{Connections} -d{duration}s, wrk and server share the 2 cores",
        };
    }

    internal sealed record WrkResult(double RequestsPerSecond, double P50Milliseconds, double P99Milliseconds, long NonSuccess);

    /// <summary>Row 2's load: wrk POSTing with bench/baselines/wrk-post.lua (BENCH_TOKEN, BENCH_BODY from <paramref name="environment"/>).</summary>
    internal static async Task<WrkResult> WrkAsync(BenchContext context, string url, IReadOnlyDictionary<string, string> environment, int seconds)
    {
        var output = await ChildProcess.RunAsync("wrk",
            ["-t2", $"-c{Connections}", $"-d{seconds}s", "--latency", "-s", context.Baseline("wrk-post.lua"), url],
            TimeSpan.FromSeconds(seconds + 30), context.CancellationToken, environment);
        var rps = double.Parse(RequestsPerSecond().Match(output).Groups[1].Value, CultureInfo.InvariantCulture);
        var nonSuccess = NonSuccess().Match(output) is { Success: true } m ? long.Parse(m.Groups[1].Value, CultureInfo.InvariantCulture) : 0;
        return new WrkResult(rps, Latency(output, "50"), Latency(output, "99"), nonSuccess);
    }

    private static double Latency(string wrkOutput, string percentile)
    {
        var match = Regex.Match(wrkOutput, $@"^\s*{percentile}%\s+([\d.]+)(us|ms|s)\s*$", RegexOptions.Multiline);
        if (!match.Success)
        {
            throw new FormatException($"wrk printed no {percentile}% latency");
        }

        var value = double.Parse(match.Groups[1].Value, CultureInfo.InvariantCulture);
        return match.Groups[2].Value switch { "us" => value / 1000, "s" => value * 1000, _ => value };
    }

    [GeneratedRegex(@"Requests/sec:\s+([\d.]+)")]
    private static partial Regex RequestsPerSecond();

    [GeneratedRegex(@"Non-2xx or 3xx responses:\s+(\d+)")]
    private static partial Regex NonSuccess();

    // ---- rows 3, 4, 5 --------------------------------------------------------------------------------------------

    private static async Task<IReadOnlyList<BenchRow>> TransfersAsync(BenchContext context, ApiWorld world)
    {
        var fixture = world.Fixture;
        var rounds = Math.Min(context.Rounds, 3);
        var work = Directory.CreateTempSubdirectory("wso-bench-");
        var file = Path.Combine(work.FullName, "256MiB.bin");
        var headers = Path.Combine(work.FullName, "auth-header");
        try
        {
            await WriteRandomFileAsync(file, ObjectSize, context.CancellationToken);
            // The token goes to curl in a file only this user can read, not on its command line.
            await File.WriteAllTextAsync(headers, "", context.CancellationToken);
            if (!OperatingSystem.IsWindows())
            {
                File.SetUnixFileMode(headers, UnixFileMode.UserRead | UnixFileMode.UserWrite);
            }

            await File.WriteAllTextAsync(headers, $"Authorization: Bearer {fixture.Token}\n", context.CancellationToken);

            var idle = await IdleResidentAsync();
            using var sampler = new MemorySampler(Environment.ProcessId, TimeSpan.FromMilliseconds(20));

            // Row 3: one object, read through /files and directly with a presigned GET.
            var getKey = fixture.Workspace.Prefix + "bench/get.bin";
            var filesGet = new Uri(world.ApiUrl, $"/{fixture.Workspace}/files/bench/get.bin").ToString();
            await CurlAsync(context, ["-T", file, fixture.Owner.Presign(HttpMethod.Put, getKey, TimeSpan.FromHours(1))], "put");
            var redirectedGet = new Uri(world.RedirectingApiUrl, $"/{fixture.Workspace}/files/bench/get.bin").ToString();
            (List<double> ApiGet, List<double> DirectGet) get;
            (List<double> Redirected, List<double> DirectGet) redirected;
            try
            {
                get = await SideBySide.RunAsync(rounds,
                    _ => CurlAsync(context, ["-H", "@" + headers, filesGet], "get"),
                    _ => CurlAsync(context, [fixture.Owner.Presign(HttpMethod.Get, getKey, TimeSpan.FromHours(1))], "get"),
                    m => BenchContext.Progress($"#3 GET 256 MiB (MiB/s) {m}"));
                // The opt-in mode: curl -L follows the 307 (and, like browsers, sends the token only to the API).
                redirected = await SideBySide.RunAsync(rounds,
                    _ => CurlAsync(context, ["-L", "-H", "@" + headers, redirectedGet], "get"),
                    _ => CurlAsync(context, [fixture.Owner.Presign(HttpMethod.Get, getKey, TimeSpan.FromHours(1))], "get"),
                    m => BenchContext.Progress($"#3 GET 256 MiB, Redirect mode (MiB/s) {m}"));
            }
            finally
            {
                await fixture.Owner.DeleteAsync(getKey, CancellationToken.None);
                await RgwGarbage.CollectAsync(CancellationToken.None);
            }

            var peakAfterGet = sampler.PeakBytes;

            // Row 4: uploads through /files and directly with a presigned PUT; each object deleted at once (RGW memstore is 1 GiB).
            var apiKey = fixture.Workspace.Prefix + "bench/put-api.bin";
            var directKey = fixture.Workspace.Prefix + "bench/put-direct.bin";
            var filesPut = new Uri(world.ApiUrl, $"/{fixture.Workspace}/files/bench/put-api.bin").ToString();
            var put = await SideBySide.RunAsync(rounds,
                async _ =>
                {
                    try
                    {
                        return await CurlAsync(context, ["-H", "@" + headers, "-T", file, filesPut], "put");
                    }
                    finally
                    {
                        await fixture.Owner.DeleteAsync(apiKey, CancellationToken.None);
                        await RgwGarbage.CollectAsync(CancellationToken.None);
                    }
                },
                async _ =>
                {
                    try
                    {
                        return await CurlAsync(context, ["-T", file, fixture.Owner.Presign(HttpMethod.Put, directKey, TimeSpan.FromHours(1))], "put");
                    }
                    finally
                    {
                        await fixture.Owner.DeleteAsync(directKey, CancellationToken.None);
                        await RgwGarbage.CollectAsync(CancellationToken.None);
                    }
                },
                m => BenchContext.Progress($"#4 PUT 256 MiB (MiB/s) {m}"));

            var getRatio = SideBySide.Median(get.ApiGet) / SideBySide.Median(get.DirectGet);
            var redirectRatio = SideBySide.Median(redirected.Redirected) / SideBySide.Median(redirected.DirectGet);
            var putRatio = SideBySide.Median(put.Candidate) / SideBySide.Median(put.Baseline);
            var growthGet = Math.Max(0, peakAfterGet - idle) / 1048576.0;
            var growth = Math.Max(0, sampler.PeakBytes - idle) / 1048576.0;
            return
            [
                new BenchRow("3", "GET /{W}/files/{path}, 256 MiB")
                {
                    Measured = SideBySide.Fig(get.ApiGet, "MiB/s"),
                    BaselineName = "presigned GET from RGW (curl)",
                    Baseline = SideBySide.Fig(get.DirectGet, "MiB/s"),
                    Ratio = getRatio * 100,
                    RatioUnit = "%",
                    Target = "≥ 90% of direct (relay, or the opt-in Redirect mode)",
                    TargetMet = getRatio >= 0.9 || redirectRatio >= 0.9,
                    Extra = new Dictionary<string, Figure>
                    {
                        ["Redirect mode"] = SideBySide.Fig(redirected.Redirected, "MiB/s"),
                        ["Redirect mode vs direct"] = new(redirectRatio * 100, "%"),
                        ["direct, beside Redirect mode"] = SideBySide.Fig(redirected.DirectGet, "MiB/s"),
                    },
                    Note = $"{rounds} rounds, curl to /dev/null; headline is the default relay mode; Redirect mode is Storage:FileDownloadMode=Redirect, curl -L",
                },
                new BenchRow("4", "PUT /{W}/files/{path}, 256 MiB")
                {
                    Measured = SideBySide.Fig(put.Candidate, "MiB/s"),
                    BaselineName = "presigned PUT to RGW (curl)",
                    Baseline = SideBySide.Fig(put.Baseline, "MiB/s"),
                    Ratio = putRatio * 100,
                    RatioUnit = "%",
                    Target = "≥ 90% of direct",
                    TargetMet = putRatio >= 0.9,
                    Note = $"{rounds} rounds, curl -T from a file",
                },
                new BenchRow("5", "API memory during rows 3 and 4")
                {
                    Measured = new Figure(growth, "MiB growth (peak RSS − idle)"),
                    BaselineName = "API idle RSS",
                    Baseline = new Figure(idle / 1048576.0, "MiB"),
                    Target = "growth < 64 MiB",
                    TargetMet = growth < 64,
                    Extra = new Dictionary<string, Figure>
                    {
                        ["growth during GETs"] = new(growthGet, "MiB"),
                        ["peak RSS"] = new(sampler.PeakBytes / 1048576.0, "MiB"),
                        ["samples"] = new(sampler.Samples, "every 20 ms"),
                    },
                    Note = "RSS of the process hosting the API (this one; the clients are separate processes)",
                },
            ];
        }
        finally
        {
            work.Delete(recursive: true);
        }
    }

    private static async Task<long> IdleResidentAsync()
    {
        GC.Collect();
        GC.WaitForPendingFinalizers();
        GC.Collect();
        var samples = new List<double>();
        for (var i = 0; i < 10; i++)
        {
            await Task.Delay(100);
            samples.Add(MemorySampler.ResidentBytes(Environment.ProcessId));
        }

        return (long)SideBySide.Median(samples);
    }

    /// <summary>One curl transfer; returns MiB/s over the whole request (headers, body and response).</summary>
    private static async Task<double> CurlAsync(BenchContext context, string[] args, string direction)
    {
        var output = await ChildProcess.RunAsync("curl",
            ["-sS", "--fail-with-body", "--noproxy", "*", "-o", "/dev/null", "-w", "%{http_code} %{size_download} %{size_upload} %{time_total}", .. args],
            TimeSpan.FromMinutes(3), context.CancellationToken);
        var parts = output.Trim().Split(' ');
        var bytes = double.Parse(direction == "get" ? parts[1] : parts[2], CultureInfo.InvariantCulture);
        var seconds = double.Parse(parts[3], CultureInfo.InvariantCulture);
        if (parts[0] != "200" || bytes != ObjectSize)
        {
            throw new InvalidOperationException($"curl {direction}: HTTP {parts[0]}, {bytes} bytes");
        }

        return bytes / 1048576.0 / seconds;
    }

    private static async Task WriteRandomFileAsync(string path, long size, CancellationToken cancellationToken)
    {
        var buffer = new byte[4 * 1024 * 1024];
        await using var stream = new FileStream(path, FileMode.CreateNew, FileAccess.Write, FileShare.None, 1 << 20, FileOptions.Asynchronous);
        for (long written = 0; written < size; written += buffer.Length)
        {
            Random.Shared.NextBytes(buffer);
            await stream.WriteAsync(buffer, cancellationToken);
        }
    }

    // ---- row 9 ---------------------------------------------------------------------------------------------------

    private static async Task<BenchRow> CredentialLatencyAsync(BenchContext context, ApiWorld world)
    {
        var fixture = world.Fixture;
        var environment = context.PythonEnvironment();
        environment["BENCH_ROLE_ARN"] = $"arn:aws:iam:::role/{RgwNames.For(fixture.Workspace, CephRgwStorageBackend.MaxNameLength).Role}";
        environment["BENCH_SESSION_POLICY"] = WorkspacePolicyBuilder.Build(fixture.Location.Bucket, fixture.Workspace, AccessLevel.ReadWrite);
        environment["BENCH_API_URL"] = world.ApiUrl.ToString();
        environment["BENCH_WORKSPACE"] = fixture.Workspace.Value;
        environment["BENCH_TOKEN"] = fixture.Token;
        using var script = new LineProcess(BenchContext.Python, [context.Baseline("credential_latency.py")], environment);

        const int perRound = 40;
        var api = new List<double>();
        var raw = new List<double>();
        async Task<double> Round(string mode, List<double> all)
        {
            var answer = await script.AskAsync(JsonSerializer.Serialize(new { mode, count = perRound, warmup = 5 }), TimeSpan.FromMinutes(2), context.CancellationToken);
            var latencies = JsonDocument.Parse(answer).RootElement.GetProperty("latencies_ms").EnumerateArray().Select(e => e.GetDouble()).ToList();
            all.AddRange(latencies);
            return SideBySide.Median(latencies);
        }

        var (apiP50s, rawP50s) = await SideBySide.RunAsync(context.Rounds, _ => Round("api", api), _ => Round("sts", raw),
            m => BenchContext.Progress($"#9 credential p50 (ms) {m}"));
        var overhead = SideBySide.Median(apiP50s) / SideBySide.Median(rawP50s) - 1;
        return new BenchRow("9", "generate_credential latency (over HTTP)")
        {
            Measured = SideBySide.Fig(apiP50s, "ms p50"),
            BaselineName = "raw STS AssumeRole, boto3 script",
            Baseline = SideBySide.Fig(rawP50s, "ms p50"),
            Ratio = overhead * 100,
            RatioUnit = "% overhead",
            Target = "p50, p99 reported; overhead ≤ 20%",
            TargetMet = overhead <= 0.20,
            Extra = new Dictionary<string, Figure>
            {
                ["API p99"] = new(SideBySide.Percentile(api, 99), "ms"),
                ["raw p99"] = new(SideBySide.Percentile(raw, 99), "ms"),
                ["calls"] = new(api.Count, "per side"),
            },
            Note = "same role, duration and session policy; sequential calls, one kept-alive connection",
        };
    }
}
