using System.Diagnostics;

namespace WorkspaceStorage.Storage.Tests.Minio.Clients;

/// <summary>What a finished child process left behind.</summary>
internal sealed record ProcessResult(int ExitCode, byte[] Stdout, string Stderr)
{
    public string StdoutText => System.Text.Encoding.UTF8.GetString(Stdout);

    public bool TimedOut { get; init; }
}

/// <summary>Runs a child process with its own environment, stdin bytes and a timeout (the tree is killed after it).</summary>
internal static class ExternalProcess
{
    public static async Task<ProcessResult> RunAsync(string fileName, IReadOnlyList<string> arguments, byte[] stdin,
        IReadOnlyDictionary<string, string>? environment, TimeSpan timeout, string? workingDirectory = null, bool clearEnvironment = false)
    {
        var info = new ProcessStartInfo(fileName)
        {
            RedirectStandardInput = true,
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            UseShellExecute = false,
            WorkingDirectory = workingDirectory ?? Environment.CurrentDirectory,
        };
        foreach (var argument in arguments)
        {
            info.ArgumentList.Add(argument);
        }

        if (clearEnvironment)
        {
            // Only PATH and HOME survive, so that the developer's GOPATH, GOFLAGS or MC_* cannot change the run.
            var keep = info.Environment.Where(e => e.Key is "PATH" or "HOME" or "TMPDIR").ToList();
            info.Environment.Clear();
            foreach (var (key, value) in keep)
            {
                info.Environment[key] = value;
            }
        }

        foreach (var (key, value) in environment ?? new Dictionary<string, string>())
        {
            info.Environment[key] = value;
        }

        using var process = Process.Start(info) ?? throw new InvalidOperationException("could not start " + fileName);
        using var cancel = new CancellationTokenSource(timeout);
        var stdout = new MemoryStream();
        var copyOut = process.StandardOutput.BaseStream.CopyToAsync(stdout, cancel.Token);
        var readErr = process.StandardError.ReadToEndAsync(cancel.Token);
        try
        {
            await process.StandardInput.BaseStream.WriteAsync(stdin, cancel.Token);
            process.StandardInput.Close();
            await process.WaitForExitAsync(cancel.Token);
            await copyOut;
            return new ProcessResult(process.ExitCode, stdout.ToArray(), await readErr);
        }
        catch (OperationCanceledException)
        {
            process.Kill(entireProcessTree: true);
            return new ProcessResult(-1, stdout.ToArray(), $"{Path.GetFileName(fileName)} timed out after {timeout}") { TimedOut = true };
        }
    }

    public static string? FindOnPath(string name) =>
        (Environment.GetEnvironmentVariable("PATH") ?? "").Split(Path.PathSeparator, StringSplitOptions.RemoveEmptyEntries)
            .Select(dir => Path.Combine(dir, name))
            .FirstOrDefault(File.Exists);
}
