using System.Diagnostics;

namespace WorkspaceStorage.Testing.Streams;

/// <summary>Peak growth since the sampler started.</summary>
public sealed record MemoryPeak(long ManagedGrowth, long WorkingSetGrowth, int Samples);

/// <summary>
/// Samples the managed heap and the working set on a background thread; growth is measured from construction, after a
/// full collection, so streaming tests can assert that a transfer never holds its body.
/// </summary>
public sealed class MemorySampler : IDisposable
{
    private readonly long managedStart = CollectedHeap();
    private readonly long workingSetStart = Environment.WorkingSet;
    private readonly CancellationTokenSource stop = new();
    private readonly Thread thread;
    private long managedPeak;
    private long workingSetPeak;
    private int samples;

    public MemorySampler()
    {
        managedPeak = managedStart;
        workingSetPeak = workingSetStart;
        thread = new Thread(Run) { IsBackground = true, Name = "memory sampler" };
        thread.Start();
    }

    public MemoryPeak Snapshot() =>
        new(Interlocked.Read(ref managedPeak) - managedStart, Interlocked.Read(ref workingSetPeak) - workingSetStart, Volatile.Read(ref samples));

    public void Dispose()
    {
        stop.Cancel();
        thread.Join();
        stop.Dispose();
    }

    private void Run()
    {
        using var process = Process.GetCurrentProcess();
        while (!stop.IsCancellationRequested)
        {
            var managed = GC.GetTotalMemory(false);
            var workingSet = Environment.WorkingSet;
            if (managed > Interlocked.Read(ref managedPeak))
            {
                Interlocked.Exchange(ref managedPeak, managed);
            }

            if (workingSet > Interlocked.Read(ref workingSetPeak))
            {
                Interlocked.Exchange(ref workingSetPeak, workingSet);
            }

            Interlocked.Increment(ref samples);
            stop.Token.WaitHandle.WaitOne(20);
        }
    }

    private static long CollectedHeap()
    {
        GC.Collect();
        GC.WaitForPendingFinalizers();
        return GC.GetTotalMemory(forceFullCollection: true);
    }
}
