using System.Collections.Concurrent;

namespace WorkspaceStorage.Storage.Backends;

/// <summary>Told of every call a backend makes, so metrics can count them and tests can assert "no drift, no write".</summary>
public interface IBackendCallObserver
{
    void OnCall(BackendCall call);
}

/// <param name="Operation">Short stable name, e.g. "add-user", "PutUserPolicy"; safe as a metrics label.</param>
/// <param name="Error">Null on success; otherwise the error code or exception type, never a message with data.</param>
public sealed record BackendCall(string BackendType, string Operation, bool IsWrite, TimeSpan Duration, string? Error);

/// <summary>Counts calls in memory. Thread-safe.</summary>
public sealed class BackendCallCounter : IBackendCallObserver
{
    private readonly ConcurrentQueue<BackendCall> calls = new();

    public IReadOnlyList<BackendCall> Calls => [.. calls];

    public int Writes => calls.Count(c => c.IsWrite);

    public int Reads => calls.Count(c => !c.IsWrite);

    public void OnCall(BackendCall call) => calls.Enqueue(call);

    public void Reset() => calls.Clear();
}

/// <summary>Observes nothing.</summary>
public sealed class NullBackendCallObserver : IBackendCallObserver
{
    public static readonly NullBackendCallObserver Instance = new();

    public void OnCall(BackendCall call)
    {
    }
}
