using System.Diagnostics;

namespace WorkspaceStorage.Testing.Support;

/// <summary>
/// Runs a program to completion with its output captured, no standard input and a time limit (then the whole process
/// tree is killed and the outcome says so). Secrets go in <c>environment</c>, never in the arguments.
/// </summary>
public static class ChildProcessRunner
{
    /// <summary>The exit code (-1 when killed at the time limit), output and duration; throws only when the caller cancels.</summary>
    public static async Task<ChildProcessOutcome> RunAsync(string file, IEnumerable<string> arguments, IReadOnlyDictionary<string, string>? environment,
        string workingDirectory, TimeSpan timeout, CancellationToken cancellationToken)
    {
        var start = new ProcessStartInfo(file)
        {
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            RedirectStandardInput = true,
            UseShellExecute = false,
            WorkingDirectory = workingDirectory,
        };
        foreach (var argument in arguments)
        {
            start.ArgumentList.Add(argument);
        }

        foreach (var (key, value) in environment ?? new Dictionary<string, string>())
        {
            start.Environment[key] = value;
        }

        var started = Stopwatch.GetTimestamp();
        using var process = Process.Start(start) ?? throw new InvalidOperationException($"cannot start {file}");
        process.StandardInput.Close();
        var output = process.StandardOutput.ReadToEndAsync(CancellationToken.None);
        var error = process.StandardError.ReadToEndAsync(CancellationToken.None);
        using var limit = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
        limit.CancelAfter(timeout);
        try
        {
            await process.WaitForExitAsync(limit.Token);
        }
        catch (OperationCanceledException)
        {
            process.Kill(entireProcessTree: true);
            await process.WaitForExitAsync(CancellationToken.None);
            cancellationToken.ThrowIfCancellationRequested();
            return new ChildProcessOutcome(-1, await output, await error + $"\n(killed after {timeout.TotalSeconds:0} s)", Stopwatch.GetElapsedTime(started))
            {
                TimedOut = true,
            };
        }

        return new ChildProcessOutcome(process.ExitCode, await output, await error, Stopwatch.GetElapsedTime(started));
    }
}

/// <summary>What a finished child process left: exit code (-1: killed at its time limit), output, error output, duration.</summary>
public sealed record ChildProcessOutcome(int ExitCode, string Output, string Error, TimeSpan Duration)
{
    /// <summary>Killed at its time limit.</summary>
    public bool TimedOut { get; init; }
}
