using System.Diagnostics;
using System.Globalization;
using System.Security.Cryptography;
using System.Text.Json;
using WorkspaceStorage.Testing.Support;

namespace WorkspaceStorage.EndToEnd.Tests.WholeSystem;

/// <summary>
/// The machine's Node.js with the npm packages pinned in WholeSystem/JavaScript/package-lock.json (installed there by
/// scripts/install-js-clients.sh), and Debian's Chromium for the browser tests. Missing, they skip the tests with the
/// install command; under make test (<see cref="RequiredVariable"/>, <see cref="BrowserRequiredVariable"/>) they fail them.
/// </summary>
internal sealed class NodeJs
{
    public const string RequiredVariable = "WSO_TEST_JS_REQUIRED";
    public const string BrowserRequiredVariable = "WSO_TEST_BROWSER_REQUIRED";
    public const string InstallHint = "install them with: scripts/install-js-clients.sh";

    /// <summary>Written by install-js-clients.sh after `npm ci`: the lock file's SHA-256 (stale packages are as good as none).</summary>
    private const string InstallStamp = ".wso-lock-sha256";

    private const int MinimumMajorVersion = 20;

    private NodeJs(string executable, int majorVersion)
    {
        Executable = executable;
        MajorVersion = majorVersion;
    }

    public static string Folder { get; } = RepositoryRoot.Combine("tests", "WorkspaceStorage.EndToEnd.Tests", "WholeSystem", "JavaScript");

    public string Executable { get; }

    public int MajorVersion { get; }

    /// <summary>Node.js with the pinned packages, or a skip (a failure with WSO_TEST_JS_REQUIRED=1) saying how to get them.</summary>
    public static NodeJs Require()
    {
        var executable = FindOnPath("node");
        if (executable is null)
        {
            Unavailable(RequiredVariable, "Node.js is not on PATH");
        }

        var major = MajorVersionOf(executable!);
        if (major < MinimumMajorVersion)
        {
            Unavailable(RequiredVariable, $"Node.js {major} is older than {MinimumMajorVersion} (the AWS SDK for JavaScript needs {MinimumMajorVersion})");
        }

        var stamp = Path.Combine(Folder, "node_modules", InstallStamp);
        var lockHash = Convert.ToHexStringLower(SHA256.HashData(File.ReadAllBytes(Path.Combine(Folder, "package-lock.json"))));
        if (!File.Exists(stamp) || File.ReadAllText(stamp).Trim() != lockHash)
        {
            Unavailable(RequiredVariable, $"the npm packages of {Path.GetRelativePath(RepositoryRoot.Path, Folder)} are not installed at its lock file's versions");
        }

        return new NodeJs(executable!, major);
    }

    /// <summary>Debian's Chromium (or WSO_CHROMIUM), or a skip (a failure with WSO_TEST_BROWSER_REQUIRED=1).</summary>
    public static string RequireChromium()
    {
        var chromium = Environment.GetEnvironmentVariable("WSO_CHROMIUM") is { Length: > 0 } configured ? configured : "/usr/bin/chromium";
        if (!File.Exists(chromium))
        {
            Unavailable(BrowserRequiredVariable, $"no Chromium at {chromium}");
        }

        return chromium;
    }

    /// <summary>Runs a script of <see cref="Folder"/>; secrets go through <paramref name="environment"/>, never arguments.</summary>
    public async Task<NodeRun> RunAsync(string script, IEnumerable<string> arguments, IReadOnlyDictionary<string, string> environment, TimeSpan timeout,
        CancellationToken cancellationToken)
    {
        // hypha-rpc uses the global WebSocket, built in from Node.js 22 and behind a flag before
        IEnumerable<string> flags = MajorVersion < 22 ? ["--experimental-websocket"] : [];
        var outcome = await ChildProcessRunner.RunAsync(Executable, [.. flags, Path.Combine(Folder, script), .. arguments], environment, Folder, timeout,
            cancellationToken);
        return new NodeRun(outcome.ExitCode, outcome.Output, outcome.Error, outcome.Duration);
    }

    private static int MajorVersionOf(string executable)
    {
        var start = new ProcessStartInfo(executable, ["--version"]) { RedirectStandardOutput = true, UseShellExecute = false };
        using var process = Process.Start(start) ?? throw new InvalidOperationException($"cannot start {executable}");
        var version = process.StandardOutput.ReadToEnd().Trim(); // v20.20.2
        process.WaitForExit();
        return int.Parse(version.TrimStart('v').Split('.')[0], CultureInfo.InvariantCulture);
    }

    private static string? FindOnPath(string name) =>
        (Environment.GetEnvironmentVariable("PATH") ?? "").Split(':', StringSplitOptions.RemoveEmptyEntries)
            .Select(directory => Path.Combine(directory, name))
            .FirstOrDefault(File.Exists);

    private static void Unavailable(string requiredVariable, string why)
    {
        if (Environment.GetEnvironmentVariable(requiredVariable) == "1")
        {
            Assert.Fail($"{why}; make test requires it ({requiredVariable}=1): {InstallHint}");
        }

        Assert.Skip($"{why}; {InstallHint}");
    }
}

/// <summary>The outcome of a Node.js script: its exit code, output and duration, and its `RESULT {json}` line.</summary>
internal sealed record NodeRun(int ExitCode, string Output, string Error, TimeSpan Duration)
{
    /// <summary>The last RESULT object the script printed.</summary>
    public JsonElement Result()
    {
        var line = Output.Split('\n').LastOrDefault(l => l.StartsWith("RESULT ", StringComparison.Ordinal))
            ?? throw new InvalidOperationException($"no RESULT line:\n{this}");
        return JsonDocument.Parse(line["RESULT ".Length..]).RootElement.Clone();
    }

    public override string ToString() => $"exit {ExitCode} after {Duration.TotalSeconds:0.0} s\n--- stdout\n{Output}\n--- stderr\n{Tail(Error)}";

    private static string Tail(string text) => string.Join('\n', text.Split('\n').TakeLast(40));
}
