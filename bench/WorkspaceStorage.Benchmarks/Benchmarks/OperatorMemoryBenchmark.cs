using System.Diagnostics;
using WorkspaceStorage.Benchmarks.Harness;
using WorkspaceStorage.Testing.Operator;
using WorkspaceStorage.Testing.Streams;

namespace WorkspaceStorage.Benchmarks.Benchmarks;

/// <summary>
/// Row 8: resident memory of the real operator executable (a child process, production defaults) watching a real
/// Kubernetes API server (etcd and tools/kube-apiserver), idle and then with many WorkspaceStorages Ready on the local
/// RGW, beside <see cref="GoInformerBaseline"/> (client-go informers caching the same objects) run at the same time.
/// </summary>
public static class OperatorMemoryBenchmark
{
    public const double IdleTargetMiB = 40;
    public const double ScaleTargetMiB = 100;
    public const double GoRatioTarget = 1.25;
    private const string TargetText = "≤ 1.25× the Go informer floor; idle ≤ 40 MiB; ≤ 100 MiB resident at 10,000";

    public static async Task<BenchRow> RunAsync(BenchContext context)
    {
        var stages = context.ScaleStages.Count > 0 ? context.ScaleStages : [context.ScaleWorkspaces];
        var n = stages[0];
        await using var world = await OperatorWorld.CreateAsync(context);
        var work = Directory.CreateTempSubdirectory("wso-bench-op-");
        var kubeconfig = Path.Combine(work.FullName, "kubeconfig");
        await world.Kube.WriteKubeconfigAsync(kubeconfig);

        // --max-concurrent-reconciles so 10,000 converge in minutes; the environment is for experiments only
        // (--operator-env DOTNET_gcConcurrent=0 …), the committed run uses none.
        await using var floor = GoInformerBaseline.Start(world.DirectKubeconfig, out var floorMissing);
        // WSO_BENCH_OPERATOR: another build of the operator to measure instead (the Native AOT executable).
        var executable = Environment.GetEnvironmentVariable("WSO_BENCH_OPERATOR") is { Length: > 0 } given ? given : null;
        await using var process = OperatorProcess.Start(kubeconfig,
            ["--max-concurrent-reconciles", context.ScaleWorkers.ToString(System.Globalization.CultureInfo.InvariantCulture)], context.OperatorEnvironment, executable);
        try
        {
            // Idle means started, informers synced (the StorageBackend and its admin Secret are there) and ready:
            // /readyz answers 200. Then a short pause so start-up garbage is not counted as the idle footprint.
            var starting = Stopwatch.StartNew();
            await process.WaitUntilReadyAsync(TimeSpan.FromSeconds(60), context.CancellationToken);
            var startup = starting.Elapsed;
            await Task.Delay(TimeSpan.FromSeconds(3), context.CancellationToken);
            var idle = await MemorySampler.MedianResidentBytesAsync(process.Id, TimeSpan.FromSeconds(3), context.CancellationToken);
            BenchContext.Progress($"#8 idle operator (ready after {startup.TotalSeconds:F1} s): {idle / 1048576.0:F1} MiB");
            long? floorIdle = null;
            if (floor is not null)
            {
                await floor.WaitForCountsAsync(0, TimeSpan.FromSeconds(60), context.CancellationToken);
                floorIdle = await MemorySampler.MedianResidentBytesAsync(floor.Id, TimeSpan.FromSeconds(3), context.CancellationToken);
                BenchContext.Progress($"#8 idle Go informer floor: {floorIdle / 1048576.0:F1} MiB");
            }

            using var sampler = new MemorySampler(process.Id, TimeSpan.FromMilliseconds(100));
            var settled = new List<(int Count, long Bytes, TimeSpan Convergence, long? Floor)>();
            var created = 0;
            string? unfinished = null;
            foreach (var count in stages)
            {
                BenchContext.Progress($"#8 creating {count - created} WorkspaceStorages ({count} in all)");
                var watch = Stopwatch.StartNew();
                await world.CreateStoragesAsync(count - created, $"scale{count}", context.CancellationToken);
                created = count;
                var converged = await world.WaitForReadyAsync(count, TimeSpan.FromMinutes(8) * Math.Max(1, (count - settled.LastOrDefault().Count) / 10_000.0),
                    $"#8 scale {count}", context.CancellationToken);
                var convergence = watch.Elapsed;
                if (!converged)
                {
                    var (ready, stalled) = await world.CountReadyAsync();
                    unfinished = $"the {count:N0} stage did not converge: {ready:N0}/{count:N0} Ready ({stalled} Stalled) after {convergence.TotalSeconds:F0} s, " +
                        $"RSS then {MemorySampler.ResidentBytes(process.Id) / 1048576.0:F1} MiB";
                    if (settled.Count == 0)
                    {
                        return BenchRow.Skipped("8", $"operator memory, {count:N0} WorkspaceStorages Ready and watched", TargetText, unfinished);
                    }

                    break; // report the stages that did converge
                }

                // Settled: Ready and watched, nothing left to do.
                await Task.Delay(TimeSpan.FromSeconds(5), context.CancellationToken);
                var bytes = await MemorySampler.MedianResidentBytesAsync(process.Id, TimeSpan.FromSeconds(5), context.CancellationToken);
                long? floorBytes = null;
                if (floor is not null)
                {
                    await floor.WaitForCountsAsync(count, TimeSpan.FromMinutes(2), context.CancellationToken);
                    floorBytes = await MemorySampler.MedianResidentBytesAsync(floor.Id, TimeSpan.FromSeconds(5), context.CancellationToken);
                }

                settled.Add((count, bytes, convergence, floorBytes));
                BenchContext.Progress($"#8 {count} Ready: {bytes / 1048576.0:F1} MiB ({(bytes - idle) / 1024.0 / count:F1} KiB per object over idle)" +
                    (floorBytes is { } f ? $"; Go informer floor {f / 1048576.0:F1} MiB" : ""));
            }

            var first = settled[0];
            var mib = first.Bytes / 1048576.0;
            var idleMiB = idle / 1048576.0;
            var extra = new Dictionary<string, Figure>
            {
                ["peak RSS while converging"] = new(sampler.PeakBytes / 1048576.0, "MiB"),
                [$"convergence of {n:N0}"] = new(first.Convergence.TotalSeconds, "s"),
                ["growth per WorkspaceStorage"] = new((first.Bytes - idle) / 1024.0 / n, "KiB"),
            };
            if (floorIdle is { } fi)
            {
                extra["Go informer floor, idle"] = new(fi / 1048576.0, "MiB");
                extra["operator idle vs Go floor idle"] = new(idle / (double)fi, "×");
            }

            foreach (var (count, bytes, convergence, floorBytes) in settled.Skip(1))
            {
                extra[$"RSS at {count:N0}"] = new(bytes / 1048576.0, "MiB");
                if (floorBytes is { } fb)
                {
                    extra[$"Go informer floor at {count:N0}"] = new(fb / 1048576.0, "MiB");
                    extra[$"operator vs Go floor at {count:N0}"] = new(bytes / (double)fb, "×");
                }

                extra[$"growth per WorkspaceStorage {n:N0}→{count:N0}"] = new((bytes - first.Bytes) / 1024.0 / (count - n), "KiB");
                extra[$"convergence of {count - n:N0} more"] = new(convergence.TotalSeconds, "s");
            }

            // The row is a ratio against the Go floor where the floor ran; otherwise against the idle operator, as before.
            var floorMiB = first.Floor / 1048576.0;
            var ratio = first.Floor is { } floorAtN ? first.Bytes / (double)floorAtN : (double?)null;
            return new BenchRow("8", $"operator memory, {n:N0} WorkspaceStorages Ready and watched")
            {
                Measured = new Figure(mib, "MiB RSS"),
                BaselineName = ratio is null ? "idle operator, /readyz 200" : $"Go informer floor (client-go, the same {n:N0} objects cached)",
                Baseline = new Figure(floorMiB ?? idleMiB, "MiB RSS"),
                Ratio = ratio ?? mib - idleMiB,
                RatioUnit = ratio is null ? " MiB more" : "× the Go floor",
                Target = TargetText,
                TargetMet = ratio <= GoRatioTarget && mib <= ScaleTargetMiB && idleMiB <= IdleTargetMiB,
                Extra = extra,
                Note = (context.OperatorEnvironment.Count == 0 ? "" : $"operator env {string.Join(' ', context.OperatorEnvironment.Select(e => e.Key + "=" + e.Value))}; ") +
                    $"the real executable as a child process ({(executable is null ? "dotnet WorkspaceStorage.Operator.dll" : Path.GetFileName(executable) + " (WSO_BENCH_OPERATOR)")}, --max-concurrent-reconciles {context.ScaleWorkers} so it converges in minutes); " +
                    "idle sampled once /readyz answers 200, each count sampled (median RSS over 5 s) once all are Ready and settled; " +
                    (floorMissing is null ? "the Go floor (tools/informer-baseline) ran beside it on the same API server, sampled once its caches held every object" : "no Go floor: " + floorMissing) +
                    (stages.Count > 1 ? "; one operator, objects added in stages" : "") + (unfinished is null ? "" : "; " + unfinished),
            };
        }
        finally
        {
            await process.KillAsync();
            work.Delete(recursive: true);
        }
    }
}
