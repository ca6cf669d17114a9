namespace WorkspaceStorage.Storage.Tests.Minio.Clients;

/// <summary>
/// Today's MinIO clients as <c>scripts/install-minio-clients.sh</c> leaves them (Debian trixie's packages, unpacked
/// under .local/minio-clients, described by its tools.env): <c>mc</c>, and Go 1.24 with madmin-go 3.x. Tests call
/// <see cref="Require"/>: without the tools they are skipped with the install command, and under <c>make test</c>
/// (WSO_TEST_MINIO_CLIENTS_REQUIRED=1) they fail instead.
/// </summary>
internal sealed record MinioClientTools(string Mc, string GoRoot, string GoCode, string Directory, string McPackageVersion, string MadminVersion)
{
    public const string RequiredVariable = "WSO_TEST_MINIO_CLIENTS_REQUIRED";
    public const string InstallHint = "install them with: scripts/install-minio-clients.sh (about 120 MB from Debian trixie, unpacked under .local/minio-clients)";

    /// <summary>madmin-go 3.x's toolchain; its build cache lives beside the tools so that only the first build is slow.</summary>
    public GoToolchain Go => new(System.IO.Path.Combine(GoRoot, "bin", "go"), GoRoot, GoCode, System.IO.Path.Combine(Directory, "gocache"));

    public static MinioClientTools Require()
    {
        var (tools, why) = Find();
        if (tools is null)
        {
            Unavailable(why!);
        }

        return tools!;
    }

    /// <summary>Skips the test, or fails it under make test.</summary>
    public static void Unavailable(string why)
    {
        if (Environment.GetEnvironmentVariable(RequiredVariable) == "1")
        {
            throw new InvalidOperationException($"{why}; make test requires today's MinIO clients ({InstallHint})");
        }

        Assert.Skip($"{why}; {InstallHint}");
    }

    private static (MinioClientTools?, string?) Find()
    {
        var directory = Environment.GetEnvironmentVariable("WSO_MINIO_CLIENTS_DIR") ?? System.IO.Path.Combine(RepositoryRoot(), ".local", "minio-clients");
        var file = System.IO.Path.Combine(directory, "tools.env");
        if (!File.Exists(file))
        {
            return (null, $"mc and madmin-go 3 are not installed ({file} is missing)");
        }

        var values = File.ReadAllLines(file)
            .Where(l => l.Length > 0 && !l.StartsWith('#') && l.Contains('=', StringComparison.Ordinal))
            .ToDictionary(l => l[..l.IndexOf('=', StringComparison.Ordinal)], l => l[(l.IndexOf('=', StringComparison.Ordinal) + 1)..], StringComparer.Ordinal);
        string Value(string key) => values.TryGetValue(key, out var v) ? v : "";
        var tools = new MinioClientTools(Value("MC"), Value("GOROOT"), Value("GOCODE"), directory, Value("MC_PACKAGE_VERSION"), Value("MADMIN_VERSION"));
        if (!File.Exists(tools.Mc) || !File.Exists(tools.Go.Go) || !System.IO.Directory.Exists(System.IO.Path.Combine(tools.GoCode, "src", "github.com", "minio", "madmin-go")))
        {
            return (null, $"{file} names tools that are gone (mc {tools.Mc}, Go {tools.GoRoot}, madmin-go under {tools.GoCode}); delete {directory} and reinstall");
        }

        return (tools, null);
    }

    private static string RepositoryRoot()
    {
        for (var dir = new DirectoryInfo(AppContext.BaseDirectory); dir is not null; dir = dir.Parent)
        {
            if (File.Exists(System.IO.Path.Combine(dir.FullName, "WorkspaceStorageOperator.sln")))
            {
                return dir.FullName;
            }
        }

        return Environment.CurrentDirectory;
    }
}
