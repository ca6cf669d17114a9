using System.Text.Json;
using Microsoft.AspNetCore.Hosting;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using WorkspaceStorage.Api.Hosting;
using WorkspaceStorage.Api.Workspaces;
using WorkspaceStorage.Benchmarks.Harness;
using WorkspaceStorage.Testing.Hypha;

namespace WorkspaceStorage.Benchmarks.Benchmarks;

/// <summary>
/// Row 12: a brand-new Hypha user's first <c>generate_credential</c> through Hypha, with on-demand provisioning (the
/// companion creates the WorkspaceStorage, the operator makes it Ready, the companion answers). Baseline: what that
/// call cannot avoid — the same call for a workspace that exists (the user's second call, through the same Hypha hop)
/// plus the minimum backend calls of a fresh workspace timed alone, alternating with the users in batches.
/// </summary>
public static class FirstCallBenchmark
{
    public const string Target = "first-call p50 ≤ 1.3× (existing-workspace call + minimum backend calls); p99 reported";
    private const int Users = 30;

    public static async Task<BenchRow> RunAsync(BenchContext context)
    {
        var jwt = HyphaTokenFactory.NewSecret();
        await using var world = await OperatorWorld.CreateAsync(context);
        using var minimum = new MinimumProvisioning(context, world.Bucket);
        await minimum.PrepareAsync();
        await using var running = await ProvisioningLatencyBenchmark.RunningOperator.StartAsync(world, context.CancellationToken);
        BenchContext.Progress("#12 starting Hypha (no --enable-s3) and the companion with on-demand provisioning");
        await using var hypha = await HyphaTestServer.StartAsync(new HyphaTestServerOptions { JwtSecret = jwt, Environment = HyphaBenchmarks.Unthrottled }, context.CancellationToken);
        var settings = HyphaBenchmarks.RegistrationSettings(hypha);
        settings["Hypha:JwtSecret"] = jwt;
        settings["Api:PublicBaseUrl"] = "http://127.0.0.1:8080/";
        settings["Api:WorkspaceSource"] = "kubernetes";
        settings["OnDemand:Enabled"] = "true";
        settings["OnDemand:Namespace"] = OperatorWorld.Namespace;
        settings["OnDemand:AllowedWorkspaces:0"] = "ws-user-*";
        settings["OnDemand:Template:BackendRef"] = world.BackendName;
        settings["Logging:LogLevel:Default"] = "Warning";
        var companion = ApiApplication.Build([], builder =>
        {
            builder.WebHost.UseUrls("http://127.0.0.1:0");
            builder.Configuration.AddInMemoryCollection(settings);
            builder.Services.AddSingleton(KubernetesDirectorySources.FromKubernetes(world.DirectClient));
        });
        await companion.StartAsync(context.CancellationToken);
        try
        {
            await HyphaBenchmarks.WaitUntilRegisteredAsync(companion.Services, context.CancellationToken);
            return await MeasureAsync(context, hypha, jwt, minimum);
        }
        finally
        {
            await companion.StopAsync(CancellationToken.None);
            await companion.DisposeAsync();
        }
    }

    private static async Task<BenchRow> MeasureAsync(BenchContext context, HyphaTestServer hypha, string jwt, MinimumProvisioning minimum)
    {
        // Warm-up users, untimed (JIT on both sides of the hop, the backend's first resolution).
        await BatchAsync(context, hypha, jwt, 3);
        await minimum.TimeOneWithCredentialsAsync();

        var perRound = (Users + context.Rounds - 1) / context.Rounds;
        var first = new List<double>();
        var existing = new List<double>();
        var minimumMs = new List<double>();
        var firstSts = new List<double>();
        var secondSts = new List<double>();
        var (firstP50s, minimumP50s) = await SideBySide.RunAsync(context.Rounds,
            async _ =>
            {
                var (f, e) = await BatchAsync(context, hypha, jwt, perRound);
                first.AddRange(f);
                existing.AddRange(e);
                return SideBySide.Median(f);
            },
            async _ =>
            {
                var round = new List<double>();
                for (var i = 0; i < perRound; i++)
                {
                    var (provision, first, second) = await minimum.TimeOneWithCredentialsAsync();
                    round.Add(provision);
                    firstSts.Add(first);
                    secondSts.Add(second);
                }

                minimumMs.AddRange(round);
                return SideBySide.Median(round);
            },
            m => BenchContext.Progress($"#12 first call p50 vs minimum provisioning p50 (ms) {m}"));

        var firstP50 = SideBySide.Percentile(first, 50);
        var existingP50 = SideBySide.Percentile(existing, 50);
        var minimumP50 = SideBySide.Percentile(minimumMs, 50);
        var baseline = existingP50 + minimumP50;
        return new BenchRow("12", "first generate_credential of a brand-new user through Hypha (on-demand)")
        {
            Measured = new Figure(firstP50, "ms p50", firstP50s),
            BaselineName = "same call for an existing workspace + minimum backend calls alone",
            Baseline = new Figure(baseline, "ms p50"),
            Ratio = firstP50 / baseline,
            RatioUnit = "×",
            Target = Target,
            TargetMet = firstP50 <= 1.3 * baseline,
            Extra = new Dictionary<string, Figure>
            {
                ["first-call p99"] = new(SideBySide.Percentile(first, 99), "ms"),
                ["existing-workspace call p50"] = new(existingP50, "ms"),
                ["existing-workspace call p99"] = new(SideBySide.Percentile(existing, 99), "ms"),
                ["minimum backend calls p50"] = new(minimumP50, "ms", minimumP50s),
                ["minimum backend calls p99"] = new(SideBySide.Percentile(minimumMs, 99), "ms"),
                ["diag: STS on a fresh role p50"] = new(SideBySide.Percentile(firstSts, 50), "ms"),
                ["diag: STS again p50"] = new(SideBySide.Percentile(secondSts, 50), "ms"),
                ["first call ÷ existing call"] = new(firstP50 / existingP50, "×"),
                ["users"] = new(first.Count, "new users"),
            },
            Note = "each user: Python hypha_rpc connects with a token Hypha has never seen (ws-user-*), get_service, then times generate_credential " +
                "(no WorkspaceStorage yet: the companion creates one, the operator in process makes it Ready) and a second one at once (the existing-workspace " +
                "call); batches of users alternate with batches of minimum provisionings on the same RGW",
        };
    }

    private static async Task<(List<double> First, List<double> Existing)> BatchAsync(BenchContext context, HyphaTestServer hypha, string jwt, int users)
    {
        var tag = Guid.NewGuid().ToString("N")[..6];
        var tokens = Enumerable.Range(0, users).Select(i => HyphaBenchmarks.NewUserToken(jwt, $"new{tag}-{i}")).ToList();
        var result = await HyphaBenchmarks.RunScriptAsync(context, hypha, "first_call",
            new Dictionary<string, string> { ["BENCH_HYPHA_TOKENS"] = JsonSerializer.Serialize(tokens) }, TimeSpan.FromMinutes(5));
        List<double> Read(string name) => [.. result.GetProperty(name).EnumerateArray().Select(e => e.GetDouble())];
        return (Read("first_ms"), Read("existing_ms"));
    }
}
