namespace WorkspaceStorage.Benchmarks.Harness;

/// <summary>
/// RGW frees a deleted object's data only when its garbage collector runs (hours later by default), and the local
/// RGW's memstore holds 1 GiB: after deleting a 256 MiB object, collect at once so the next transfer has room.
/// Needs the test cluster's ceph.conf (WSO_BENCH_RGW_CONF, set by scripts/bench.sh).
/// </summary>
public static class RgwGarbage
{
    public static async Task CollectAsync(CancellationToken cancellationToken)
    {
        var conf = Environment.GetEnvironmentVariable("WSO_BENCH_RGW_CONF");
        if (string.IsNullOrEmpty(conf) || !File.Exists(conf))
        {
            BenchContext.Progress("WSO_BENCH_RGW_CONF unset: deleted objects stay in RGW's memstore until its own GC runs");
            return;
        }

        await ChildProcess.RunAsync("radosgw-admin", ["-c", conf, "-n", "client.admin", "gc", "process", "--include-all"],
            TimeSpan.FromSeconds(60), cancellationToken);
    }
}
