using System.Diagnostics;

namespace WorkspaceStorage.Storage.Tests.Minio;

/// <summary>
/// Builds GoOracle/main.go (the official madmin-go client, Debian's golang-github-minio-madmin-go-dev) once per test
/// run and runs it. When Go or madmin-go is missing, <see cref="Require"/> skips the test with the reason.
/// </summary>
public sealed class GoOracle : IDisposable
{
    private const string DebianGoPath = "/usr/share/gocode";
    private readonly string workDir = Path.Combine(Path.GetTempPath(), "wso-madmin-oracle-" + Guid.NewGuid().ToString("N")[..12]);
    private readonly Lazy<(string? Binary, string? SkipReason)> build;

    public GoOracle() => build = new(Build, LazyThreadSafetyMode.ExecutionAndPublication);

    /// <summary>The oracle binary, or a skip when the toolchain or madmin-go is absent. A build error of our own fails.</summary>
    public string Require()
    {
        var (binary, skip) = build.Value;
        if (binary is null)
        {
            Assert.Skip(skip ?? "the madmin-go oracle could not be built");
        }

        return binary;
    }

    public async Task<byte[]> RunAsync(byte[] stdin, params string[] arguments)
    {
        var (exitCode, stdout, stderr) = await RunProcessAsync(Require(), arguments, stdin, null, TimeSpan.FromSeconds(60));
        Assert.True(exitCode == 0, $"madmin oracle {arguments[0]} {(arguments.Length > 4 ? arguments[4] : "")} failed: {stderr}");
        return stdout;
    }

    public void Dispose()
    {
        try
        {
            Directory.Delete(workDir, recursive: true);
        }
        catch (IOException)
        {
        }
    }

    private (string?, string?) Build()
    {
        var source = Path.Combine(AppContext.BaseDirectory, "Minio", "GoOracle", "main.go");
        if (!File.Exists(source))
        {
            throw new FileNotFoundException("GoOracle/main.go was not copied to the test output", source);
        }

        var go = FindOnPath("go");
        if (go is null)
        {
            return (null, "the Go toolchain ('go') is not on PATH; install golang-go (scripts/install-deps.sh) to compare with madmin-go");
        }

        if (!Directory.Exists(Path.Combine(DebianGoPath, "src", "github.com", "minio", "madmin-go")))
        {
            return (null, $"madmin-go is not installed under {DebianGoPath}; install golang-github-minio-madmin-go-dev (scripts/install-deps.sh)");
        }

        var package = Path.Combine(workDir, "src", "madminoracle");
        Directory.CreateDirectory(package);
        File.Copy(source, Path.Combine(package, "main.go"), overwrite: true);
        var binary = Path.Combine(workDir, "madmin-oracle");
        var environment = new Dictionary<string, string>
        {
            ["GO111MODULE"] = "off",
            ["GOPATH"] = workDir + ":" + DebianGoPath,
            ["GOFLAGS"] = "",
            ["CGO_ENABLED"] = "0",
        };
        if (Environment.GetEnvironmentVariable("GOCACHE") is null && Environment.GetEnvironmentVariable("HOME") is null)
        {
            environment["GOCACHE"] = Path.Combine(workDir, "gocache");
        }

        var (exitCode, _, stderr) = RunProcessAsync(go, ["build", "-o", binary, "."], [], environment, TimeSpan.FromMinutes(5), package)
            .GetAwaiter().GetResult();
        if (exitCode != 0)
        {
            if (stderr.Contains("cannot find package", StringComparison.Ordinal))
            {
                return (null, "madmin-go or one of its dependencies is missing from GOPATH: " + stderr.Trim());
            }

            throw new InvalidOperationException("building the madmin-go oracle failed: " + stderr);
        }

        return (binary, null);
    }

    private static string? FindOnPath(string name) =>
        (Environment.GetEnvironmentVariable("PATH") ?? "").Split(Path.PathSeparator, StringSplitOptions.RemoveEmptyEntries)
            .Select(dir => Path.Combine(dir, name))
            .FirstOrDefault(File.Exists);

    private static async Task<(int ExitCode, byte[] Stdout, string Stderr)> RunProcessAsync(string fileName, IReadOnlyList<string> arguments,
        byte[] stdin, IReadOnlyDictionary<string, string>? environment, TimeSpan timeout, string? workingDirectory = null)
    {
        var info = new ProcessStartInfo(fileName)
        {
            RedirectStandardInput = true,
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            UseShellExecute = false,
            WorkingDirectory = workingDirectory ?? Environment.CurrentDirectory,
        };
        foreach (var argument in arguments)
        {
            info.ArgumentList.Add(argument);
        }

        foreach (var (key, value) in environment ?? new Dictionary<string, string>())
        {
            info.Environment[key] = value;
        }

        using var process = Process.Start(info) ?? throw new InvalidOperationException("could not start " + fileName);
        using var cancel = new CancellationTokenSource(timeout);
        var stdout = new MemoryStream();
        var copyOut = process.StandardOutput.BaseStream.CopyToAsync(stdout, cancel.Token);
        var readErr = process.StandardError.ReadToEndAsync(cancel.Token);
        await process.StandardInput.BaseStream.WriteAsync(stdin, cancel.Token);
        process.StandardInput.Close();
        try
        {
            await process.WaitForExitAsync(cancel.Token);
            await copyOut;
            return (process.ExitCode, stdout.ToArray(), await readErr);
        }
        catch (OperationCanceledException)
        {
            process.Kill(entireProcessTree: true);
            return (-1, stdout.ToArray(), "timed out after " + timeout);
        }
    }
}

[CollectionDefinition(Name)]
public sealed class GoOracleCollection : ICollectionFixture<GoOracle>
{
    public const string Name = "madmin-go oracle";
}
