namespace WorkspaceStorage.Storage.Tests.Minio.Clients;

/// <summary>
/// A Go toolchain and the GOPATH libraries it builds against, offline: GOPATH mode (GO111MODULE=off), GOPROXY=off,
/// GOTOOLCHAIN=local, so nothing is ever downloaded. Two of them exist side by side and never mix: bookworm's Go 1.19
/// with madmin-go 2.0.7 in /usr/share/gocode, and trixie's Go 1.24 with madmin-go 3.x unpacked under .local.
/// </summary>
/// <param name="GoRoot">null for a system toolchain that knows its own root.</param>
/// <param name="Cache">GOCACHE; null leaves Go's default (~/.cache/go-build).</param>
internal sealed record GoToolchain(string Go, string? GoRoot, string LibraryPath, string? Cache)
{
    /// <summary>
    /// Builds the Go files of <paramref name="sourceDirectory"/> (one main package) with the build <paramref name="tags"/>
    /// into <paramref name="workDir"/>; returns the binary, or the compiler's complaint.
    /// </summary>
    public async Task<(string? Binary, string? Error)> BuildAsync(string sourceDirectory, string workDir, string name, string? tags = null)
    {
        var sources = Directory.Exists(sourceDirectory) ? Directory.GetFiles(sourceDirectory, "*.go") : [];
        if (sources.Length == 0)
        {
            throw new FileNotFoundException($"the Go sources of {Path.GetFileName(sourceDirectory)} were not copied to the test output", sourceDirectory);
        }

        var package = Path.Combine(workDir, "src", name);
        Directory.CreateDirectory(package);
        foreach (var source in sources)
        {
            File.Copy(source, Path.Combine(package, Path.GetFileName(source)), overwrite: true);
        }

        var binary = Path.Combine(workDir, name);
        var environment = new Dictionary<string, string>
        {
            ["GO111MODULE"] = "off",
            ["GOPATH"] = workDir + ":" + LibraryPath,
            ["GOFLAGS"] = "",
            ["GOPROXY"] = "off",
            ["GOTOOLCHAIN"] = "local",
            ["CGO_ENABLED"] = "0",
        };
        if (GoRoot is not null)
        {
            environment["GOROOT"] = GoRoot;
        }

        if (Cache is not null)
        {
            environment["GOCACHE"] = Cache;
        }
        else if (Environment.GetEnvironmentVariable("GOCACHE") is null && Environment.GetEnvironmentVariable("HOME") is null)
        {
            environment["GOCACHE"] = Path.Combine(workDir, "gocache");
        }

        string[] arguments = tags is null ? ["build", "-o", binary, "."] : ["build", "-tags", tags, "-o", binary, "."];
        var result = await ExternalProcess.RunAsync(Go, arguments, [], environment, TimeSpan.FromMinutes(10), package);
        return result.ExitCode == 0 ? (binary, null) : (null, result.Stderr.Trim());
    }
}

/// <summary>A built Go oracle: runs it with stdin bytes and arguments and returns stdout, failing the test on a non-zero exit.</summary>
internal sealed class GoOracleBinary(string path, string label)
{
    public string Path { get; } = path;

    public async Task<byte[]> RunAsync(byte[] stdin, params string[] arguments)
    {
        var result = await ExternalProcess.RunAsync(Path, arguments, stdin, null, TimeSpan.FromSeconds(120));
        Assert.True(result.ExitCode == 0, $"{label} {arguments[0]} {(arguments.Length > 4 ? arguments[4] : "")} failed: {result.Stderr}");
        return result.Stdout;
    }

    /// <summary>Runs it and returns the exit code only (for "it must refuse" checks).</summary>
    public async Task<int> ExitCodeAsync(byte[] stdin, params string[] arguments) =>
        (await ExternalProcess.RunAsync(Path, arguments, stdin, null, TimeSpan.FromSeconds(120))).ExitCode;
}
