using System.Globalization;
using WorkspaceStorage.Testing.Repository;
using WorkspaceStorage.Testing.Support;

namespace WorkspaceStorage.Testing.S3;

/// <summary>
/// A Ceph RGW of one test's own (<c>scripts/s3-test-server.sh</c> on free ports and a temporary folder), for tests that
/// stop and start the gateway: the shared server of <see cref="RgwTestServer.Require"/> serves every other test at the
/// same time and must stay up. <see cref="StopGatewayAsync"/> stops only radosgw (monitor and OSD keep the data), as an
/// S3 server restart would. Without Ceph installed the test is skipped with the reason, or fails under
/// <c>make test</c> (WSO_TEST_S3_REQUIRED=1). WSO_TEST_PRIVATE_S3_PORT pins the RGW port (the monitor's stays free-chosen).
/// </summary>
public sealed class PrivateRgwServer : IAsyncDisposable
{
    private static readonly TimeSpan ScriptTimeout = TimeSpan.FromSeconds(120);
    private readonly Dictionary<string, string> environment;
    private readonly string directory;

    private PrivateRgwServer(Dictionary<string, string> environment, string directory)
    {
        this.environment = environment;
        this.directory = directory;
    }

    /// <summary>The running server, as tests that share one see theirs (endpoint and admin keys from the script's <c>env</c>).</summary>
    public RgwTestServer Server { get; private set; } = null!;

    public static async Task<PrivateRgwServer> StartAsync(CancellationToken cancellationToken)
    {
        if (!OnPath("radosgw") || !OnPath("ceph-mon"))
        {
            RgwTestServer.Unavailable("Ceph (radosgw, ceph-mon) is not installed, so this test cannot start an RGW of its own");
        }

        var port = int.TryParse(Environment.GetEnvironmentVariable("WSO_TEST_PRIVATE_S3_PORT"), NumberStyles.None, CultureInfo.InvariantCulture, out var pinned)
            ? pinned
            : FreeTcpPort.Next();
        var directory = Directory.CreateTempSubdirectory("wso-private-rgw-").FullName;
        var environment = new Dictionary<string, string>
        {
            ["WSO_S3_PORT"] = port.ToString(CultureInfo.InvariantCulture),
            ["WSO_S3_MON_PORT"] = FreeTcpPort.Next().ToString(CultureInfo.InvariantCulture),
            ["WSO_S3_DIR"] = directory,
        };
        var server = new PrivateRgwServer(environment, directory);
        try
        {
            await server.RunScriptAsync("up", cancellationToken);
            var exports = (await server.RunScriptAsync("env", cancellationToken))
                .Split('\n', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries)
                .Select(line => line.StartsWith("export ", StringComparison.Ordinal) ? line["export ".Length..] : line)
                .Select(line => line.Split('=', 2))
                .Where(pair => pair.Length == 2)
                .ToDictionary(pair => pair[0], pair => pair[1], StringComparer.Ordinal);
            server.Server = new RgwTestServer(new Uri(exports["WSO_TEST_S3_ENDPOINT"]), exports["WSO_TEST_S3_REGION"],
                new Core.Signing.AwsCredentials(exports["WSO_TEST_S3_ADMIN_ACCESS_KEY"], exports["WSO_TEST_S3_ADMIN_SECRET_KEY"]));
        }
        catch
        {
            await server.DisposeAsync();
            throw;
        }

        return server;
    }

    /// <summary>Stops radosgw only: S3 and admin calls are refused until <see cref="StartGatewayAsync"/>.</summary>
    public async Task StopGatewayAsync(CancellationToken cancellationToken) => await RunScriptAsync("rgw-stop", cancellationToken);

    /// <summary>Starts radosgw again on the same cluster and returns once it answers HTTP.</summary>
    public async Task StartGatewayAsync(CancellationToken cancellationToken) => await RunScriptAsync("rgw-start", cancellationToken);

    public async ValueTask DisposeAsync()
    {
        try
        {
            await RunScriptAsync("down", CancellationToken.None);
        }
        finally
        {
            try
            {
                Directory.Delete(directory, recursive: true);
            }
            catch (IOException)
            {
                // best effort: a temporary folder
            }
        }
    }

    /// <returns>The script's standard output.</returns>
    private async Task<string> RunScriptAsync(string command, CancellationToken cancellationToken)
    {
        var outcome = await ChildProcessRunner.RunAsync(RepositoryRoot.Combine("scripts", "s3-test-server.sh"), [command], environment, RepositoryRoot.Path,
            ScriptTimeout, cancellationToken);
        if (outcome.ExitCode != 0)
        {
            throw new InvalidOperationException($"scripts/s3-test-server.sh {command} failed ({outcome.ExitCode}): {outcome.Error}");
        }

        return outcome.Output;
    }

    private static bool OnPath(string program) =>
        (Environment.GetEnvironmentVariable("PATH") ?? "").Split(Path.PathSeparator).Any(folder => File.Exists(Path.Combine(folder, program)));
}
