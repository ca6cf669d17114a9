using System.Diagnostics;

namespace WorkspaceStorage.Benchmarks.Harness;

/// <summary>Samples a process's resident set (VmRSS) every <c>period</c> and keeps the peak.</summary>
public sealed class MemorySampler : IDisposable
{
    private readonly CancellationTokenSource stop = new();
    private readonly Task loop;
    private long peak;
    private long samples;

    public MemorySampler(int processId, TimeSpan period)
    {
        ProcessId = processId;
        peak = ResidentBytes(processId);
        loop = Task.Run(async () =>
        {
            using var timer = new PeriodicTimer(period);
            try
            {
                while (await timer.WaitForNextTickAsync(stop.Token))
                {
                    var now = ResidentBytes(processId);
                    Interlocked.Increment(ref samples);
                    if (now > Interlocked.Read(ref peak))
                    {
                        Interlocked.Exchange(ref peak, now);
                    }
                }
            }
            catch (OperationCanceledException)
            {
            }
        });
    }

    public int ProcessId { get; }

    public long PeakBytes => Interlocked.Read(ref peak);

    public long Samples => Interlocked.Read(ref samples);

    /// <summary>VmRSS from /proc (what the kernel charges the process), in bytes; Process.WorkingSet64 elsewhere.</summary>
    public static long ResidentBytes(int processId)
    {
        try
        {
            foreach (var line in File.ReadLines($"/proc/{processId}/status"))
            {
                if (line.StartsWith("VmRSS:", StringComparison.Ordinal))
                {
                    var kib = long.Parse(line["VmRSS:".Length..].Trim().Split(' ')[0], System.Globalization.CultureInfo.InvariantCulture);
                    return kib * 1024;
                }
            }
        }
        catch (IOException)
        {
        }

        using var process = Process.GetProcessById(processId);
        return process.WorkingSet64;
    }

    public void Dispose()
    {
        stop.Cancel();
        loop.GetAwaiter().GetResult();
        stop.Dispose();
    }
}
