using System.Diagnostics;
using System.Security.Cryptography;
using WorkspaceStorage.Testing.Support;

namespace WorkspaceStorage.Testing.Hypha;

/// <summary>
/// A real Python Hypha (<c>python -m hypha.server</c> from <see cref="HyphaPython"/>) on 127.0.0.1. Each start makes a
/// new root token, written to <see cref="RootTokenFile"/> (0600) and handed to Hypha through <c>HYPHA_ROOT_TOKEN</c>
/// (<c>--from-env</c>), so
/// it is never on a command line and never printed. Where there is no Python Hypha, <see cref="StartAsync"/> throws
/// <see cref="HyphaUnavailableException"/> with the reason; fixtures turn it into a skip. Each start costs seconds:
/// share one server per test class or collection.
/// </summary>
public sealed class HyphaTestServer : IAsyncDisposable
{
    private readonly string python;
    private readonly HyphaTestServerOptions options;
    private Process? process;

    private HyphaTestServer(string python, int port, string stateDirectory, HyphaTestServerOptions options)
    {
        this.python = python;
        Port = port;
        StateDirectory = stateDirectory;
        this.options = options;
    }

    /// <summary>The interpreter Hypha runs in (its hypha_rpc is the real Python client).</summary>
    public string Python => python;

    public int Port { get; }

    public Uri Url => new($"http://127.0.0.1:{Port}");

    /// <summary>Hypha's working folder (its log, its database, the root token).</summary>
    public string StateDirectory { get; }

    /// <summary>The file holding the current root token (mode 0600; a new token on every start).</summary>
    public string RootTokenFile => Path.Combine(StateDirectory, "root-token");

    /// <summary>The current root token. Never print it.</summary>
    public string RootToken => File.ReadAllText(RootTokenFile).Trim();

    /// <summary>Hypha's own flags.</summary>
    public IReadOnlyList<string> HyphaFlags => options.HyphaFlags;

    private string LogFile => Path.Combine(StateDirectory, "hypha.log");

    /// <summary>Starts a server. Throws <see cref="HyphaUnavailableException"/> when there is no Python Hypha here.</summary>
    public static async Task<HyphaTestServer> StartAsync(HyphaTestServerOptions? options = null, CancellationToken cancellationToken = default)
    {
        options ??= new HyphaTestServerOptions();
        var located = await HyphaPython.LocateAsync();
        var python = located.Python ?? throw new HyphaUnavailableException(located.Reason!);

        // Hypha (uvicorn) binds the port itself, so a port the OS said was free can be taken before it binds: try another.
        Exception? last = null;
        for (var attempt = 0; attempt < 5; attempt++)
        {
            var port = FreeTcpPort.Next();
            var state = Directory.CreateTempSubdirectory($"wso-hypha-{port}-").FullName;
            var server = new HyphaTestServer(python, port, state, options);
            try
            {
                await server.UpAsync(cancellationToken);
                return server;
            }
            catch (PortTakenException ex)
            {
                last = ex;
                await server.DisposeAsync();
            }
            catch
            {
                await server.DisposeAsync();
                throw;
            }
        }

        throw new InvalidOperationException("Hypha found no free port in 5 tries", last);
    }

    /// <summary>Stops the server as `kill` would (Hypha loses every registration and, without JWT_SECRET, its tokens' validity).</summary>
    public async Task StopAsync(CancellationToken cancellationToken = default)
    {
        if (process is not { } running)
        {
            return;
        }

        process = null;
        using (running)
        {
            if (!running.HasExited)
            {
                using (var term = Process.Start("kill", ["-TERM", running.Id.ToString(System.Globalization.CultureInfo.InvariantCulture)]))
                {
                    await term.WaitForExitAsync(cancellationToken);
                }

                using var grace = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
                grace.CancelAfter(TimeSpan.FromSeconds(15));
                try
                {
                    await running.WaitForExitAsync(grace.Token);
                }
                catch (OperationCanceledException) when (!cancellationToken.IsCancellationRequested)
                {
                    running.Kill(entireProcessTree: true); // ignored SIGTERM for 15 s
                    await running.WaitForExitAsync(CancellationToken.None);
                }
            }
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
    /// Runs a Python script with Hypha's interpreter (the real hypha_rpc). <c>HYPHA_SERVER_URL</c> and
    /// <c>HYPHA_ROOT_TOKEN_FILE</c> are set; pass secrets through <paramref name="environment"/>, not arguments.
    /// </summary>
    public Task<PythonRun> RunPythonAsync(
        string script, IEnumerable<string>? args = null, IReadOnlyDictionary<string, string>? environment = null, TimeSpan? timeout = null, CancellationToken cancellationToken = default)
    {
        var env = new Dictionary<string, string>(environment ?? new Dictionary<string, string>())
        {
            ["HYPHA_SERVER_URL"] = Url.ToString().TrimEnd('/'),
            ["HYPHA_ROOT_TOKEN_FILE"] = RootTokenFile,
        };
        return HyphaPython.RunAsync(python, script, args, env, null, timeout ?? TimeSpan.FromMinutes(2), cancellationToken);
    }

    /// <summary>The last lines of Hypha's log (for failure messages; Hypha logs no token).</summary>
    public string LogTail(int lines = 30) =>
        File.Exists(LogFile) ? string.Join('\n', File.ReadLines(LogFile).TakeLast(lines)) : "(no log)";

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

    private async Task UpAsync(CancellationToken cancellationToken)
    {
        var token = NewRootToken();
        await File.WriteAllTextAsync(RootTokenFile, token, cancellationToken);
        if (!OperatingSystem.IsWindows()) // Hypha runs on Linux here; the guard is for the platform analyzer
        {
            File.SetUnixFileMode(RootTokenFile, UnixFileMode.UserRead | UnixFileMode.UserWrite);
        }

        // The shell only redirects Hypha's output to its log, then becomes Hypha (exec): the process we hold is Hypha's.
        var start = new ProcessStartInfo("bash") { UseShellExecute = false, WorkingDirectory = StateDirectory, RedirectStandardInput = true };
        foreach (var argument in (string[])["-c", "exec \"$0\" \"$@\" >>hypha.log 2>&1", python, "-m", "hypha.server", "--from-env", "--host", "127.0.0.1", "--port", Port.ToString(System.Globalization.CultureInfo.InvariantCulture), .. options.HyphaFlags])
        {
            start.ArgumentList.Add(argument);
        }

        // --from-env reads HYPHA_ROOT_TOKEN (flags on the command line still win); temporary files die with the state folder.
        start.Environment["HYPHA_ROOT_TOKEN"] = token;
        start.Environment["PYTHONUNBUFFERED"] = "1";
        start.Environment["TMPDIR"] = StateDirectory;
        if (options.JwtSecret is { } secret)
        {
            start.Environment["JWT_SECRET"] = secret;
        }

        foreach (var (key, value) in options.Environment)
        {
            start.Environment[key] = value;
        }

        var started = Process.Start(start) ?? throw new InvalidOperationException($"cannot start {python}");
        started.StandardInput.Close();
        process = started;
        try
        {
            await WaitUntilReadyAsync(started, cancellationToken);
        }
        catch
        {
            await StopAsync(CancellationToken.None);
            throw;
        }
    }

    /// <summary>Waits for Hypha's readiness probe, or for the process to end (then its log says why).</summary>
    private async Task WaitUntilReadyAsync(Process started, CancellationToken cancellationToken)
    {
        using var http = new HttpClient { Timeout = TimeSpan.FromSeconds(2) };
        var readiness = new Uri(Url, "/health/readiness");
        var watch = Stopwatch.StartNew();
        var lastState = "no answer yet";
        while (true)
        {
            cancellationToken.ThrowIfCancellationRequested();
            if (started.HasExited)
            {
                var log = LogTail(40);
                if (log.Contains("address already in use", StringComparison.OrdinalIgnoreCase))
                {
                    throw new PortTakenException($"port {Port} was taken before Hypha bound it");
                }

                throw new InvalidOperationException($"Hypha exited {started.ExitCode} before it was ready:\n{log}");
            }

            try
            {
                using var response = await http.GetAsync(readiness, cancellationToken);
                if (response.IsSuccessStatusCode)
                {
                    return;
                }

                lastState = $"{readiness} answered {(int)response.StatusCode}";
            }
            catch (HttpRequestException ex)
            {
                lastState = ex.Message;
            }
            catch (TaskCanceledException) when (!cancellationToken.IsCancellationRequested)
            {
                lastState = "a readiness request timed out";
            }

            if (watch.Elapsed > options.StartTimeout)
            {
                throw new InvalidOperationException($"Hypha was not ready within {options.StartTimeout.TotalSeconds:0} s (last: {lastState}):\n{LogTail(40)}");
            }

            await Task.Delay(100, cancellationToken); // the pace of the readiness poll, not a wait for an outcome
        }
    }

    /// <summary>Hypha refuses "simple" root tokens and wants at least 32 characters; 43 URL-safe ones, like its own.</summary>
    private static string NewRootToken() => Convert.ToBase64String(RandomNumberGenerator.GetBytes(32)).TrimEnd('=').Replace('+', '-').Replace('/', '_');

    private sealed class PortTakenException(string message) : Exception(message);
}

/// <summary>How to start a <see cref="HyphaTestServer"/>.</summary>
public sealed record HyphaTestServerOptions
{
    /// <summary>Hypha's own flags (for example <c>--enable-s3 ...</c>).</summary>
    public IReadOnlyList<string> HyphaFlags { get; init; } = [];

    /// <summary>Hypha's JWT secret; null: random per start (tokens die with a restart).</summary>
    public string? JwtSecret { get; init; }

    /// <summary>More environment for Hypha (for example <c>HYPHA_WS_IDLE_TIMEOUT</c>).</summary>
    public IReadOnlyDictionary<string, string> Environment { get; init; } = new Dictionary<string, string>();

    /// <summary>How long Hypha may take to answer its readiness probe.</summary>
    public TimeSpan StartTimeout { get; init; } = TimeSpan.FromMinutes(2);
}

/// <summary>There is no Python Hypha on this machine (the message says why).</summary>
public sealed class HyphaUnavailableException(string message) : Exception(message);
