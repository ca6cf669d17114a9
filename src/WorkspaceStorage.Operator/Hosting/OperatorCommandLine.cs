using WorkspaceStorage.Operator.Reconciliation;
using System.CommandLine;
using System.Globalization;
using System.Net;
using WorkspaceStorage.Core.Model;
using WorkspaceStorage.Operator.Configuration;

namespace WorkspaceStorage.Operator.Hosting;

/// <summary>An address to listen on: host (null = every interface) and port (0 = any free one).</summary>
public sealed record ListenAddress(IPAddress? Host, int Port)
{
    /// <summary>Parses ":8081", "0.0.0.0:8081", "127.0.0.1:0", "[::1]:8081", "localhost:8081"; null with the rule when invalid.</summary>
    public static ListenAddress? TryParse(string text, out string? error)
    {
        error = null;
        var colon = text.LastIndexOf(':');
        if (colon < 0 || !int.TryParse(text[(colon + 1)..], NumberStyles.None, CultureInfo.InvariantCulture, out var port) || port > 65535)
        {
            error = $"must be [host]:port with a port from 0 to 65535 (got '{text}')";
            return null;
        }

        var host = text[..colon].Trim('[', ']');
        if (host.Length == 0 || host == "*")
        {
            return new ListenAddress(null, port);
        }

        if (host == "localhost")
        {
            return new ListenAddress(IPAddress.Loopback, port);
        }

        if (!IPAddress.TryParse(host, out var address))
        {
            error = $"host must be an IP address, 'localhost' or empty (got '{host}')";
            return null;
        }

        return new ListenAddress(address, port);
    }

    public override string ToString() => $"{(Host is null ? "" : Host.AddressFamily == System.Net.Sockets.AddressFamily.InterNetworkV6 ? $"[{Host}]" : Host.ToString())}:{Port}";
}

/// <summary>Everything the executable was told: the shared options plus the process's own.</summary>
/// <param name="MetricsAddress">A second listener for /metrics (only when --metrics-port is given and differs).</param>
public sealed record OperatorApplicationOptions(
    OperatorOptions Operator,
    string? Kubeconfig,
    int MaxConcurrentReconciles,
    TimeSpan ResyncPeriod,
    ListenAddress HealthAddress,
    ListenAddress? MetricsAddress)
{
    /// <summary>--usage-period and --usage-max-pages.</summary>
    public UsageReaderOptions Usage { get; init; } = new();

    /// <summary>--usage-metrics-max-workspaces: the per-workspace gauges' cardinality guard.</summary>
    public int UsageMetricsMaxWorkspaces { get; init; } = OperatorMetrics.DefaultUsageMetricsMaxWorkspaces;
}

/// <summary>
/// The executable's command line: <see cref="CommandLineOptions"/> (default backend, leader election, ports) plus
/// <c>--kubeconfig</c>, <c>--max-concurrent-reconciles</c>, <c>--resync-period</c> and <c>--health-addr</c>.
/// <c>--lease-name</c>/<c>--lease-namespace</c> are aliases of <c>--leader-election-id</c>/<c>--leader-election-namespace</c>.
/// Every error names its flag.
/// </summary>
public sealed class OperatorCommandLine
{
    private readonly CommandLineOptions shared;

    public OperatorCommandLine(Func<string, string?> getEnvironmentVariable, Func<string, string> readFile)
    {
        shared = new CommandLineOptions(getEnvironmentVariable, readFile);
        shared.LeaderElectionId.Aliases.Add("--lease-name");
        shared.LeaderElectionNamespace.Aliases.Add("--lease-namespace");
        foreach (var option in (Option[])[Kubeconfig, MaxConcurrentReconciles, ResyncPeriod, HealthAddress, UsagePeriod, UsageMaxPages, UsageMetricsMaxWorkspaces])
        {
            shared.RootCommand.Options.Add(option);
        }
    }

    public RootCommand RootCommand => shared.RootCommand;

    public Option<string?> Kubeconfig { get; } = new("--kubeconfig") { Description = "Kubeconfig file (default: env KUBECONFIG, then the in-cluster service account, then ~/.kube/config)." };

    public Option<int> MaxConcurrentReconciles { get; } = new("--max-concurrent-reconciles") { Description = "Reconciles running at once per controller.", DefaultValueFactory = _ => 4 };

    public Option<string?> ResyncPeriod { get; } = new("--resync-period") { Description = "How often every object is reconciled again to find drift in the backend (e.g. 10m, 30s; default 10m)." };

    public Option<string?> HealthAddress { get; } = new("--health-addr") { Description = "Listen address of /healthz, /readyz and /metrics (default :<--health-port>, i.e. :8081; port 0 picks a free one)." };

    public Option<string?> UsagePeriod { get; } = new("--usage-period") { Description = "Measure each workspace's usage (a bounded listing of its prefix) at most this often (default 5m, at least 10s)." };

    public Option<int> UsageMaxPages { get; } = new("--usage-max-pages") { Description = "Pages of 1000 keys per usage listing; a longer workspace is reported with status.usage.complete=false.", DefaultValueFactory = _ => UsageReaderOptions.DefaultMaxPages };

    public Option<int> UsageMetricsMaxWorkspaces { get; } = new("--usage-metrics-max-workspaces") { Description = "Above this many measured workspaces, emit only aggregate usage series, no per-workspace ones.", DefaultValueFactory = _ => OperatorMetrics.DefaultUsageMetricsMaxWorkspaces };

    /// <summary>Options, or the errors (each starting with the flag it is about).</summary>
    public (OperatorApplicationOptions? Options, IReadOnlyList<string> Errors) Parse(IReadOnlyList<string> args)
    {
        var parsed = RootCommand.Parse(args);
        if (parsed.Errors.Count > 0)
        {
            return (null, [.. parsed.Errors.Select(e => e.Message)]);
        }

        var sharedResult = shared.Parse(args);
        var errors = new List<string>(sharedResult.Errors);

        var kubeconfig = parsed.GetValue(Kubeconfig);
        var workers = parsed.GetValue(MaxConcurrentReconciles);
        if (workers is < 1 or > 256)
        {
            errors.Add($"--max-concurrent-reconciles: must be between 1 and 256 (got {workers})");
        }

        var resync = Duration(parsed.GetValue(ResyncPeriod), "--resync-period", TimeSpan.FromMinutes(10), TimeSpan.FromSeconds(1), errors);

        var usage = new UsageReaderOptions
        {
            Period = Duration(parsed.GetValue(UsagePeriod), "--usage-period", UsageReaderOptions.DefaultPeriod, UsageReaderOptions.MinimumPeriod, errors),
            MaxPages = parsed.GetValue(UsageMaxPages),
        };
        if (usage.MaxPages is < 1 or > UsageReaderOptions.MaxMaxPages)
        {
            errors.Add($"--usage-max-pages: must be between 1 and {UsageReaderOptions.MaxMaxPages} (got {usage.MaxPages})");
        }

        var metricsMax = parsed.GetValue(UsageMetricsMaxWorkspaces);
        if (metricsMax is < 0 or > 100_000)
        {
            errors.Add($"--usage-metrics-max-workspaces: must be between 0 and 100000 (got {metricsMax})");
        }

        var healthPort = parsed.GetValue(shared.HealthPort);
        var healthText = parsed.GetValue(HealthAddress) ?? $":{healthPort}";
        var health = ListenAddress.TryParse(healthText, out var healthError);
        if (healthError is not null)
        {
            errors.Add($"--health-addr: {healthError}");
        }

        ListenAddress? metrics = null;
        var metricsGiven = parsed.GetResult(shared.MetricsPort) is { Implicit: false };
        if (metricsGiven && health is not null && parsed.GetValue(shared.MetricsPort) != health.Port)
        {
            metrics = new ListenAddress(health.Host, parsed.GetValue(shared.MetricsPort));
        }

        if (errors.Count > 0 || sharedResult.Options is null || health is null)
        {
            return (null, errors.Count > 0 ? errors : ["invalid command line"]);
        }

        return (new OperatorApplicationOptions(sharedResult.Options, kubeconfig, workers, resync, health, metrics) { Usage = usage, UsageMetricsMaxWorkspaces = metricsMax }, []);
    }

    private static TimeSpan Duration(string? text, string flag, TimeSpan fallback, TimeSpan minimum, List<string> errors)
    {
        if (text is null)
        {
            return fallback;
        }

        if (!DurationParser.TryParse(text, out var value, out var error))
        {
            errors.Add($"{flag}: {error}");
            return fallback;
        }

        if (value < minimum)
        {
            errors.Add($"{flag}: must be at least {DurationParser.Format(minimum)} (got '{text}')");
            return fallback;
        }

        return value;
    }
}
