using System.Diagnostics;
using System.Net;
using System.Net.Sockets;
using WorkspaceStorage.Benchmarks.Harness;

namespace WorkspaceStorage.Benchmarks.Benchmarks;

/// <summary>
/// Row 8: resident memory of the real operator executable (a child process, production defaults) watching the
/// in-process Kubernetes test API server, idle and then with many WorkspaceStorages Ready on the local RGW.
/// </summary>
public static class OperatorMemoryBenchmark
{
    public static async Task<BenchRow> RunAsync(BenchContext context)
    {
        var n = context.ScaleWorkspaces;
        await using var world = await OperatorWorld.CreateAsync(context);
        var work = Directory.CreateTempSubdirectory("wso-bench-op-");
        var kubeconfig = Path.Combine(work.FullName, "kubeconfig");
        await File.WriteAllTextAsync(kubeconfig, world.Kube.KubeconfigYaml(), context.CancellationToken);

        using var process = StartOperator(kubeconfig, FreePort(), FreePort(), context.ScaleWorkers, context.OperatorEnvironment);
        try
        {
            await Task.Delay(TimeSpan.FromSeconds(4), context.CancellationToken);
            if (process.HasExited)
            {
                throw new InvalidOperationException($"the operator exited with {process.ExitCode}");
            }

            var idle = await SampleAsync(process.Id, TimeSpan.FromSeconds(3));
            BenchContext.Progress($"#8 idle operator: {idle / 1048576.0:F1} MiB; creating {n} WorkspaceStorages");
            using var sampler = new MemorySampler(process.Id, TimeSpan.FromMilliseconds(100));
            var watch = Stopwatch.StartNew();
            world.CreateStorages(n, "scale");
            var converged = await world.WaitForReadyAsync(n, TimeSpan.FromMinutes(8), "#8 scale", context.CancellationToken);
            var convergence = watch.Elapsed;
            if (!converged)
            {
                var (ready, stalled) = world.CountReady();
                return BenchRow.Skipped("8", $"operator memory, {n} WorkspaceStorages Ready and watched", "< 200 MiB resident",
                    $"only {ready}/{n} Ready ({stalled} Stalled) after {convergence.TotalSeconds:F0} s");
            }

            // Settled: Ready and watched, nothing left to do.
            await Task.Delay(TimeSpan.FromSeconds(5), context.CancellationToken);
            var settled = await SampleAsync(process.Id, TimeSpan.FromSeconds(5));
            var mib = settled / 1048576.0;
            return new BenchRow("8", $"operator memory, {n:N0} WorkspaceStorages Ready and watched")
            {
                Measured = new Figure(mib, "MiB RSS"),
                BaselineName = "idle operator",
                Baseline = new Figure(idle / 1048576.0, "MiB RSS"),
                Ratio = mib - idle / 1048576.0,
                RatioUnit = " MiB more",
                Target = "< 200 MiB resident",
                TargetMet = mib < 200,
                Extra = new Dictionary<string, Figure>
                {
                    ["peak RSS while converging"] = new(sampler.PeakBytes / 1048576.0, "MiB"),
                    ["convergence"] = new(convergence.TotalSeconds, "s"),
                    ["growth per WorkspaceStorage"] = new((settled - idle) / 1024.0 / n, "KiB"),
                },
                Note = (context.OperatorEnvironment.Count == 0 ? "" : $"operator env {string.Join(' ', context.OperatorEnvironment.Select(e => e.Key + "=" + e.Value))}; ") +
                    $"the real executable as a child process (dotnet WorkspaceStorage.Operator.dll, --max-concurrent-reconciles {context.ScaleWorkers} so it converges in minutes), median RSS over 5 s once settled",
            };
        }
        finally
        {
            if (!process.HasExited)
            {
                process.Kill(entireProcessTree: true);
                await process.WaitForExitAsync(CancellationToken.None);
            }

            work.Delete(recursive: true);
        }
    }

    private static Process StartOperator(string kubeconfig, int metricsPort, int healthPort, int workers, IReadOnlyDictionary<string, string> environment)
    {
        var start = new ProcessStartInfo("dotnet")
        {
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            UseShellExecute = false,
        };
        foreach (var (key, value) in environment)
        {
            start.Environment[key] = value; // experiments only (--operator-env DOTNET_gcConcurrent=0 …); the committed run uses none
        }

        foreach (var arg in new[] { Path.Combine(AppContext.BaseDirectory, "WorkspaceStorage.Operator.dll"), "--kubeconfig", kubeconfig,
                     "--metrics-port", metricsPort.ToString(System.Globalization.CultureInfo.InvariantCulture),
                     "--health-port", healthPort.ToString(System.Globalization.CultureInfo.InvariantCulture),
                     "--max-concurrent-reconciles", workers.ToString(System.Globalization.CultureInfo.InvariantCulture) })
        {
            start.ArgumentList.Add(arg);
        }

        var process = Process.Start(start) ?? throw new InvalidOperationException("dotnet did not start");
        process.OutputDataReceived += (_, _) => { };
        process.ErrorDataReceived += (_, _) => { };
        process.BeginOutputReadLine();
        process.BeginErrorReadLine();
        return process;
    }

    private static async Task<long> SampleAsync(int processId, TimeSpan length)
    {
        var samples = new List<double>();
        var watch = Stopwatch.StartNew();
        while (watch.Elapsed < length)
        {
            samples.Add(MemorySampler.ResidentBytes(processId));
            await Task.Delay(200);
        }

        return (long)SideBySide.Median(samples);
    }

    private static int FreePort()
    {
        using var listener = new TcpListener(IPAddress.Loopback, 0);
        listener.Start();
        return ((IPEndPoint)listener.LocalEndpoint).Port;
    }
}
