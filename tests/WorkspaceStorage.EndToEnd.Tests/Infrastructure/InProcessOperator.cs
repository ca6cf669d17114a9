using Microsoft.Extensions.Logging;
using WorkspaceStorage.Operator.Hosting;
using WorkspaceStorage.Testing.Support;

namespace WorkspaceStorage.EndToEnd.Tests.Infrastructure;

/// <summary>
/// The operator executable's entry point (<see cref="OperatorApplication"/>) run in this process against a
/// kubeconfig, out of cluster, as `make run` does: same flag parsing, controllers, probes and Kubernetes client.
/// </summary>
internal sealed class InProcessOperator : IAsyncDisposable
{
    private static readonly TimeSpan StartTimeout = TimeSpan.FromSeconds(90);
    private static readonly TimeSpan StopTimeout = TimeSpan.FromSeconds(30);

    private readonly CancellationTokenSource stopping;
    private readonly Task<int> run;

    private InProcessOperator(OperatorApplication application, CancellationTokenSource stopping, Task<int> run, LogCapture logs)
    {
        Application = application;
        this.stopping = stopping;
        this.run = run;
        Logs = logs;
    }

    public OperatorApplication Application { get; }

    public LogCapture Logs { get; }

    /// <summary>Whether the operator still runs (it should until the suite ends; stopping on its own is a failure).</summary>
    public bool IsRunning => !run.IsCompleted;

    public static async Task<InProcessOperator> StartAsync(string kubeconfigPath, CancellationToken cancellationToken, params string[] extraArgs)
    {
        var logs = new LogCapture();
        var application = new OperatorApplication(new OperatorEnvironment
        {
            ConfigureLogging = logging => logging.AddProvider(logs),
        });

        // A short resync so drift made outside Kubernetes is found within the tests' waits.
        string[] defaults = extraArgs.Contains("--max-concurrent-reconciles") ? [] : ["--max-concurrent-reconciles", "4"];
        string[] args = ["--kubeconfig", kubeconfigPath, "--health-addr", "127.0.0.1:0", "--resync-period", "20s", .. defaults, .. extraArgs];
        var stopping = new CancellationTokenSource();
        var run = Task.Run(() => application.RunAsync(args, stopping.Token), CancellationToken.None);
        var started = new InProcessOperator(application, stopping, run, logs);
        try
        {
            await started.WaitUntilReadyAsync(cancellationToken);
        }
        catch
        {
            await started.DisposeAsync();
            throw;
        }

        return started;
    }

    public async ValueTask DisposeAsync()
    {
        await stopping.CancelAsync();
        try
        {
            await run.WaitAsync(StopTimeout);
        }
        catch (TimeoutException)
        {
            throw new TimeoutException($"The in-process operator did not stop within {StopTimeout.TotalSeconds:0}s. Its last log lines:\n{Logs.Tail(40)}");
        }

        stopping.Dispose();
    }

    private async Task WaitUntilReadyAsync(CancellationToken cancellationToken)
    {
        using var http = new HttpClient(new SocketsHttpHandler { UseProxy = false }) { Timeout = TimeSpan.FromSeconds(5) };
        Uri probes;
        try
        {
            probes = await Application.Listening.WaitAsync(StartTimeout, cancellationToken);
        }
        catch (Exception error) when (error is TimeoutException or TaskCanceledException && !cancellationToken.IsCancellationRequested)
        {
            throw new InvalidOperationException($"The in-process operator never listened for probes ({error.GetType().Name}). Its last log lines:\n{Logs.Tail(40)}", error);
        }

        await Eventually.WaitAsync("the in-process operator's /readyz to answer 200", StartTimeout, async ct =>
        {
            if (run.IsCompleted)
            {
                Assert.Fail($"The operator stopped during start-up (exit code {(run.IsCompletedSuccessfully ? run.Result : -1)}). Its last log lines:\n{Logs.Tail(40)}");
            }

            using var response = await http.GetAsync(new Uri(probes, "/readyz"), ct);
            return (response.IsSuccessStatusCode, $"HTTP {(int)response.StatusCode}: {await response.Content.ReadAsStringAsync(ct)}");
        }, cancellationToken);
    }
}
