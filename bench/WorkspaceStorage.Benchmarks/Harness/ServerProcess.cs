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
