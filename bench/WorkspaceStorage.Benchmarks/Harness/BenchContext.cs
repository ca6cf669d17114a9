using WorkspaceStorage.Core.Signing;

namespace WorkspaceStorage.Benchmarks.Harness;

/// <summary>What every benchmark needs: the local RGW, the number of rounds, where the baselines live, and a progress line.</summary>
public sealed record BenchContext(Uri RgwEndpoint, string Region, AwsCredentials Admin, int Rounds, string BaselinesDirectory,
    int Workspaces, int ScaleWorkspaces, int ScaleWorkers, int BaselineSample, CancellationToken CancellationToken)
{
    /// <summary>Extra environment of the operator child process in row 8 (GC experiments); empty in the committed run.</summary>
    public IReadOnlyDictionary<string, string> OperatorEnvironment { get; init; } = new Dictionary<string, string>();

    /// <summary>The backend type at <see cref="RgwEndpoint"/>: ceph-rgw (the local RGW), or aws (moto, rows 14 and 15).</summary>
    public Core.Model.StorageBackendType BackendType { get; init; } = Core.Model.StorageBackendType.CephRgw;

    /// <summary>Row 8's object counts in ascending stages (one operator, more objects added per stage); default
    /// [<see cref="ScaleWorkspaces"/>].</summary>
    public IReadOnlyList<int> ScaleStages { get; init; } = [];

    /// <summary>Whether <c>--only</c> asked for a row; sections that measure several rows skip the others.</summary>
    public Func<int, bool> Selected { get; init; } = _ => true;

    public const string Python = "/usr/bin/python3";

    public static void Progress(string message) =>
        Console.Error.WriteLine($"[{DateTime.UtcNow:HH:mm:ss}] {message}");

    /// <summary>The environment a Python baseline sees: endpoint and the admin key (never on its command line).</summary>
    public Dictionary<string, string> PythonEnvironment() => new()
    {
        ["BENCH_S3_ENDPOINT"] = RgwEndpoint.ToString().TrimEnd('/'),
        ["BENCH_S3_REGION"] = Region,
        ["AWS_ACCESS_KEY_ID"] = Admin.AccessKeyId,
        ["AWS_SECRET_ACCESS_KEY"] = Admin.SecretAccessKey,
        ["AWS_EC2_METADATA_DISABLED"] = "true",
        ["NO_PROXY"] = "*",
    };

    public string Baseline(string file) => Path.Combine(BaselinesDirectory, file);
}
