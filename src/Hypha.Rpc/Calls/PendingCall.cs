using System.Diagnostics;

namespace Hypha.Rpc.Calls;

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
