using System.Diagnostics;
using System.Globalization;

namespace WorkspaceStorage.Testing.Streams;

/// <summary>Peak growth since the sampler started (managed growth only when sampling this process).</summary>
public sealed record MemoryPeak(long ManagedGrowth, long WorkingSetGrowth, int Samples);

/// <summary>
/// The suite's and the benchmarks' one memory sampler. On a thread of its own (so a starved thread pool does not stop
/// it), every <c>period</c> it reads a process's resident set (VmRSS from /proc; the working set elsewhere) and, for this
/// process, the managed heap, keeping the peaks. Growth is measured from construction, after a full collection, so
/// streaming tests can assert that a transfer never holds its body; the static helpers serve the memory benchmarks.
/// </summary>
public sealed class MemorySampler : IDisposable
{
    private readonly bool own;
    private readonly TimeSpan period;
    private readonly long managedStart;
    private readonly long residentStart;
    private readonly CancellationTokenSource stop = new();
    private readonly Thread thread;
    private long managedPeak;
    private long residentPeak;
    private int samples;

    /// <summary>Samples this process every 20 ms, its managed heap too (growth from a full collection now).</summary>
    public MemorySampler()
        : this(Environment.ProcessId, TimeSpan.FromMilliseconds(20), managed: true)
    {
    }

    /// <summary>Samples the resident set of <paramref name="processId"/> every <paramref name="period"/> (no collection first).</summary>
    public MemorySampler(int processId, TimeSpan period)
        : this(processId, period, managed: false)
    {
    }

    private MemorySampler(int processId, TimeSpan period, bool managed)
    {
        ProcessId = processId;
        this.period = period;
        own = managed;
        managedStart = own ? CollectedHeap() : 0;
        residentStart = ResidentBytes(processId);
        managedPeak = managedStart;
        residentPeak = residentStart;
        thread = new Thread(Run) { IsBackground = true, Name = "memory sampler" };
        thread.Start();
    }

    public int ProcessId { get; }

    /// <summary>The highest resident set seen, in bytes.</summary>
    public long PeakBytes => Interlocked.Read(ref residentPeak);

    public int Samples => Volatile.Read(ref samples);

    public MemoryPeak Snapshot() =>
        new(Interlocked.Read(ref managedPeak) - managedStart, Interlocked.Read(ref residentPeak) - residentStart, Volatile.Read(ref samples));

    public void Dispose()
    {
        stop.Cancel();
        thread.Join();
        stop.Dispose();
    }

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
        var values = new List<long>();
        var watch = Stopwatch.StartNew();
        while (watch.Elapsed < length)
        {
            values.Add(ResidentBytes(processId));
            await Task.Delay(200, cancellationToken); // the sampling period of a measurement (benchmarks only)
        }

        values.Sort();
        return values.Count == 0 ? ResidentBytes(processId)
            : values.Count % 2 == 1 ? values[values.Count / 2]
            : (values[(values.Count / 2) - 1] + values[values.Count / 2]) / 2;
    }

    /// <summary>
    /// Where the resident set is: anonymous (heaps, stacks), file-backed (mapped assemblies and the runtime, shared and
    /// reclaimable) and shared memory (the runtime maps JIT-compiled code twice for W^X). Zeros where /proc is absent.
    /// </summary>
    public static (long Anonymous, long File, long Shared) ResidentBreakdown(int processId) =>
        (StatusField(processId, "RssAnon") ?? 0, StatusField(processId, "RssFile") ?? 0, StatusField(processId, "RssShmem") ?? 0);

    private void Run()
    {
        while (!stop.IsCancellationRequested)
        {
            if (own)
            {
                Raise(ref managedPeak, GC.GetTotalMemory(false));
            }

            try
            {
                Raise(ref residentPeak, ResidentBytes(ProcessId));
            }
            catch (ArgumentException)
            {
                return; // the process is gone
            }

            Interlocked.Increment(ref samples);
            stop.Token.WaitHandle.WaitOne(period);
        }
    }

    private static void Raise(ref long peak, long value)
    {
        if (value > Interlocked.Read(ref peak))
        {
            Interlocked.Exchange(ref peak, value);
        }
    }

    private static long? StatusField(int processId, string field)
    {
        try
        {
            foreach (var line in File.ReadLines($"/proc/{processId}/status"))
            {
                if (line.StartsWith(field, StringComparison.Ordinal) && line.Length > field.Length && line[field.Length] == ':')
                {
                    var kib = long.Parse(line[(field.Length + 1)..].Trim().Split(' ')[0], CultureInfo.InvariantCulture);
                    return kib * 1024;
                }
            }
        }
        catch (IOException)
        {
        }

        return null;
    }

    private static long CollectedHeap()
    {
        GC.Collect();
        GC.WaitForPendingFinalizers();
        return GC.GetTotalMemory(forceFullCollection: true);
    }
}
