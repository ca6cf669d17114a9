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
        if (StatusField(processId, "VmRSS") is { } bytes)
        {
            return bytes;
        }

        using var process = Process.GetProcessById(processId);
        return process.WorkingSet64;
    }

    /// <summary>Median resident set of a process over <paramref name="length"/>, sampled every 200 ms.</summary>
    public static async Task<long> MedianResidentBytesAsync(int processId, TimeSpan length, CancellationToken cancellationToken)
    {
        var samples = new List<double>();
        var watch = Stopwatch.StartNew();
        while (watch.Elapsed < length)
        {
            samples.Add(ResidentBytes(processId));
            await Task.Delay(200, cancellationToken);
        }

        return (long)SideBySide.Median(samples);
    }

    /// <summary>
    /// Where the resident set is: anonymous (heaps, stacks), file-backed (mapped assemblies and the runtime, shared and
    /// reclaimable) and shared memory (the runtime maps JIT-compiled code twice for W^X). Zeros where /proc is absent.
    /// </summary>
    public static (long Anonymous, long File, long Shared) ResidentBreakdown(int processId) =>
        (StatusField(processId, "RssAnon") ?? 0, StatusField(processId, "RssFile") ?? 0, StatusField(processId, "RssShmem") ?? 0);

    private static long? StatusField(int processId, string field)
    {
        try
        {
            foreach (var line in File.ReadLines($"/proc/{processId}/status"))
            {
                if (line.StartsWith(field, StringComparison.Ordinal) && line.Length > field.Length && line[field.Length] == ':')
                {
                    var kib = long.Parse(line[(field.Length + 1)..].Trim().Split(' ')[0], System.Globalization.CultureInfo.InvariantCulture);
                    return kib * 1024;
                }
            }
        }
        catch (IOException)
        {
        }

        return null;
    }

    public void Dispose()
    {
        stop.Cancel();
        loop.GetAwaiter().GetResult();
        stop.Dispose();
    }
}
