using WorkspaceStorage.Storage.Tests.Minio.Clients;

namespace WorkspaceStorage.Storage.Tests.Minio;

/// <summary>
/// Builds GoOracle/ against madmin-go 2.0.7 (Debian bookworm's golang-github-minio-madmin-go-dev, with the
/// system's Go) once per test run and runs it. When Go or madmin-go is missing, <see cref="Require"/> skips the test
/// with the reason.
/// </summary>
public sealed class GoOracle : IDisposable
{
    private const string DebianGoPath = "/usr/share/gocode";
    private readonly string workDir = Path.Combine(Path.GetTempPath(), "wso-madmin-oracle-" + Guid.NewGuid().ToString("N")[..12]);
    private readonly Lazy<(GoOracleBinary? Binary, string? SkipReason)> build;

    public GoOracle() => build = new(Build, LazyThreadSafetyMode.ExecutionAndPublication);

    /// <summary>The oracle binary, or a skip when the toolchain or madmin-go is absent. A build error of our own fails.</summary>
    public string Require() => Binary.Path;

    public Task<byte[]> RunAsync(byte[] stdin, params string[] arguments) => Binary.RunAsync(stdin, arguments);

    internal GoOracleBinary Binary
    {
        get
        {
            var (binary, skip) = build.Value;
            if (binary is null)
            {
                Assert.Skip(skip ?? "the madmin-go oracle could not be built");
            }

            return binary!;
        }
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

    private (GoOracleBinary?, string?) Build()
    {
        var go = ExternalProcess.FindOnPath("go");
        if (go is null)
        {
            return (null, "the Go toolchain ('go') is not on PATH; install golang-go (scripts/install-deps.sh) to compare with madmin-go");
        }

        if (!Directory.Exists(Path.Combine(DebianGoPath, "src", "github.com", "minio", "madmin-go")))
        {
            return (null, $"madmin-go is not installed under {DebianGoPath}; install golang-github-minio-madmin-go-dev (scripts/install-deps.sh)");
        }

        var source = Path.Combine(AppContext.BaseDirectory, "Minio", "GoOracle");
        var (binary, error) = new GoToolchain(go, null, DebianGoPath, null).BuildAsync(source, workDir, "madminoracle").GetAwaiter().GetResult();
        if (binary is null)
        {
            if (error!.Contains("cannot find package", StringComparison.Ordinal))
            {
                return (null, "madmin-go or one of its dependencies is missing from GOPATH: " + error);
            }

            throw new InvalidOperationException("building the madmin-go oracle failed: " + error);
        }

        return (new GoOracleBinary(binary, "madmin 2.0.7 oracle"), null);
    }
}

[CollectionDefinition(Name)]
public sealed class GoOracleCollection : ICollectionFixture<GoOracle>
{
    public const string Name = "madmin-go oracle";
}
