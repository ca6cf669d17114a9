using System.Diagnostics;

namespace WorkspaceStorage.Benchmarks.Harness;

/// <summary>
/// The API executable (or another program) run as a child process (the operator has <see cref="WorkspaceStorage.Testing.Operator.OperatorProcess"/>) from the benchmark's own
/// output folder, so its memory is measured alone: output is drained and dropped, the process is killed on dispose.
/// </summary>
public sealed class ServerProcess : IAsyncDisposable
{
    private readonly Process process;

    private ServerProcess(Process process) => this.process = process;

    public int Id => process.Id;

    public bool HasExited => process.HasExited;

    public int ExitCode => process.ExitCode;

    /// <param name="assembly">For example <c>WorkspaceStorage.Api.dll</c>, next to the benchmark's own assembly.</param>
    /// <param name="environment">Secrets go here, never in <paramref name="args"/>.</param>
    public static ServerProcess Start(string assembly, IEnumerable<string> args, IReadOnlyDictionary<string, string> environment) =>
        StartProgram("dotnet", [Path.Combine(AppContext.BaseDirectory, assembly), .. args], environment);

    /// <summary>
    /// The companion API: <c>dotnet WorkspaceStorage.Api.dll</c> (the JIT build beside the benchmark), or
    /// <paramref name="executable"/> when given (a Native AOT publish, from <c>WSO_BENCH_API</c>).
    /// </summary>
    public static ServerProcess StartApi(string? executable, IReadOnlyDictionary<string, string> environment) =>
        executable is null ? Start("WorkspaceStorage.Api.dll", [], environment) : StartProgram(executable, [], environment);

    /// <summary><c>WSO_BENCH_API</c>: another build of the API to measure (the Native AOT executable), or null.</summary>
    public static string? ApiExecutableFromEnvironment() =>
        Environment.GetEnvironmentVariable("WSO_BENCH_API") is { Length: > 0 } given ? given : null;

    /// <summary>Any executable (the Go baseline of row 8), the same way.</summary>
    public static ServerProcess StartProgram(string file, IEnumerable<string> args, IReadOnlyDictionary<string, string> environment)
    {
        var start = new ProcessStartInfo(file)
        {
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

        var process = Process.Start(start) ?? throw new InvalidOperationException($"{file} did not start");
        process.OutputDataReceived += (_, _) => { };
        process.ErrorDataReceived += (_, _) => { };
        process.BeginOutputReadLine();
        process.BeginErrorReadLine();
        return new ServerProcess(process);
    }

    /// <summary>
    /// Polls <c>/readyz</c> on <paramref name="http"/>'s base address every 10 ms (fine enough to time a start-up) until it
    /// answers 200; fails at once when the process exits, and after 60 s.
    /// </summary>
    public async Task WaitUntilReadyAsync(HttpClient http, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(http);
        var watch = Stopwatch.StartNew();
        while (watch.Elapsed < TimeSpan.FromSeconds(60))
        {
            if (HasExited)
            {
                throw new InvalidOperationException($"the API exited with {ExitCode}");
            }

            try
            {
                using var ready = await http.GetAsync("/readyz", cancellationToken);
                if (ready.IsSuccessStatusCode)
                {
                    return;
                }
            }
            catch (HttpRequestException)
            {
                // not listening yet
            }

            await Task.Delay(10, cancellationToken);
        }

        throw new TimeoutException("the API's /readyz did not answer 200 within 60 s");
    }

    public async ValueTask DisposeAsync()
    {
        if (!process.HasExited)
        {
            process.Kill(entireProcessTree: true);
            await process.WaitForExitAsync(CancellationToken.None);
        }

        process.Dispose();
    }
}
