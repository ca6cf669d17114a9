using System.Globalization;
using WorkspaceStorage.Benchmarks.Benchmarks;
using WorkspaceStorage.Benchmarks.Harness;
using WorkspaceStorage.Core.Signing;

// make bench → scripts/bench.sh → this program. Prints a table of figures beside their baselines (stdout) and
// writes the same as JSON. A missed target is reported, never turned into a failure: these are measurements.
var options = BenchOptions.Parse(args);
if (options is null)
{
    Console.Error.WriteLine("usage: WorkspaceStorage.Benchmarks [--only 1,2,…] [--rounds N] [--workspaces N] [--scale-workspaces N[,N2…]] [--scale-workers N] [--baseline-sample N] [--results DIR] [--baselines DIR]");
    return 2;
}

var endpoint = Environment.GetEnvironmentVariable("WSO_TEST_S3_ENDPOINT");
var accessKey = Environment.GetEnvironmentVariable("WSO_TEST_S3_ADMIN_ACCESS_KEY");
var secretKey = Environment.GetEnvironmentVariable("WSO_TEST_S3_ADMIN_SECRET_KEY");
if (string.IsNullOrEmpty(endpoint) || string.IsNullOrEmpty(accessKey) || string.IsNullOrEmpty(secretKey))
{
    Console.Error.WriteLine("WSO_TEST_S3_* unset: start the local RGW (scripts/bench.sh does) and export scripts/s3-test-server.sh env");
    return 2;
}

using var cancel = new CancellationTokenSource();
Console.CancelKeyPress += (_, e) =>
{
    e.Cancel = true;
    cancel.Cancel();
};

var context = new BenchContext(new Uri(endpoint), Environment.GetEnvironmentVariable("WSO_TEST_S3_REGION") ?? "us-east-1",
    new AwsCredentials(accessKey, secretKey), options.Rounds, options.BaselinesDirectory, options.Workspaces, options.ScaleWorkspaces, options.ScaleWorkers, options.BaselineSample, cancel.Token)
{
    OperatorEnvironment = options.OperatorEnvironment,
    ScaleStages = options.ScaleStages,
    Selected = options.Selected,
};
var machine = MachineInfo.Describe(options.Rounds, endpoint);
var rows = new List<BenchRow>();

async Task Section(int[] ids, string what, Func<Task<IReadOnlyList<BenchRow>>> run)
{
    if (!ids.Any(options.Selected))
    {
        return;
    }

    BenchContext.Progress($"== {what}");
    try
    {
        rows.AddRange((await run()).Where(r => options.Selected(int.Parse(r.Id, CultureInfo.InvariantCulture))));
    }
    catch (Exception ex) when (ex is not OperationCanceledException)
    {
        BenchContext.Progress($"{what} failed: {ex}");
        rows.AddRange(ids.Where(options.Selected).Select(id =>
            BenchRow.Skipped(id.ToString(CultureInfo.InvariantCulture), what, "see issue", $"failed: {ex.GetType().Name}: {ex.Message}")));
    }
}

await Section([1], "presign in process", async () => [await PresignBenchmark.RunAsync(context)]);
await Section([2, 3, 4, 5, 9, 17], "API over HTTP", () => ApiBenchmarks.RunAsync(context));
await Section([6, 7], "operator: cold convergence and resync", () => OperatorBenchmarks.RunAsync(context));
await Section([8], "operator memory at scale", async () => [await OperatorMemoryBenchmark.RunAsync(context)]);
await Section([10, 12], "through Hypha: calls and first-call latency", () => HyphaBenchmarks.RunAsync(context));
await Section([11], "create-to-Ready latency", () => ProvisioningLatencyBenchmark.RunAsync(context));
await Section([13], "companion API memory at scale", async () => [await ApiMemoryBenchmark.RunAsync(context)]);
await Section([16], "companion API: Native AOT vs JIT", async () => [await ApiBuildBenchmark.RunAsync(context)]);
await Section([14, 15], "operator on the aws backend (moto): cold convergence and resync", async () =>
{
    var motoEndpoint = Environment.GetEnvironmentVariable("WSO_TEST_MOTO_ENDPOINT");
    var motoKey = Environment.GetEnvironmentVariable("WSO_TEST_MOTO_ADMIN_ACCESS_KEY");
    var motoSecret = Environment.GetEnvironmentVariable("WSO_TEST_MOTO_ADMIN_SECRET_KEY");
    if (string.IsNullOrEmpty(motoEndpoint) || string.IsNullOrEmpty(motoKey) || string.IsNullOrEmpty(motoSecret))
    {
        return
        [
            BenchRow.Skipped("14", "cold convergence, aws backend on moto", "calls/workspace ≤ minimum + 1", "moto not started (WSO_TEST_MOTO_* unset; scripts/bench.sh starts it)"),
            BenchRow.Skipped("15", "full resync, aws backend on moto", "0 backend writes, 0 Secret writes", "moto not started"),
        ];
    }

    var aws = context with
    {
        RgwEndpoint = new Uri(motoEndpoint),
        Region = Environment.GetEnvironmentVariable("WSO_TEST_MOTO_REGION") ?? "us-east-1",
        Admin = new AwsCredentials(motoKey, motoSecret),
        BackendType = WorkspaceStorage.Core.Model.StorageBackendType.Aws,
    };
    return await OperatorBenchmarks.RunAsync(aws, ("14", "15", " (aws backend, moto 5.1.1)"));
});

rows.Sort((a, b) => int.Parse(a.Id, CultureInfo.InvariantCulture).CompareTo(int.Parse(b.Id, CultureInfo.InvariantCulture)));
Console.WriteLine();
Console.WriteLine($"Machine: {machine.Cpu}, {machine.Cores} cores, {machine.MemoryMiB:N0} MiB, {machine.Os}, {machine.Runtime}; median of {machine.Rounds} alternating rounds");
Console.WriteLine();
Console.Write(ResultWriter.Table(rows));
var path = await ResultWriter.WriteJsonAsync(options.ResultsDirectory, machine, rows, CancellationToken.None);
Console.WriteLine();
Console.WriteLine($"JSON: {path} (its rows merged into {Path.Combine(options.ResultsDirectory, "latest.json")})");
return 0;

internal sealed record BenchOptions(HashSet<int>? Only, int Rounds, int Workspaces, int ScaleWorkspaces, int ScaleWorkers, int BaselineSample,
    string ResultsDirectory, string BaselinesDirectory)
{
    public Dictionary<string, string> OperatorEnvironment { get; } = [];

    /// <summary>Row 8's object counts, ascending (<c>--scale-workspaces 10000,30000</c>); the first is <see cref="ScaleWorkspaces"/>.</summary>
    public IReadOnlyList<int> ScaleStages { get; private init; } = [];

    public bool Selected(int id) => Only is null || Only.Contains(id);

    public static BenchOptions? Parse(string[] args)
    {
        HashSet<int>? only = null;
        var operatorEnvironment = new Dictionary<string, string>();
        int rounds = 5, workspaces = 1000, scaleWorkers = 32, sample = 100;
        List<int> scale = [10_000];
        string results = "bench/results", baselines = "bench/baselines";
        for (var i = 0; i < args.Length; i++)
        {
            var value = i + 1 < args.Length ? args[i + 1] : null;
            switch (args[i])
            {
                case "--only" when value is not null:
                    only = [.. value.Split(',').Select(s => int.Parse(s, CultureInfo.InvariantCulture))];
                    break;
                case "--rounds" when value is not null:
                    rounds = int.Parse(value, CultureInfo.InvariantCulture);
                    break;
                case "--workspaces" when value is not null:
                    workspaces = int.Parse(value, CultureInfo.InvariantCulture);
                    break;
                case "--scale-workspaces" when value is not null:
                    scale = [.. value.Split(',').Select(s => int.Parse(s, CultureInfo.InvariantCulture))];
                    break;
                case "--scale-workers" when value is not null:
                    scaleWorkers = int.Parse(value, CultureInfo.InvariantCulture);
                    break;
                case "--baseline-sample" when value is not null:
                    sample = int.Parse(value, CultureInfo.InvariantCulture);
                    break;
                case "--operator-env" when value is not null && value.Contains('='):
                    operatorEnvironment[value[..value.IndexOf('=')]] = value[(value.IndexOf('=') + 1)..];
                    break;
                case "--results" when value is not null:
                    results = value;
                    break;
                case "--baselines" when value is not null:
                    baselines = value;
                    break;
                default:
                    return null;
            }

            i++;
        }

        var ascending = scale.Zip(scale.Skip(1)).All(pair => pair.First < pair.Second);
        return rounds < 1 || workspaces < 1 || scale.Count == 0 || scale[0] < 1 || !ascending || scaleWorkers < 1 || sample < 1
            ? null
            : WithEnvironment(new BenchOptions(only, rounds, workspaces, scale[0], scaleWorkers, Math.Min(sample, workspaces), results, baselines) { ScaleStages = scale },
                operatorEnvironment);
    }

    private static BenchOptions WithEnvironment(BenchOptions options, Dictionary<string, string> environment)
    {
        foreach (var (key, value) in environment)
        {
            options.OperatorEnvironment[key] = value;
        }

        return options;
    }
}
