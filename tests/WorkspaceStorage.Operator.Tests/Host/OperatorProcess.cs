using System.Collections.Concurrent;
using System.Diagnostics;
using System.Text.Json;

namespace WorkspaceStorage.Operator.Tests.Host;

/// <summary>The real operator executable (the build output next to the tests) as a child process, its output captured.</summary>
internal sealed class OperatorProcess : IAsyncDisposable
{
    private readonly Process process;
    private readonly ConcurrentQueue<string> stdout = new();
    private readonly ConcurrentQueue<string> stderr = new();

    private OperatorProcess(Process process)
    {
        this.process = process;
        process.OutputDataReceived += (_, e) =>
        {
            if (e.Data is not null)
            {
                stdout.Enqueue(e.Data);
            }
        };
        process.ErrorDataReceived += (_, e) =>
        {
            if (e.Data is not null)
            {
                stderr.Enqueue(e.Data);
            }
        };
        process.BeginOutputReadLine();
        process.BeginErrorReadLine();
    }

    public static string Executable { get; } = Path.Combine(AppContext.BaseDirectory, "WorkspaceStorage.Operator.dll");

    public IReadOnlyList<string> StandardOutput => [.. stdout];

    public string AllOutput => string.Join('\n', stdout.Concat(stderr));

    public bool HasExited => process.HasExited;

    public int ExitCode => process.ExitCode;

    public static OperatorProcess Start(params string[] args)
    {
        var start = new ProcessStartInfo("dotnet")
        {
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            UseShellExecute = false,
        };
        start.ArgumentList.Add(Executable);
        foreach (var arg in args)
        {
            start.ArgumentList.Add(arg);
        }

        return new OperatorProcess(Process.Start(start) ?? throw new InvalidOperationException("dotnet did not start"));
    }

    /// <summary>Waits for the start-up log line and returns the probe listener's address.</summary>
    public async Task<Uri> WaitForProbeAddressAsync(TimeSpan timeout)
    {
        var watch = Stopwatch.StartNew();
        while (watch.Elapsed < timeout)
        {
            foreach (var line in stdout)
            {
                if (!line.StartsWith('{'))
                {
                    continue;
                }

                using var json = JsonDocument.Parse(line);
                if (json.RootElement.TryGetProperty("State", out var state) && state.TryGetProperty("Address", out var address))
                {
                    return new Uri(address.GetString()!);
                }
            }

            if (process.HasExited)
            {
                Assert.Fail($"the operator exited with {process.ExitCode}:\n{AllOutput}");
            }

            await Task.Delay(50, TestContext.Current.CancellationToken);
        }

        Assert.Fail($"no start-up line within {timeout}:\n{AllOutput}");
        return null!;
    }

    public async Task<int> WaitForExitAsync(TimeSpan timeout)
    {
        using var cts = CancellationTokenSource.CreateLinkedTokenSource(TestContext.Current.CancellationToken);
        cts.CancelAfter(timeout);
        await process.WaitForExitAsync(cts.Token);
        process.WaitForExit(); // flushes the redirected output
        return process.ExitCode;
    }

    /// <summary>SIGTERM, as Kubernetes stops a pod; the operator should stop cleanly with exit code 0.</summary>
    public async Task<int> StopAsync()
    {
        if (!process.HasExited)
        {
            using var kill = Process.Start("kill", ["-TERM", process.Id.ToString(System.Globalization.CultureInfo.InvariantCulture)]);
            await kill!.WaitForExitAsync(TestContext.Current.CancellationToken);
        }

        return await WaitForExitAsync(TimeSpan.FromSeconds(30));
    }

    public async ValueTask DisposeAsync()
    {
        if (!process.HasExited)
        {
            process.Kill();
            await process.WaitForExitAsync(CancellationToken.None);
        }

        process.Dispose();
    }
}
