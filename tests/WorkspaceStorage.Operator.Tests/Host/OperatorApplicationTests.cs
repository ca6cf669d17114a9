using System.Net;
using Microsoft.Extensions.Logging;
using WorkspaceStorage.Operator.Hosting;
using WorkspaceStorage.Testing.Kubernetes;
using WorkspaceStorage.Testing.Operator;
using WorkspaceStorage.Testing.Support;

namespace WorkspaceStorage.Operator.Tests.Host;

/// <summary>The command line and the probe listener, as someone starting the operator meets them.</summary>
public sealed class OperatorApplicationTests : IDisposable
{
    private readonly string folder = Directory.CreateTempSubdirectory("wso-app-").FullName;

    private static CancellationToken Ct => TestContext.Current.CancellationToken;

    public void Dispose() => Directory.Delete(folder, recursive: true);

    public static TheoryData<string[], string> BadFlags => new()
    {
        { ["--max-concurrent-reconciles", "0"], "--max-concurrent-reconciles" },
        { ["--resync-period", "banana"], "--resync-period" },
        { ["--health-addr", "nowhere"], "--health-addr" },
        { ["--health-addr", "example.org:80"], "--health-addr" },
        { ["--endpoint-url", "http://127.0.0.1:7480"], "--access-key-id" },
        { ["--s3-admin-type", "ceph-rgw"], "--s3-admin-type" },
        { ["--no-such-flag"], "--no-such-flag" },
    };

    [Theory]
    [MemberData(nameof(BadFlags))]
    public async Task A_bad_flag_exits_with_the_usage_code_and_names_the_flag(string[] args, string flag)
    {
        var error = new StringWriter();
        var code = await new OperatorApplication(new OperatorEnvironment { Error = error, GetEnvironmentVariable = _ => null }).RunAsync(args, Ct);
        Assert.Equal(OperatorApplication.ExitUsage, code);
        Assert.Contains(flag, error.ToString(), StringComparison.Ordinal);
    }

    [Fact]
    public async Task A_secret_given_on_the_command_line_is_not_echoed_in_errors()
    {
        var error = new StringWriter();
        var code = await new OperatorApplication(new OperatorEnvironment { Error = error, GetEnvironmentVariable = _ => null })
            .RunAsync(["--endpoint-url", "not a url", "--access-key-id", "AK", "--secret-access-key", "very-secret-value-123", "--region-name", "!!"], Ct);
        Assert.Equal(OperatorApplication.ExitUsage, code);
        Assert.Contains("--endpoint-url", error.ToString(), StringComparison.Ordinal);
        Assert.DoesNotContain("very-secret-value-123", error.ToString(), StringComparison.Ordinal);
    }

    [Fact]
    public async Task Without_any_cluster_configuration_cluster_mode_fails_naming_kubeconfig()
    {
        // A home without ~/.kube/config and an environment that names no cluster, whatever this machine has.
        var (code, logs) = await RunInClusterModeWithHomeAsync(kubeconfig: null);
        Assert.Equal(OperatorApplication.ExitFailure, code);
        Assert.Contains("--kubeconfig: no cluster configuration found", logs, StringComparison.Ordinal);
    }

    [Fact]
    public async Task A_kubeconfig_in_the_users_home_is_found_when_nothing_else_names_a_cluster()
    {
        var (code, logs) = await RunInClusterModeWithHomeAsync(kubeconfig: "not: [valid");

        // It was read (and refused as broken YAML), not passed over.
        Assert.Equal(OperatorApplication.ExitFailure, code);
        Assert.Contains("--kubeconfig: cannot load the cluster configuration (KubeConfigException)", logs, StringComparison.Ordinal);
    }

    /// <summary>Cluster mode with only HOME in the environment, its ~/.kube/config holding <paramref name="kubeconfig"/> (null: none).</summary>
    private static async Task<(int Code, string Logs)> RunInClusterModeWithHomeAsync(string? kubeconfig)
    {
        var logs = new LogCapture();
        var home = Directory.CreateTempSubdirectory("wso-home-").FullName;
        try
        {
            if (kubeconfig is not null)
            {
                Directory.CreateDirectory(Path.Combine(home, ".kube"));
                await File.WriteAllTextAsync(Path.Combine(home, ".kube", "config"), kubeconfig, Ct);
            }

            var code = await new OperatorApplication(new OperatorEnvironment
                {
                    GetEnvironmentVariable = name => name == "HOME" ? home : null,
                    ConfigureLogging = l => l.AddProvider(logs),
                })
                .RunAsync(["--health-addr", "127.0.0.1:0"], Ct);
            return (code, logs.All);
        }
        finally
        {
            Directory.Delete(home, recursive: true);
        }
    }

    [Fact]
    public async Task Without_leader_election_it_serves_liveness_readiness_and_metrics_and_stops_cleanly()
    {
        await using var kube = await KubeCluster.StartAsync(cancellationToken: Ct);
        var kubeconfig = Path.Combine(folder, "kubeconfig");
        await kube.WriteKubeconfigAsync(kubeconfig);
        var logs = new LogCapture();
        var app = new OperatorApplication(new OperatorEnvironment { GetEnvironmentVariable = _ => null, ConfigureLogging = l => l.AddProvider(logs) });
        using var stop = CancellationTokenSource.CreateLinkedTokenSource(Ct);
        var run = app.RunAsync(["--kubeconfig", kubeconfig, "--health-addr", "127.0.0.1:0"], stop.Token);
        var address = await app.Listening.WaitAsync(TimeSpan.FromSeconds(30), Ct);
        using var http = new HttpClient(new SocketsHttpHandler { UseProxy = false });

        Assert.Equal(HttpStatusCode.OK, (await http.GetAsync(new Uri(address, "/healthz"), Ct)).StatusCode);
        await Eventually.TrueAsync(async ct => (await http.GetAsync(new Uri(address, "/readyz"), ct)).StatusCode == HttpStatusCode.OK, "/readyz 200");

        var metrics = await http.GetAsync(new Uri(address, "/metrics"), Ct);
        Assert.StartsWith("text/plain", metrics.Content.Headers.ContentType?.ToString(), StringComparison.Ordinal);
        var text = await metrics.Content.ReadAsStringAsync(Ct);
        Assert.Contains("workspace_storage_managed_workspaces{condition=\"Ready\"} 0", text, StringComparison.Ordinal);
        Assert.Equal(HttpStatusCode.NotFound, (await http.GetAsync(new Uri(address, "/secrets"), Ct)).StatusCode);

        await stop.CancelAsync();
        Assert.Equal(OperatorApplication.ExitOk, await run.WaitAsync(TimeSpan.FromSeconds(30), Ct));
        Assert.Contains("Operator stopped", logs.All, StringComparison.Ordinal);
    }

    [Fact]
    public async Task The_executable_exits_non_zero_on_a_bad_flag_and_names_it()
    {
        await using var process = OperatorProcess.StartWith(["--max-concurrent-reconciles", "-3"]);
        var code = await process.WaitForExitAsync(TimeSpan.FromSeconds(60));
        Assert.Equal(OperatorApplication.ExitUsage, code);
        Assert.Contains("--max-concurrent-reconciles", process.AllOutput, StringComparison.Ordinal);
    }
}
