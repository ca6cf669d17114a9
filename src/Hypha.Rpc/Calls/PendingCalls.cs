using System.Collections.Concurrent;
using System.Diagnostics;
using System.Security.Cryptography;

namespace Hypha.Rpc.Calls;

/// <summary>
/// This client's own calls that wait for <c>SESSION.resolve</c> / <c>SESSION.reject</c>. A
/// <c>SESSION.heartbeat</c> (or a chunk of the answer) moves the call's deadline forward by its timeout.
/// </summary>
internal sealed class PendingCalls
{
    private readonly ConcurrentDictionary<string, PendingCall> calls = new(StringComparer.Ordinal);

    public int Count => calls.Count;

    /// <summary>A session id: random, without dots (the answer's method is <c>SESSION.resolve</c>).</summary>
    public static string NewSessionId() => Convert.ToHexStringLower(RandomNumberGenerator.GetBytes(12));

    public PendingCall Add(string session, string target, string method, TimeSpan timeout)
    {
        var call = new PendingCall(target, method, timeout);
        if (!calls.TryAdd(session, call))
        {
            throw new InvalidOperationException("session id collision");
        }

        return call;
    }

    public bool TryGet(string session, out PendingCall call) => calls.TryGetValue(session, out call!);

    public void Remove(string session) => calls.TryRemove(session, out _);

    /// <summary>Extends the deadline of the call waiting under <paramref name="session"/>, if any.</summary>
    public bool Touch(string session)
    {
        if (calls.TryGetValue(session, out var call))
        {
            call.Touch();
            return true;
        }

        return false;
    }

    /// <summary>Fails every waiting call (the connection is gone).</summary>
    public void FailAll(Exception error)
    {
        foreach (var session in calls.Keys)
        {
            if (calls.TryRemove(session, out var call))
            {
                call.Completion.TrySetException(error);
            }
        }
    }
}

/// <summary>One waiting call: its target (answers must come from it) and a deadline that heartbeats extend.</summary>
internal sealed class PendingCall(string target, string method, TimeSpan timeout)
{
    private long deadline = Stopwatch.GetTimestamp() + (long)(timeout.TotalSeconds * Stopwatch.Frequency);

    public string Target { get; } = target;

    public string Method { get; } = method;

    public TimeSpan Timeout { get; } = timeout;

    public TaskCompletionSource<object?> Completion { get; } = new(TaskCreationOptions.RunContinuationsAsynchronously);

    public TimeSpan Remaining => Stopwatch.GetElapsedTime(Stopwatch.GetTimestamp(), Volatile.Read(ref deadline));

    public void Touch() => Volatile.Write(ref deadline, Stopwatch.GetTimestamp() + (long)(Timeout.TotalSeconds * Stopwatch.Frequency));

    /// <summary>Waits for the answer; throws <see cref="TimeoutException"/> once the deadline passes without one.</summary>
    public async Task<object?> WaitAsync(CancellationToken cancellationToken)
    {
        while (true)
        {
            var remaining = Remaining;
            if (remaining <= TimeSpan.Zero)
            {
                throw new TimeoutException($"{Method} on {Target} got no answer within {Timeout.TotalSeconds:0.#} s");
            }

            try
            {
                return await Completion.Task.WaitAsync(remaining, cancellationToken);
            }
            catch (TimeoutException)
            {
                // The deadline may have moved (heartbeat); the loop decides.
            }
        }
    }
}
