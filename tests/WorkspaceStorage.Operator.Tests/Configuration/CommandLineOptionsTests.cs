using WorkspaceStorage.Core.Model;
using WorkspaceStorage.Operator.Configuration;

namespace WorkspaceStorage.Operator.Tests.Configuration;

public sealed class CommandLineOptionsTests
{
    private const string Secret = "adminSecretThatMustNotLeak";

    private static CommandLineParseResult Parse(string[] args, Dictionary<string, string>? environment = null, Dictionary<string, string>? files = null)
    {
        var options = new CommandLineOptions(
            name => environment is not null && environment.TryGetValue(name, out var value) ? value : null,
            path => files is not null && files.TryGetValue(path, out var content) ? content : throw new FileNotFoundException("missing", path));
        return options.Parse(args);
    }

    private static IReadOnlyList<string> Errors(string[] args, Dictionary<string, string>? environment = null, Dictionary<string, string>? files = null)
    {
        var result = Parse(args, environment, files);
        Assert.False(result.IsValid);
        Assert.All(result.Errors, e => Assert.DoesNotContain(Secret, e, StringComparison.Ordinal));
        return result.Errors;
    }

    [Fact]
    public void No_flags_means_no_default_backend_and_sensible_process_defaults()
    {
        var options = Parse([]).Options!;

        Assert.Null(options.DefaultBackend);
        Assert.False(options.HasDefaultBackend);
        Assert.False(options.LeaderElect);
        Assert.Equal("workspace-storage-operator", options.LeaderElectionId);
        Assert.Equal((8080, 8081), (options.MetricsPort, options.HealthPort));
        Assert.Null(options.WatchNamespace);
    }

    [Fact]
    public void Hypha_style_flags_define_the_default_backend()
    {
        var options = Parse(
        [
            "--endpoint-url", "http://rgw.storage.svc:7480/", "--endpoint-url-public", "https://s3.example.org",
            "--access-key-id", "ADMIN", "--secret-access-key", Secret, "--s3-admin-type", "ceph-rgw",
            "--workspace-bucket", "my-workspaces", "--region-name", "EU", "--leader-elect",
        ],
        environment: new() { ["POD_NAMESPACE"] = "workspace-storage-system", ["POD_NAME"] = "operator-abc" }).Options!;

        var backend = options.DefaultBackend!;
        Assert.Equal(StorageBackendType.CephRgw, backend.Type);
        Assert.Equal("http://rgw.storage.svc:7480", backend.Endpoint);
        Assert.Equal("https://s3.example.org", backend.PublicEndpoint);
        Assert.Equal("my-workspaces", backend.Bucket);
        Assert.Equal("EU", backend.Region);
        Assert.Equal(("ADMIN", Secret), (backend.AdminCredentials.AccessKeyId, backend.AdminCredentials.SecretAccessKey));
        Assert.True(backend.PathStyle);
        Assert.True(options.LeaderElect);
        Assert.Equal(("workspace-storage-system", "operator-abc"), (options.LeaderElectionNamespace, options.PodName));
        Assert.DoesNotContain(Secret, options.ToString(), StringComparison.Ordinal);
    }

    [Fact]
    public void Defaults_follow_hypha_and_the_crd()
    {
        var backend = Parse(["--endpoint-url", "http://minio:9000", "--access-key-id", "a", "--secret-access-key", Secret]).Options!.DefaultBackend!;
        Assert.Equal(StorageBackendType.Minio, backend.Type);
        Assert.Equal("http://minio:9000", backend.PublicEndpoint);
        Assert.Equal(StorageBackendSpec.DefaultBucket, backend.Bucket);
        Assert.Equal(StorageBackendSpec.DefaultRegion, backend.Region);
    }

    [Fact]
    public void Secret_key_can_come_from_a_file_without_its_trailing_newline()
    {
        var backend = Parse(
            ["--endpoint-url", "http://minio:9000", "--access-key-id", "a", "--secret-access-key-file", "/etc/admin/secret"],
            files: new() { ["/etc/admin/secret"] = Secret + "\n" }).Options!.DefaultBackend!;
        Assert.Equal(Secret, backend.AdminCredentials.SecretAccessKey);
    }

    [Fact]
    public void Keys_can_come_from_the_environment()
    {
        var backend = Parse(
            ["--endpoint-url", "http://minio:9000"],
            environment: new() { ["WSO_SECRET_ACCESS_KEY"] = Secret, ["WSO_ACCESS_KEY_ID"] = "envid" }).Options!.DefaultBackend!;
        Assert.Equal(("envid", Secret), (backend.AdminCredentials.AccessKeyId, backend.AdminCredentials.SecretAccessKey));
    }

    [Fact]
    public void Two_secret_sources_are_refused_rather_than_one_silently_winning()
    {
        var error = Assert.Single(Errors(
            ["--endpoint-url", "http://minio:9000", "--access-key-id", "a", "--secret-access-key", Secret],
            environment: new() { ["WSO_SECRET_ACCESS_KEY"] = "other" }));
        Assert.StartsWith("--secret-access-key: given more than once", error, StringComparison.Ordinal);
        Assert.Contains("env WSO_SECRET_ACCESS_KEY", error, StringComparison.Ordinal);
    }

    [Fact]
    public void Missing_credentials_name_the_flags()
    {
        var errors = Errors(["--endpoint-url", "http://minio:9000"]);
        Assert.Contains(errors, e => e.StartsWith("--access-key-id: required", StringComparison.Ordinal));
        Assert.Contains(errors, e => e.StartsWith("--secret-access-key: required", StringComparison.Ordinal));
    }

    [Fact]
    public void Unreadable_or_empty_secret_file_is_reported_without_content()
    {
        Assert.Contains(Errors(["--endpoint-url", "http://m:9000", "--access-key-id", "a", "--secret-access-key-file", "/nope"]), e => e.StartsWith("--secret-access-key-file: cannot read '/nope'", StringComparison.Ordinal));
        Assert.Contains(Errors(["--endpoint-url", "http://m:9000", "--access-key-id", "a", "--secret-access-key-file", "/empty"], files: new() { ["/empty"] = "\n" }), e => e.StartsWith("--secret-access-key-file: the secret key is empty", StringComparison.Ordinal));
    }

    [Theory]
    [InlineData("--endpoint-url", "minio:9000", "--endpoint-url: must")]
    [InlineData("--endpoint-url", "http://admin:" + Secret + "@minio:9000", "--endpoint-url: must not contain user info")]
    [InlineData("--endpoint-url-public", "ftp://x", "--endpoint-url-public: must use http or https")]
    [InlineData("--workspace-bucket", "Bad_Bucket", "--workspace-bucket: must be 3-63")]
    [InlineData("--region-name", "eu west", "--region-name: must be")]
    [InlineData("--s3-admin-type", "generic", "--s3-admin-type: 'generic' is not supported")]
    [InlineData("--s3-admin-type", "garage", "--s3-admin-type: must be minio, ceph-rgw or aws (got 'garage')")]
    public void Bad_backend_flags_are_refused_naming_the_flag(string flag, string value, string expected)
    {
        var args = new List<string> { "--endpoint-url", "http://minio:9000", "--access-key-id", "a", "--secret-access-key", Secret };
        var existing = args.IndexOf(flag);
        if (existing >= 0)
        {
            args[existing + 1] = value;
        }
        else
        {
            args.AddRange([flag, value]);
        }

        Assert.Contains(Errors([.. args]), e => e.StartsWith(expected, StringComparison.Ordinal));
    }

    [Fact]
    public void Backend_flags_without_an_endpoint_are_an_error_not_ignored()
    {
        var errors = Errors(["--access-key-id", "a", "--secret-access-key", Secret, "--workspace-bucket", "b-b-b"]);
        Assert.Contains("--access-key-id: needs --endpoint-url (it configures the default backend)", errors);
        Assert.Contains(errors, e => e.StartsWith("--secret-access-key: needs --endpoint-url", StringComparison.Ordinal));
        Assert.Contains(errors, e => e.StartsWith("--workspace-bucket: needs --endpoint-url", StringComparison.Ordinal));
    }

    [Fact]
    public void Process_flags_are_validated()
    {
        var errors = Errors(["--metrics-port", "70000", "--health-port", "0", "--leader-election-namespace", "Bad_NS", "--watch-namespace", "x_y"]);
        Assert.Contains(errors, e => e.StartsWith("--metrics-port: must be between", StringComparison.Ordinal));
        Assert.Contains(errors, e => e.StartsWith("--health-port: must be between", StringComparison.Ordinal));
        Assert.Contains(errors, e => e.StartsWith("--leader-election-namespace: must be a DNS-1123 label", StringComparison.Ordinal));
        Assert.Contains(errors, e => e.StartsWith("--watch-namespace:", StringComparison.Ordinal));
        Assert.Contains("--health-port: must differ from --metrics-port", Errors(["--metrics-port", "9000", "--health-port", "9000"]));
    }

    [Fact]
    public void Unknown_flags_and_bad_numbers_are_parse_errors()
    {
        Assert.NotEmpty(Errors(["--no-such-flag"]));
        Assert.NotEmpty(Errors(["--metrics-port", "many"]));
    }

    [Fact]
    public void Leader_election_needs_a_namespace_from_the_flag_or_the_pod()
    {
        Assert.Contains(Errors(["--leader-elect"]), e => e.StartsWith("--leader-election-namespace: required with --leader-elect", StringComparison.Ordinal));
        Assert.Equal("ops", Parse(["--leader-elect", "--leader-election-namespace", "ops"], environment: new() { ["POD_NAMESPACE"] = "pod-ns" }).Options!.LeaderElectionNamespace);
        Assert.Equal("pod-ns", Parse(["--leader-elect"], environment: new() { ["POD_NAMESPACE"] = "pod-ns" }).Options!.LeaderElectionNamespace);
    }
}
