namespace WorkspaceStorage.Storage.Tests.Minio.Clients;

/// <summary>
/// Builds GoOracle/ with -tags madmin3 against madmin-go 3.x (Debian trixie's, the library today's mc is built with) with
/// trixie's Go, once per test run. Missing tools skip (or, under make test, fail) through <see cref="MinioClientTools"/>;
/// a build error of our own fails.
/// </summary>
public sealed class Madmin3Oracle : IDisposable
{
    private readonly string workDir = Path.Combine(Path.GetTempPath(), "wso-madmin3-oracle-" + Guid.NewGuid().ToString("N")[..12]);
    private readonly Lazy<GoOracleBinary> build;

    public Madmin3Oracle() => build = new(Build, LazyThreadSafetyMode.ExecutionAndPublication);

    internal GoOracleBinary Binary
    {
        get
        {
            MinioClientTools.Require(); // a skip is not cached by Lazy: check every time
            return build.Value;
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

    private GoOracleBinary Build()
    {
        var tools = MinioClientTools.Require();
        var source = Path.Combine(AppContext.BaseDirectory, "Minio", "GoOracle");
        var (binary, error) = tools.Go.BuildAsync(source, workDir, "madmin3oracle", tags: "madmin3").GetAwaiter().GetResult();
        return binary is null
            ? throw new InvalidOperationException($"building the madmin-go {tools.MadminVersion} oracle failed: {error}")
            : new GoOracleBinary(binary, $"madmin-go {tools.MadminVersion} oracle");
    }
}

[CollectionDefinition(Name)]
public sealed class Madmin3OracleCollection : ICollectionFixture<Madmin3Oracle>
{
    public const string Name = "madmin-go 3 oracle";
}
