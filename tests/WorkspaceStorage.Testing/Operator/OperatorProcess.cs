using System.Collections.Concurrent;
using System.Diagnostics;
using System.Globalization;
using System.Text.Json;
using WorkspaceStorage.Testing.Support;

namespace WorkspaceStorage.Testing.Operator;

/// <summary>
/// The real operator executable (<c>dotnet WorkspaceStorage.Operator.dll</c>, copied next to the test or bench binaries
/// by their project reference) as a child process, its output captured. It binds its probe port itself
/// (<c>--health-addr 127.0.0.1:0</c>) and names it in its start-up log line, so no port is raced. It can be stopped with
/// SIGTERM (<see cref="StopAsync"/>) as Kubernetes stops a pod, or killed with SIGKILL (<see cref="KillAsync"/>) as a
/// node failure or the OOM killer would, to test what a crash at an arbitrary instant leaves behind.
/// </summary>
public sealed class OperatorProcess : IAsyncDisposable
{
    private const int KeptLines = 2000;
    private readonly Process process;
    private readonly ConcurrentQueue<string> stdout = new();
    private readonly ConcurrentQueue<string> stderr = new();
    private readonly TaskCompletionSource<Uri> probeAddress = new(TaskCreationOptions.RunContinuationsAsynchronously);

    private OperatorProcess(Process process)
    {
        this.process = process;
        process.OutputDataReceived += (_, e) => Keep(stdout, e.Data, lookForAddress: true);
        process.ErrorDataReceived += (_, e) => Keep(stderr, e.Data, lookForAddress: false);
        process.EnableRaisingEvents = true;
        process.Exited += (_, _) => probeAddress.TrySetException(new InvalidOperationException("the operator exited before naming its probe address"));
        process.BeginOutputReadLine();
        process.BeginErrorReadLine();
    }

    public int Id => process.Id;

    public bool HasExited => process.HasExited;

    public int ExitCode => process.ExitCode;

    /// <summary>The lines of standard output so far (the last <see cref="KeptLines"/>).</summary>
    public IReadOnlyList<string> StandardOutput => [.. stdout];

    /// <summary>Standard output, then standard error (the last <see cref="KeptLines"/> of each).</summary>
    public string AllOutput => string.Join('\n', stdout.Concat(stderr));

    /// <summary>The operator's assembly in this program's output folder (present when the project references WorkspaceStorage.Operator).</summary>
    public static string DefaultAssembly => Path.Combine(AppContext.BaseDirectory, "WorkspaceStorage.Operator.dll");

    /// <summary>
    /// Starts the operator on <paramref name="kubeconfigPath"/>, its probes and metrics on a port it picks, and
    /// <paramref name="extraArguments"/> (e.g. <c>--max-concurrent-reconciles 16</c>). Returns at once: the process may
    /// still be starting. <paramref name="environment"/> is for experiments (GC settings); secrets never go in arguments.
    /// </summary>
    public static OperatorProcess Start(string kubeconfigPath, IEnumerable<string>? extraArguments = null,
        IReadOnlyDictionary<string, string>? environment = null, string? assembly = null) =>
        StartWith(["--kubeconfig", kubeconfigPath, "--health-addr", "127.0.0.1:0", .. extraArguments ?? []], environment, assembly);

    /// <summary>Starts the operator with exactly <paramref name="arguments"/> (e.g. bad flags).</summary>
    public static OperatorProcess StartWith(IEnumerable<string> arguments, IReadOnlyDictionary<string, string>? environment = null, string? assembly = null)
    {
        assembly ??= DefaultAssembly;
        if (!File.Exists(assembly))
        {
            throw new FileNotFoundException($"the operator executable is not built next to this program (reference the WorkspaceStorage.Operator project)", assembly);
        }

        // A .dll runs on the shared runtime (the JIT build); anything else is a native executable (the AOT build).
        var jit = assembly.EndsWith(".dll", StringComparison.OrdinalIgnoreCase);
        var start = new ProcessStartInfo(jit ? "dotnet" : assembly)
        {
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            UseShellExecute = false,
        };
        foreach (var (key, value) in environment ?? new Dictionary<string, string>())
        {
            start.Environment[key] = value;
        }

        foreach (var argument in jit ? (string[])[assembly, .. arguments] : [.. arguments])
        {
            start.ArgumentList.Add(argument);
        }

        return new OperatorProcess(Process.Start(start) ?? throw new InvalidOperationException("dotnet did not start"));
    }

    /// <summary>The last lines the process wrote (standard output and error), for failure messages.</summary>
    public string Tail(int count = 40) => string.Join(Environment.NewLine, stdout.Concat(stderr).TakeLast(count));

    /// <summary>Waits for the start-up log line and returns the probe listener's address (from <c>--health-addr</c>).</summary>
    public async Task<Uri> WaitForProbeAddressAsync(TimeSpan timeout, CancellationToken? cancellationToken = null)
    {
        try
        {
            return await probeAddress.Task.WaitAsync(timeout, cancellationToken ?? TestContext.Current.CancellationToken);
        }
        catch (TimeoutException)
        {
            throw new TimeoutException($"no start-up line naming the probe address within {timeout.TotalSeconds:0} s:\n{Tail()}");
        }
        catch (InvalidOperationException)
        {
            process.WaitForExit(); // flushes the redirected output
            throw new InvalidOperationException($"the operator exited with {process.ExitCode} while starting:\n{Tail()}");
        }
    }

    /// <summary>Waits until <c>/readyz</c> answers 200; fails with the output's tail when the process exits or time runs out.</summary>
    public async Task WaitUntilReadyAsync(TimeSpan timeout, CancellationToken cancellationToken)
    {
        var probes = await WaitForProbeAddressAsync(timeout, cancellationToken);
        using var http = new HttpClient(new SocketsHttpHandler { UseProxy = false }) { Timeout = TimeSpan.FromSeconds(2) };
        await Eventually.WaitAsync("the operator's /readyz to answer 200", timeout, async ct =>
        {
            if (process.HasExited)
            {
                Assert.Fail($"the operator exited with {process.ExitCode} while starting:\n{Tail()}"); // fails at once, not at the timeout
            }

            using var response = await http.GetAsync(new Uri(probes, "/readyz"), ct);
            return (response.IsSuccessStatusCode, $"HTTP {(int)response.StatusCode}; output:\n{Tail()}");
        }, cancellationToken);
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
            using var kill = Process.Start("kill", ["-TERM", process.Id.ToString(CultureInfo.InvariantCulture)]);
            await kill!.WaitForExitAsync(TestContext.Current.CancellationToken);
        }

        return await WaitForExitAsync(TimeSpan.FromSeconds(30));
    }

    /// <summary>SIGKILL (no shutdown hooks, no flushing, requests in flight cut), then waits until the process is gone.</summary>
    public async Task KillAsync()
    {
        if (!process.HasExited)
        {
            try
            {
                process.Kill(entireProcessTree: true);
            }
            catch (InvalidOperationException)
            {
                // exited between the check and the kill
            }
        }

        using var limit = new CancellationTokenSource(TimeSpan.FromSeconds(30));
        await process.WaitForExitAsync(limit.Token);
    }

    public async ValueTask DisposeAsync()
    {
        await KillAsync();
        process.Dispose();
    }

    private void Keep(ConcurrentQueue<string> lines, string? line, bool lookForAddress)
    {
        if (line is null)
        {
            return;
        }

        lines.Enqueue(line);
        while (lines.Count > KeptLines)
        {
            lines.TryDequeue(out _);
        }

        if (lookForAddress && !probeAddress.Task.IsCompleted && line.StartsWith('{'))
        {
            try
            {
                using var json = JsonDocument.Parse(line);
                if (json.RootElement.TryGetProperty("State", out var state) && state.TryGetProperty("Address", out var address))
                {
                    probeAddress.TrySetResult(new Uri(address.GetString()!));
                }
            }
            catch (JsonException)
            {
                // a line that only looks like JSON
            }
        }
    }
}
