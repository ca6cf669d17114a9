using System.Diagnostics;
using System.Text;
using WorkspaceStorage.Testing.Support;

namespace WorkspaceStorage.Benchmarks.Harness;

/// <summary>Runs a tool (wrk, curl) to completion and returns its output; secrets go in the environment or files, never argv.</summary>
public static class ChildProcess
{
    public static async Task<string> RunAsync(string file, IEnumerable<string> args, TimeSpan timeout, CancellationToken cancellationToken,
        IReadOnlyDictionary<string, string>? environment = null)
    {
        var outcome = await ChildProcessRunner.RunAsync(file, args, environment, Environment.CurrentDirectory, timeout, cancellationToken);
        if (outcome.TimedOut)
        {
            throw new TimeoutException($"{Path.GetFileName(file)} did not finish within {timeout}");
        }

        if (outcome.ExitCode != 0)
        {
            throw new InvalidOperationException($"{Path.GetFileName(file)} exited {outcome.ExitCode}: {Truncate(outcome.Error)}");
        }

        return outcome.Output;
    }

    private static string Truncate(string text) => text.Length > 400 ? text[..400] : text;
}

/// <summary>
/// A long-lived Python baseline (bench/baselines/*.py) speaking one JSON line per request on stdin/stdout, so the
/// interpreter's start-up and boto3's import stay out of every timed round.
/// </summary>
public sealed class LineProcess : IDisposable
{
    private readonly Process process;
    private readonly StringBuilder errors = new();

    public LineProcess(string file, IEnumerable<string> args, IReadOnlyDictionary<string, string> environment)
    {
        var start = new ProcessStartInfo(file)
        {
            RedirectStandardInput = true,
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            UseShellExecute = false,
        };
        foreach (var arg in args)
        {
            start.ArgumentList.Add(arg);
        }

        foreach (var (key, value) in environment)
        {
            start.Environment[key] = value;
        }

        process = Process.Start(start) ?? throw new InvalidOperationException($"{file} did not start");
        process.ErrorDataReceived += (_, e) =>
        {
            if (e.Data is not null)
            {
                lock (errors)
                {
                    errors.AppendLine(e.Data);
                }
            }
        };
        process.BeginErrorReadLine();
    }

    public async Task<string> AskAsync(string requestJson, TimeSpan timeout, CancellationToken cancellationToken)
    {
        await process.StandardInput.WriteLineAsync(requestJson.AsMemory(), cancellationToken);
        await process.StandardInput.FlushAsync(cancellationToken);
        using var limit = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
        limit.CancelAfter(timeout);
        var line = await process.StandardOutput.ReadLineAsync(limit.Token);
        if (line is null)
        {
            string why;
            lock (errors)
            {
                why = errors.ToString();
            }

            throw new InvalidOperationException($"baseline script ended: {(why.Length > 600 ? why[^600..] : why)}");
        }

        return line;
    }

    public void Dispose()
    {
        try
        {
            process.StandardInput.Close();
            if (!process.WaitForExit(3000))
            {
                process.Kill();
            }
        }
        catch (InvalidOperationException)
        {
        }

        process.Dispose();
    }
}
