using System.Diagnostics;
using System.Net;
using System.Net.Sockets;
using System.Text;
using WorkspaceStorage.Testing.Support;

namespace WorkspaceStorage.Testing.Hypha;

/// <summary>
/// A real Hypha server started with the kit (<c>../shared/hypha-server/hypha-server.sh</c> beside the repository, or
/// <c>WSO_HYPHA_KIT</c>) on a free port of 127.0.0.1. The root token is read from the state folder and never
/// printed. Where the kit cannot run (missing, not root) <see cref="StartAsync"/> throws
/// <see cref="HyphaUnavailableException"/>; tests turn that into a skip, or a failure under <c>make test</c>
/// (<c>WSO_TEST_HYPHA_REQUIRED=1</c>). Each start costs a few seconds: share one server per test class.
/// </summary>
public sealed class HyphaTestServer : IAsyncDisposable
{
    public const string KitVariable = "WSO_HYPHA_KIT";
    public const string RequiredVariable = "WSO_TEST_HYPHA_REQUIRED";

    /// <summary>Optional port range for the servers, e.g. <c>9610-9629</c>; default: a free port the OS picks.</summary>
    public const string PortRangeVariable = "WSO_TEST_HYPHA_PORTS";

    public const string StartHint =
        "the Hypha kit runs as root from ../shared/hypha-server beside the repository (or set WSO_HYPHA_KIT to its folder); " +
        "try: sudo ../shared/hypha-server/hypha-server.sh up";

    private readonly HyphaTestServerOptions options;
    private bool running;

    private HyphaTestServer(string kit, int port, string stateDirectory, HyphaTestServerOptions options)
    {
        Kit = kit;
        Port = port;
        StateDirectory = stateDirectory;
        this.options = options;
    }

    /// <summary>The kit's script.</summary>
    public string Kit { get; }

    public int Port { get; }

    public Uri Url => new($"http://127.0.0.1:{Port}");

    /// <summary>The server's state folder (pid, log, root token); Hypha's working folder.</summary>
    public string StateDirectory { get; }

    /// <summary>The file holding the root token (mode 0600; a new token on every start).</summary>
    public string RootTokenFile => Path.Combine(StateDirectory, "root-token");

    /// <summary>The current root token. Never print it.</summary>
    public string RootToken => File.ReadAllText(RootTokenFile).Trim();

    /// <summary>Hypha's flags (after <c>--</c>).</summary>
    public IReadOnlyList<string> HyphaFlags => options.HyphaFlags;

    /// <summary>Starts a server. Throws <see cref="HyphaUnavailableException"/> when the kit cannot run here.</summary>
    public static async Task<HyphaTestServer> StartAsync(HyphaTestServerOptions? options = null, CancellationToken cancellationToken = default)
    {
        options ??= new HyphaTestServerOptions();
        var kit = FindKit() ?? throw new HyphaUnavailableException($"the Hypha kit was not found; {StartHint}");
        if (!OperatingSystem.IsLinux() || Environment.UserName != "root")
        {
            throw new HyphaUnavailableException($"the Hypha kit needs root on Linux (debootstrap, chroot, mount); {StartHint}");
        }

        Exception? last = null;
        foreach (var port in CandidatePorts().Take(5))
        {
            var state = Path.Combine(Path.GetTempPath(), $"wso-hypha-{port}-{Guid.NewGuid():N}"[..32]);
            var server = new HyphaTestServer(kit, port, state, options);
            try
            {
                await server.UpAsync(cancellationToken);
                return server;
            }
            catch (InvalidOperationException ex) when (ex.Message.Contains("already in use", StringComparison.Ordinal))
            {
                last = ex;
                await server.DisposeAsync();
            }
        }

        throw last ?? new InvalidOperationException("no free port for Hypha");
    }

    /// <summary>Stops the server (Hypha loses every registration and, without JWT_SECRET, the validity of its tokens).</summary>
    public async Task StopAsync(CancellationToken cancellationToken = default)
    {
        if (!running)
        {
            return;
        }

        var result = await RunKitAsync(["down", "--port", Port.ToString(), "--state", StateDirectory], null, TimeSpan.FromSeconds(60), cancellationToken);
        running = false;
        if (result.ExitCode != 0)
        {
            throw new InvalidOperationException($"hypha-server.sh down failed ({result.ExitCode}): {Tail(result.Error)}");
        }
    }

    /// <summary>Starts the stopped server again on the same port with the same flags (a new root token).</summary>
    public Task StartAgainAsync(CancellationToken cancellationToken = default) => UpAsync(cancellationToken);

    public async Task RestartAsync(CancellationToken cancellationToken = default)
    {
        await StopAsync(cancellationToken);
        await StartAgainAsync(cancellationToken);
    }

    /// <summary>
    /// Runs a Python script with the kit's <c>py</c> (the real hypha_rpc). <c>HYPHA_SERVER_URL</c> and
    /// <c>HYPHA_ROOT_TOKEN_FILE</c> are set; pass secrets through <paramref name="environment"/>, not arguments.
    /// </summary>
    public async Task<PythonRun> RunPythonAsync(
        string script, IEnumerable<string>? args = null, IReadOnlyDictionary<string, string>? environment = null, TimeSpan? timeout = null, CancellationToken cancellationToken = default)
    {
        var env = new Dictionary<string, string>(environment ?? new Dictionary<string, string>())
        {
            ["HYPHA_SERVER_URL"] = Url.ToString().TrimEnd('/'),
            ["HYPHA_ROOT_TOKEN_FILE"] = RootTokenFile,
        };
        var result = await RunKitAsync(["py", script, .. args ?? []], env, timeout ?? TimeSpan.FromMinutes(2), cancellationToken);
        return new PythonRun(result.ExitCode, result.Output, result.Error, result.Duration);
    }

    /// <summary>The last lines of Hypha's log (for failure messages).</summary>
    public string LogTail(int lines = 30)
    {
        var log = Path.Combine(StateDirectory, "hypha.log");
        return File.Exists(log) ? string.Join('\n', File.ReadLines(log).TakeLast(lines)) : "(no log)";
    }

    public async ValueTask DisposeAsync()
    {
        try
        {
            await StopAsync();
        }
        finally
        {
            if (Directory.Exists(StateDirectory))
            {
                Directory.Delete(StateDirectory, recursive: true);
            }
        }
    }

    public override string ToString() => $"HyphaTestServer({Url}, state {StateDirectory})";

    /// <summary>The kit: <c>WSO_HYPHA_KIT</c> (folder or script), else <c>shared/hypha-server</c> beside the repository or one of its parents.</summary>
    public static string? FindKit()
    {
        var configured = Environment.GetEnvironmentVariable(KitVariable);
        if (!string.IsNullOrEmpty(configured))
        {
            var script = Directory.Exists(configured) ? Path.Combine(configured, "hypha-server.sh") : configured;
            return File.Exists(script) ? Path.GetFullPath(script) : null;
        }

        for (var dir = RepositoryRoot()?.Parent; dir is not null; dir = dir.Parent)
        {
            var script = Path.Combine(dir.FullName, "shared", "hypha-server", "hypha-server.sh");
            if (File.Exists(script))
            {
                return script;
            }
        }

        return null;
    }

    private static DirectoryInfo? RepositoryRoot()
    {
        for (var dir = new DirectoryInfo(AppContext.BaseDirectory); dir is not null; dir = dir.Parent)
        {
            if (File.Exists(Path.Combine(dir.FullName, "WorkspaceStorageOperator.sln")))
            {
                return dir;
            }
        }

        return null;
    }

    private static IEnumerable<int> CandidatePorts()
    {
        var range = Environment.GetEnvironmentVariable(PortRangeVariable);
        if (!string.IsNullOrEmpty(range) && range.Split('-') is [var low, var high] && int.TryParse(low, out var from) && int.TryParse(high, out var to) && from <= to)
        {
            var count = to - from + 1;
            var start = Random.Shared.Next(count);
            for (var i = 0; i < count; i++)
            {
                var port = from + ((start + i) % count);
                if (IsFree(port))
                {
                    yield return port;
                }
            }

            yield break;
        }

        while (true)
        {
            using var listener = new TcpListener(IPAddress.Loopback, 0);
            listener.Start();
            var port = ((IPEndPoint)listener.LocalEndpoint).Port;
            listener.Stop();
            yield return port;
        }
    }

    private static bool IsFree(int port)
    {
        try
        {
            using var listener = new TcpListener(IPAddress.Loopback, port);
            listener.Start();
            listener.Stop();
            return true;
        }
        catch (SocketException)
        {
            return false;
        }
    }

    private async Task UpAsync(CancellationToken cancellationToken)
    {
        var env = new Dictionary<string, string>(options.Environment);
        if (options.JwtSecret is { } secret)
        {
            env["JWT_SECRET"] = secret;
        }

        var result = await RunKitAsync(["up", "--port", Port.ToString(), "--state", StateDirectory, "--", .. options.HyphaFlags], env, options.StartTimeout, cancellationToken);
        if (result.ExitCode != 0)
        {
            throw new InvalidOperationException($"hypha-server.sh up failed ({result.ExitCode}): {Tail(result.Error)}");
        }

        running = true;
    }

    private Task<ChildProcessOutcome> RunKitAsync(
        IReadOnlyList<string> arguments, IReadOnlyDictionary<string, string>? environment, TimeSpan timeout, CancellationToken cancellationToken) =>
        ChildProcessRunner.RunAsync(Kit, arguments, environment, Path.GetDirectoryName(Kit)!, timeout, cancellationToken);

    /// <summary>Runs a Python script with the kit's <c>py</c> (no server of this fixture involved, e.g. a snippet `make run` printed).</summary>
    public static async Task<PythonRun> RunKitPythonAsync(string kit, string script, CancellationToken cancellationToken, TimeSpan? timeout = null)
    {
        var result = await ChildProcessRunner.RunAsync(kit, ["py", script], null, Path.GetDirectoryName(kit)!, timeout ?? TimeSpan.FromMinutes(2), cancellationToken);
        return new PythonRun(result.ExitCode, result.Output, result.Error, result.Duration);
    }

    private static string Tail(string text) => string.Join('\n', text.Split('\n').TakeLast(20));
}

/// <summary>How to start a <see cref="HyphaTestServer"/>.</summary>
public sealed record HyphaTestServerOptions
{
    /// <summary>Hypha's own flags, passed after <c>--</c> (for example <c>--enable-s3 ...</c>).</summary>
    public IReadOnlyList<string> HyphaFlags { get; init; } = [];

    /// <summary>Hypha's JWT secret; null: random per start (tokens die with a restart).</summary>
    public string? JwtSecret { get; init; }

    /// <summary>More environment for Hypha (for example <c>HYPHA_WS_IDLE_TIMEOUT</c>).</summary>
    public IReadOnlyDictionary<string, string> Environment { get; init; } = new Dictionary<string, string>();

    /// <summary>The first start on a fresh machine builds the chroot (minutes).</summary>
    public TimeSpan StartTimeout { get; init; } = TimeSpan.FromMinutes(10);
}

/// <summary>The outcome of a Python script run through the kit.</summary>
public sealed record PythonRun(int ExitCode, string Output, string Error, TimeSpan Duration)
{
    public override string ToString() => $"exit {ExitCode} after {Duration.TotalSeconds:0.0} s\n--- stdout\n{Output}\n--- stderr\n{Error}";
}

/// <summary>The kit cannot run on this machine (missing, or not root).</summary>
public sealed class HyphaUnavailableException(string message) : Exception(message);
