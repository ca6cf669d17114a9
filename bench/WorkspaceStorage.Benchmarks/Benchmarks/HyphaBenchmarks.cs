using System.Text.Json;
using Microsoft.Extensions.DependencyInjection;
using WorkspaceStorage.Api.HyphaRpc;
using WorkspaceStorage.Benchmarks.Harness;
using WorkspaceStorage.Core.Workspaces;
using WorkspaceStorage.Testing.Hypha;

namespace WorkspaceStorage.Benchmarks.Benchmarks;

/// <summary>
/// Row 10: <c>generate_presigned_url</c> and <c>list_files</c> through Hypha with Hypha's own Python client, on two real
/// Hypha servers side by side — one with the companion registered as <c>public/s3-storage</c> (sole mode), one with its
/// built-in s3-storage (<c>--enable-s3</c> on the same RGW). Both servers share a JWT secret, so one user's token works on
/// both and the calls act on the same kind of workspace (<c>ws-user-{id}</c>) holding the same files.
/// </summary>
public static class HyphaBenchmarks
{
    public const string Script = "hypha_storage_calls.py";
    private const int InFlight = 32;
    private const string Presign = "generate_presigned_url";
    private const string List = "list_files";

    public static async Task<IReadOnlyList<BenchRow>> RunAsync(BenchContext context)
    {
        var rows = new List<BenchRow>();
        if (context.Selected(10))
        {
            rows.Add(await Guard("10", "generate_presigned_url through Hypha (Python hypha_rpc)", PresignTarget, () => CallsThroughHyphaAsync(context)));
        }

        if (context.Selected(12))
        {
            rows.Add(await Guard("12", "first call of a brand-new workspace through Hypha (on-demand)", FirstCallBenchmark.Target,
                () => FirstCallBenchmark.RunAsync(context)));
        }

        return rows;
    }

    private const string PresignTarget = "≥ 10× built-in calls/s; p50 < 1/5 of built-in's";

    internal static async Task<BenchRow> Guard(string id, string what, string target, Func<Task<BenchRow>> run)
    {
        try
        {
            return await run();
        }
        catch (HyphaUnavailableException ex)
        {
            return BenchRow.Skipped(id, what, target, "no Hypha server: " + ex.Message);
        }
        catch (Exception ex) when (ex is not OperationCanceledException)
        {
            BenchContext.Progress($"#{id} failed: {ex}");
            return BenchRow.Skipped(id, what, target, $"failed: {ex.GetType().Name}: {ex.Message}");
        }
    }

    /// <summary>Runs the client script with Python Hypha's interpreter against <paramref name="server"/>; returns its RESULT line's JSON.</summary>
    internal static async Task<JsonElement> RunScriptAsync(BenchContext context, HyphaTestServer server, string mode, Dictionary<string, string> environment, TimeSpan timeout)
    {
        var run = await server.RunPythonAsync(Path.GetFullPath(context.Baseline(Script)), [mode], environment, timeout, context.CancellationToken);
        var line = run.Output.Split('\n').LastOrDefault(l => l.StartsWith("RESULT ", StringComparison.Ordinal));
        if (run.ExitCode != 0 || line is null)
        {
            throw new InvalidOperationException($"{Script} {mode} against {server.Url}: exit {run.ExitCode}: {Tail(run.Error)}\nHypha log:\n{server.LogTail(15)}");
        }

        return JsonDocument.Parse(line["RESULT ".Length..]).RootElement.Clone();
    }

    private static string Tail(string text) => text.Length > 1500 ? text[^1500..] : text;

    /// <summary>A token Hypha accepts (its JWT secret) for a user it has never seen: Hypha gives it the personal workspace ws-user-{id}.</summary>
    internal static string NewUserToken(string jwtSecret, string userId) =>
        new HyphaTokenFactory(jwtSecret).Create(userId, $"ws:ws-user-{userId}#a wid:ws-user-{userId}", TimeSpan.FromHours(2));

    /// <summary>
    /// Hypha disconnects a WebSocket client that sends more than HYPHA_WS_MSG_RATE_LIMIT messages/s (default 200, burst
    /// 2000): the benchmark's one client, and the companion's one connection (a response per call), pass that within
    /// seconds. Both servers get the same high limit, so the figures show the service, not the server's throttle.
    /// </summary>
    internal static readonly IReadOnlyDictionary<string, string> Unthrottled = new Dictionary<string, string>
    {
        ["HYPHA_WS_MSG_RATE_LIMIT"] = "1000000",
        ["HYPHA_WS_MSG_BURST_LIMIT"] = "1000000",
    };

    /// <summary>The companion's registration settings: sole mode, the root token traded for a public token.</summary>
    internal static Dictionary<string, string?> RegistrationSettings(HyphaTestServer hypha) => new()
    {
        ["HyphaRegistration:ServerUrl"] = hypha.Url.ToString(),
        ["HyphaRegistration:RootTokenFile"] = hypha.RootTokenFile,
    };

    internal static Task WaitUntilRegisteredAsync(IServiceProvider services, CancellationToken cancellationToken) =>
        services.GetRequiredService<HyphaRegistrationService>().Client.WaitUntilRegisteredAsync(cancellationToken)
            .WaitAsync(TimeSpan.FromSeconds(60), cancellationToken);

    /// <summary>One run of the throughput mode: per function and mode, calls/s and every latency.</summary>
    private sealed record Run(Dictionary<string, (double CallsPerSecond, List<double> Latencies)> Figures, int Errors, string? LastError)
    {
        public static Run Parse(JsonElement result)
        {
            var figures = new Dictionary<string, (double, List<double>)>();
            var errors = 0;
            string? last = null;
            foreach (var function in result.EnumerateObject())
            {
                foreach (var mode in function.Value.EnumerateObject())
                {
                    figures[$"{function.Name}/{mode.Name}"] = (mode.Value.GetProperty("calls_per_s").GetDouble(),
                        [.. mode.Value.GetProperty("latencies_ms").EnumerateArray().Select(e => e.GetDouble())]);
                    foreach (var error in mode.Value.GetProperty("errors").EnumerateArray())
                    {
                        errors++;
                        last = error.GetString();
                    }
                }
            }

            return new Run(figures, errors, last);
        }
    }

    private static async Task<BenchRow> CallsThroughHyphaAsync(BenchContext context)
    {
        var jwt = HyphaTokenFactory.NewSecret();
        var user = "bench-" + Guid.NewGuid().ToString("N")[..8];
        var endpoint = context.RgwEndpoint.ToString().TrimEnd('/');
        BenchContext.Progress("#10 starting two Hypha servers: one for the companion (no --enable-s3), one with its built-in s3-storage");
        await using var sole = await HyphaTestServer.StartAsync(new HyphaTestServerOptions { JwtSecret = jwt, Environment = Unthrottled }, context.CancellationToken);
        await using var builtIn = await HyphaTestServer.StartAsync(new HyphaTestServerOptions
        {
            JwtSecret = jwt,
            Environment = Unthrottled,
            HyphaFlags =
            [
                "--enable-s3", $"--access-key-id={context.Admin.AccessKeyId}", $"--secret-access-key={context.Admin.SecretAccessKey}",
                $"--endpoint-url={endpoint}", $"--endpoint-url-public={endpoint}", "--s3-admin-type=generic",
                "--workspace-bucket=hypha-builtin-" + Guid.NewGuid().ToString("N")[..8],
            ],
        }, context.CancellationToken);

        // The companion as in production (Warning logs), with the user's workspace provisioned, registered in `sole`.
        await using var world = await ApiWorld.StartAsync(context, RegistrationSettings(sole), WorkspaceId.Parse("ws-user-" + user));
        await WaitUntilRegisteredAsync(world.Services, context.CancellationToken);

        var environment = new Dictionary<string, string>
        {
            ["BENCH_HYPHA_TOKEN"] = NewUserToken(jwt, user),
            ["BENCH_SECONDS"] = "3",
            ["BENCH_IN_FLIGHT"] = InFlight.ToString(System.Globalization.CultureInfo.InvariantCulture),
        };
        var ours = new List<Run>();
        var theirs = new List<Run>();
        async Task<double> Round(HyphaTestServer server, List<Run> runs)
        {
            var run = Run.Parse(await RunScriptAsync(context, server, "throughput", environment, TimeSpan.FromMinutes(5)));
            runs.Add(run);
            if (run.Errors > 0)
            {
                BenchContext.Progress($"#10 {server.Url}: {run.Errors} failed calls, last: {run.LastError}");
            }

            return run.Figures[$"{Presign}/in_flight"].CallsPerSecond;
        }

        var (candidate, baseline) = await SideBySide.RunAsync(context.Rounds, _ => Round(sole, ours), _ => Round(builtIn, theirs),
            m => BenchContext.Progress($"#10 {Presign}, {InFlight} in flight (calls/s) {m}"));

        double Rate(List<Run> runs, string key) => SideBySide.Median([.. runs.Select(r => r.Figures[key].CallsPerSecond)]);
        List<double> All(List<Run> runs, string key) => [.. runs.SelectMany(r => r.Figures[key].Latencies)];
        double P(List<Run> runs, string key, double p) => SideBySide.Percentile(All(runs, key), p);

        var ratio = SideBySide.Median(candidate) / SideBySide.Median(baseline);
        var seqRatio = Rate(ours, $"{Presign}/sequential") / Rate(theirs, $"{Presign}/sequential");
        var p50Ok = P(ours, $"{Presign}/sequential", 50) < P(theirs, $"{Presign}/sequential", 50) / 5
            && P(ours, $"{Presign}/in_flight", 50) < P(theirs, $"{Presign}/in_flight", 50) / 5;
        var extra = new Dictionary<string, Figure>();
        foreach (var function in new[] { Presign, List })
        {
            var name = function == Presign ? "presign" : "list_files";
            foreach (var (mode, label) in new[] { ("sequential", "seq"), ("in_flight", $"{InFlight} in flight") })
            {
                var key = $"{function}/{mode}";
                if (function == List || mode == "sequential")
                {
                    extra[$"{name} {label}: ours"] = SideBySide.Fig([.. ours.Select(r => r.Figures[key].CallsPerSecond)], "calls/s");
                    extra[$"{name} {label}: built-in"] = SideBySide.Fig([.. theirs.Select(r => r.Figures[key].CallsPerSecond)], "calls/s");
                    extra[$"{name} {label}: ratio"] = new(Rate(ours, key) / Rate(theirs, key), "×");
                }

                extra[$"{name} {label}: ours p50"] = new(P(ours, key, 50), "ms");
                extra[$"{name} {label}: ours p99"] = new(P(ours, key, 99), "ms");
                extra[$"{name} {label}: built-in p50"] = new(P(theirs, key, 50), "ms");
                extra[$"{name} {label}: built-in p99"] = new(P(theirs, key, 99), "ms");
            }
        }

        var listRatio = Rate(ours, $"{List}/in_flight") / Rate(theirs, $"{List}/in_flight");
        extra["failed calls: ours"] = new(ours.Sum(r => r.Errors), "calls");
        extra["failed calls: built-in"] = new(theirs.Sum(r => r.Errors), "calls");
        return new BenchRow("10", $"generate_presigned_url through Hypha (Python hypha_rpc), {InFlight} in flight")
        {
            Measured = SideBySide.Fig(candidate, "calls/s"),
            BaselineName = "Hypha's built-in s3-storage (--enable-s3, same RGW)",
            Baseline = SideBySide.Fig(baseline, "calls/s"),
            Ratio = ratio,
            RatioUnit = "×",
            Target = PresignTarget,
            TargetMet = ratio >= 10 && seqRatio >= 10 && p50Ok && ours.Sum(r => r.Errors) == 0,
            Extra = extra,
            Note = $"met needs presign ≥ 10× seq and in flight, p50 < 1/5 seq and in flight; list_files in flight {Figure.Format(listRatio)}×. " +
                "Two Python Hypha servers (same JWT secret), alternating rounds; one user ws-user-*, 10 files under bench/; each mode ≥ 3 s per round; p50/p99 over all rounds' calls",
        };
    }
}
