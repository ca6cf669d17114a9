using WorkspaceStorage.Operator.Reconciliation;
using System.Net;
using k8s;
using Microsoft.Extensions.Logging;
using WorkspaceStorage.Kubernetes.Runtime;

namespace WorkspaceStorage.Operator.Hosting;

/// <summary>What the process gets from outside: environment, console, file reads, extra log sinks (tests).</summary>
public sealed record OperatorEnvironment
{
    public Func<string, string?> GetEnvironmentVariable { get; init; } = Environment.GetEnvironmentVariable;

    public Func<string, string> ReadFile { get; init; } = File.ReadAllText;

    /// <summary>Where usage errors go.</summary>
    public TextWriter Error { get; init; } = Console.Error;

    /// <summary>Log sinks; null: JSON lines on the console.</summary>
    public Action<ILoggingBuilder>? ConfigureLogging { get; init; }
}

/// <summary>
/// The operator process: parses and validates the command line, then runs the controllers against a cluster (with a
/// Lease when <c>--leader-elect</c>), and serves /healthz, /readyz and /metrics until cancelled. Exit codes: 0 after a clean stop, 2 for bad flags, 1 for a failure.
/// </summary>
public sealed class OperatorApplication
{
    public const int ExitOk = 0;
    public const int ExitFailure = 1;
    public const int ExitUsage = 2;

    private readonly OperatorEnvironment environment;
    private readonly TaskCompletionSource<Uri> listening = new(TaskCreationOptions.RunContinuationsAsynchronously);

    public OperatorApplication(OperatorEnvironment? environment = null)
    {
        this.environment = environment ?? new OperatorEnvironment();
    }

    /// <summary>The probe listener's base address once it listens (the real port when 0 was asked for).</summary>
    public Task<Uri> Listening => listening.Task;

    public async Task<int> RunAsync(IReadOnlyList<string> args, CancellationToken cancellationToken)
    {
        var commandLine = new OperatorCommandLine(environment.GetEnvironmentVariable, environment.ReadFile);
        if (args.Any(a => a is "-h" or "--help" or "-?" or "--version"))
        {
            return await commandLine.RootCommand.Parse(args.ToArray()).InvokeAsync(cancellationToken: cancellationToken);
        }

        var (options, errors) = commandLine.Parse(args);
        if (options is null)
        {
            foreach (var error in errors)
            {
                await environment.Error.WriteLineAsync($"error: {error}");
            }

            await environment.Error.WriteLineAsync("Run with --help for the flags.");
            listening.TrySetCanceled(CancellationToken.None);
            return ExitUsage;
        }

        using var loggers = LoggerFactory.Create(ConfigureLogging);
        var logger = loggers.CreateLogger("WorkspaceStorage.Operator");
        try
        {
            return await RunAsync(options, loggers, logger, cancellationToken);
        }
        catch (OperationCanceledException) when (cancellationToken.IsCancellationRequested)
        {
            return ExitOk;
        }
        catch (Exception error)
        {
            logger.LogCritical("Operator failed: {Error}", LogRedaction.Describe(error));
            return ExitFailure;
        }
        finally
        {
            listening.TrySetCanceled(CancellationToken.None);
        }
    }

    private void ConfigureLogging(ILoggingBuilder logging)
    {
        logging.SetMinimumLevel(LogLevel.Information);
        logging.AddFilter("Microsoft", LogLevel.Warning); // framework chatter
        if (environment.ConfigureLogging is { } configure)
        {
            configure(logging);
            return;
        }

        logging.AddJsonConsole(json =>
        {
            json.IncludeScopes = false;
            json.UseUtcTimestamp = true;
            json.TimestampFormat = "yyyy-MM-ddTHH:mm:ss.fffZ";
            json.JsonWriterOptions = new System.Text.Json.JsonWriterOptions { Indented = false };
        });
    }

    private async Task<int> RunAsync(OperatorApplicationOptions options, ILoggerFactory loggers, ILogger logger, CancellationToken cancellationToken)
    {
        var metrics = new OperatorMetrics(options.UsageMetricsMaxWorkspaces);
        var health = new HealthState();
        var hostOptions = new OperatorHostOptions
        {
            DefaultBackend = options.Operator.DefaultBackend,
            WatchNamespace = options.Operator.WatchNamespace,
            ResyncPeriod = options.ResyncPeriod,
            Controller = new ControllerOptions { Queue = new WorkQueueOptions { Workers = options.MaxConcurrentReconciles } },
            Reconciler = new WorkspaceStorageReconcilerOptions { Usage = options.Usage },
        };

        using var stopping = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
        var configuration = KubernetesConfiguration(options);
        using var kubernetes = new k8s.Kubernetes(configuration);
        using var host = new OperatorHost(OperatorStores.FromKubernetes(kubernetes), hostOptions, loggers, metrics, metrics);
        metrics.CountWorkspacesFrom(() => host.WorkspaceStorageInformer.List());
        await using var probes = StartProbes(options, health, metrics, loggers);
        if (options.Operator.LeaderElect)
        {
            var election = new LeaderElectionOptions
            {
                LeaseName = options.Operator.LeaderElectionId,
                LeaseNamespace = options.Operator.LeaderElectionNamespace!,
            };
            if (options.Operator.PodName is { } podName)
            {
                election = election with { Identity = podName };
            }

            var runner = new LeaderElectionRunner(kubernetes, election, host.RunAsync, loggers.CreateLogger<LeaderElectionRunner>());
            health.AddLeaderElection(runner, host.Controllers);
            logger.LogInformation("Operator started against {Server} with leader election (Lease {LeaseNamespace}/{LeaseName}, identity {Identity}), probes on {Address}",
                configuration.Host, election.LeaseNamespace, election.LeaseName, runner.Identity, await Listening);
            await RunUntilStoppedAsync(logger, stopping, runner.RunAsync(stopping.Token));
        }
        else
        {
            health.AddControllers(host.Controllers);
            logger.LogInformation("Operator started against {Server} without leader election, probes on {Address}", configuration.Host,
                await Listening);
            await RunUntilStoppedAsync(logger, stopping, host.RunAsync(stopping.Token));
        }

        logger.LogInformation("Operator stopped");
        return cancellationToken.IsCancellationRequested ? ExitOk : ExitFailure;
    }

    /// <summary>Runs the parts until the token ends or one of them ends on its own (which stops the others).</summary>
    private static async Task RunUntilStoppedAsync(ILogger logger, CancellationTokenSource stopping, params Task[] parts)
    {
        var first = await Task.WhenAny(parts);
        if (!stopping.IsCancellationRequested)
        {
            logger.LogError("A part of the operator ended unexpectedly ({Status}); stopping", first.Status);
            await stopping.CancelAsync();
        }

        try
        {
            await Task.WhenAll(parts);
        }
        catch (OperationCanceledException) when (stopping.IsCancellationRequested)
        {
        }
    }

    private KubernetesClientConfiguration KubernetesConfiguration(OperatorApplicationOptions options) =>
        KubeconfigFile.Discover(options.Kubeconfig, environment.GetEnvironmentVariable, "--kubeconfig");

    /// <summary>Binds /healthz, /readyz and /metrics (synchronously: binding fails at once or not at all).</summary>
    private ProbeServer StartProbes(OperatorApplicationOptions options, HealthState health, OperatorMetrics metrics, ILoggerFactory loggers)
    {
        var addresses = options.MetricsAddress is { } metricsAddress ? [options.HealthAddress, metricsAddress] : new[] { options.HealthAddress };
        var server = ProbeServer.Start(addresses, async (path, token) => path switch
        {
            "/healthz" => Probe(health.Liveness()),
            "/readyz" => Probe(health.Readiness()),
            "/metrics" => await MetricsAsync(metrics, token),
            _ => ProbeResponse.PlainText((int)HttpStatusCode.NotFound, "not found\n"),
        }, loggers.CreateLogger("Probes"));
        var bound = server.EndPoints[0];
        var host = bound.Address.Equals(IPAddress.Any) || bound.Address.Equals(IPAddress.IPv6Any)
            ? "127.0.0.1"
            : bound.Address.AddressFamily == System.Net.Sockets.AddressFamily.InterNetworkV6 ? $"[{bound.Address}]" : bound.Address.ToString();
        listening.TrySetResult(new Uri($"http://{host}:{bound.Port}/"));
        return server;
    }

    private static async Task<ProbeResponse> MetricsAsync(OperatorMetrics metrics, CancellationToken cancellationToken)
    {
        using var body = new MemoryStream();
        await metrics.Registry.CollectAndExportAsTextAsync(body, cancellationToken);
        return new ProbeResponse((int)HttpStatusCode.OK, "text/plain; version=0.0.4; charset=utf-8", body.ToArray());
    }

    private static ProbeResponse Probe(HealthReport report) =>
        report.Healthy
            ? ProbeResponse.PlainText((int)HttpStatusCode.OK, "ok\n")
            : ProbeResponse.PlainText((int)HttpStatusCode.ServiceUnavailable, $"not ready: {string.Join(", ", report.Failing)}\n");
}
