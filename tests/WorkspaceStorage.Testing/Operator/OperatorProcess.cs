using System.Diagnostics;
using System.Globalization;
using WorkspaceStorage.Testing.Support;

namespace WorkspaceStorage.Testing.Operator;

/// <summary>
/// The real operator executable (<c>dotnet WorkspaceStorage.Operator.dll</c>, copied next to the test or bench binaries
/// by their project reference) as a child process against a kubeconfig, with its own metrics and health ports. It can be
/// killed with SIGKILL (<see cref="KillAsync"/>) as a node failure or the OOM killer would, to test what a crash at an
/// arbitrary instant leaves behind. The last lines of its output are kept for failure messages.
/// </summary>
public sealed class OperatorProcess : IAsyncDisposable
{
    private const int KeptLines = 200;
    private readonly Process process;
    private readonly Queue<string> tail = new();

    private OperatorProcess(Process process, int healthPort)
    {
        this.process = process;
        HealthPort = healthPort;
        process.OutputDataReceived += (_, e) => Keep(e.Data);
        process.ErrorDataReceived += (_, e) => Keep(e.Data);
        process.BeginOutputReadLine();
        process.BeginErrorReadLine();
    }

    public int Id => process.Id;

    public int HealthPort { get; }

    public bool HasExited => process.HasExited;

    /// <summary>The operator's assembly in this program's output folder (present when the project references WorkspaceStorage.Operator).</summary>
    public static string DefaultAssembly => Path.Combine(AppContext.BaseDirectory, "WorkspaceStorage.Operator.dll");

    /// <summary>
    /// Starts the operator on <paramref name="kubeconfigPath"/> with free metrics and health ports and
    /// <paramref name="extraArguments"/> (e.g. <c>--max-concurrent-reconciles 16</c>). Returns at once: the process may
    /// still be starting. <paramref name="environment"/> is for experiments (GC settings); secrets never go in arguments.
    /// </summary>
    public static OperatorProcess Start(string kubeconfigPath, IEnumerable<string>? extraArguments = null,
        IReadOnlyDictionary<string, string>? environment = null, string? assembly = null)
    {
        assembly ??= DefaultAssembly;
        if (!File.Exists(assembly))
        {
            throw new FileNotFoundException($"the operator executable is not built next to this program (reference the WorkspaceStorage.Operator project)", assembly);
        }

        var metricsPort = FreeTcpPort.Next();
        var healthPort = FreeTcpPort.Next();
        var start = new ProcessStartInfo("dotnet")
        {
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            UseShellExecute = false,
        };
        foreach (var (key, value) in environment ?? new Dictionary<string, string>())
        {
            start.Environment[key] = value;
        }

        foreach (var argument in (string[])[assembly, "--kubeconfig", kubeconfigPath,
                     "--metrics-port", metricsPort.ToString(CultureInfo.InvariantCulture),
                     "--health-port", healthPort.ToString(CultureInfo.InvariantCulture), .. extraArguments ?? []])
        {
            start.ArgumentList.Add(argument);
        }

        var process = Process.Start(start) ?? throw new InvalidOperationException("dotnet did not start");
        return new OperatorProcess(process, healthPort);
    }

    /// <summary>The last lines the process wrote (standard output and error), for failure messages.</summary>
    public string Tail(int count = 40)
    {
        lock (tail)
        {
            return string.Join(Environment.NewLine, tail.TakeLast(count));
        }
    }

    /// <summary>Waits until <c>/readyz</c> on the health port answers 200; fails with the output's tail when the process exits or time runs out.</summary>
    public async Task WaitUntilReadyAsync(TimeSpan timeout, CancellationToken cancellationToken)
    {
        using var http = new HttpClient(new SocketsHttpHandler { UseProxy = false }) { Timeout = TimeSpan.FromSeconds(2) };
        var watch = Stopwatch.StartNew();
        var seen = "no answer yet";
        while (watch.Elapsed < timeout)
        {
            if (process.HasExited)
            {
                throw new InvalidOperationException($"the operator exited with {process.ExitCode} while starting:\n{Tail()}");
            }

            try
            {
                using var response = await http.GetAsync(new Uri($"http://127.0.0.1:{HealthPort}/readyz"), cancellationToken);
                if (response.IsSuccessStatusCode)
                {
                    return;
                }

                seen = $"HTTP {(int)response.StatusCode}";
            }
            catch (Exception error) when (error is HttpRequestException or TaskCanceledException && !cancellationToken.IsCancellationRequested)
            {
                seen = error.GetType().Name;
            }

            await Task.Delay(100, cancellationToken);
        }

        throw new TimeoutException($"the operator's /readyz did not answer 200 within {timeout.TotalSeconds:0} s (last: {seen}):\n{Tail()}");
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

    private void Keep(string? line)
    {
        if (line is null)
        {
            return;
        }

        lock (tail)
        {
            tail.Enqueue(line);
            while (tail.Count > KeptLines)
            {
                tail.Dequeue();
            }
        }
    }
}
