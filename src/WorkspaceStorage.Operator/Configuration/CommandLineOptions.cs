using System.CommandLine;
using WorkspaceStorage.Core.Model;
using WorkspaceStorage.Core.Signing;

namespace WorkspaceStorage.Operator.Configuration;

/// <summary>The outcome of parsing the command line: options, or errors each naming the flag (never a secret value).</summary>
public sealed record CommandLineParseResult(OperatorOptions? Options, IReadOnlyList<string> Errors)
{
    public bool IsValid => Options is not null;
}

/// <summary>
/// Parses and validates the operator's flags at start-up. The admin secret key may come from
/// <c>--secret-access-key</c> (visible in the pod spec and process list: avoid), <c>--secret-access-key-file</c>
/// (a mounted Secret) or the <c>WSO_SECRET_ACCESS_KEY</c> environment variable (<c>valueFrom.secretKeyRef</c>);
/// exactly one of them.
/// </summary>
public sealed class CommandLineOptions
{
    public const string SecretAccessKeyEnvironmentVariable = "WSO_SECRET_ACCESS_KEY";
    public const string AccessKeyIdEnvironmentVariable = "WSO_ACCESS_KEY_ID";
    public const string DefaultLeaderElectionId = "workspace-storage-operator";
    public const string PodNamespaceEnvironmentVariable = "POD_NAMESPACE";
    public const string PodNameEnvironmentVariable = "POD_NAME";

    private readonly Func<string, string?> getEnvironmentVariable;
    private readonly Func<string, string> readFile;

    public CommandLineOptions()
        : this(Environment.GetEnvironmentVariable, File.ReadAllText)
    {
    }

    /// <param name="getEnvironmentVariable">Reads an environment variable (tests pass a dictionary).</param>
    /// <param name="readFile">Reads a whole file (tests pass a fake).</param>
    public CommandLineOptions(Func<string, string?> getEnvironmentVariable, Func<string, string> readFile)
    {
        this.getEnvironmentVariable = getEnvironmentVariable;
        this.readFile = readFile;
        RootCommand = new RootCommand("WorkspaceStorage operator: S3 storage for Hypha workspaces")
        {
            EndpointUrl, EndpointUrlPublic, AccessKeyId, SecretAccessKey, SecretAccessKeyFile, AdminType, WorkspaceBucket, RegionName, PathStyle,
            AllowedClaim, AllowClaimsFromAnyNamespace, LeaderElect, LeaderElectionId, LeaderElectionNamespace, MetricsPort, HealthPort, WatchNamespace,
        };
    }

    public RootCommand RootCommand { get; }

    public Option<string?> EndpointUrl { get; } = new("--endpoint-url") { Description = "S3 URL of the default backend, used by the operator (Hypha: --endpoint-url). Without it there is no default backend and every WorkspaceStorage needs spec.backendRef." };

    public Option<string?> EndpointUrlPublic { get; } = new("--endpoint-url-public") { Description = "S3 URL written into Secrets (default: --endpoint-url)." };

    public Option<string?> AccessKeyId { get; } = new("--access-key-id") { Description = $"Admin access key id of the default backend (or env {AccessKeyIdEnvironmentVariable})." };

    public Option<string?> SecretAccessKey { get; } = new("--secret-access-key") { Description = $"Admin secret key. Prefer --secret-access-key-file or env {SecretAccessKeyEnvironmentVariable}: flags show up in the pod spec and process list." };

    public Option<string?> SecretAccessKeyFile { get; } = new("--secret-access-key-file") { Description = "File holding the admin secret key (e.g. a mounted Secret)." };

    public Option<string?> AdminType { get; } = new("--s3-admin-type") { Description = "Admin API of the default backend: minio, ceph-rgw or aws (default minio, as Hypha)." };

    public Option<string?> WorkspaceBucket { get; } = new("--workspace-bucket") { Description = $"Shared bucket (default {StorageBackendSpec.DefaultBucket})." };

    public Option<string?> RegionName { get; } = new("--region-name") { Description = $"Region (default {StorageBackendSpec.DefaultRegion})." };

    public Option<bool> PathStyle { get; } = new("--path-style") { Description = "Path-style S3 addressing for the default backend.", DefaultValueFactory = _ => true };

    public Option<string[]> AllowedClaim { get; } = new("--allowed-claim")
    {
        Description = "The default backend's claim ceiling: NAMESPACE=PATTERN[,PATTERN…] lets WorkspaceStorages in NAMESPACE claim workspaces matching a pattern ('*' any run of characters); repeat for more. Without it (and without --allow-claims-from-any-namespace) no WorkspaceStorage may use the default backend.",
        AllowMultipleArgumentsPerToken = false,
    };

    public Option<bool> AllowClaimsFromAnyNamespace { get; } = new("--allow-claims-from-any-namespace") { Description = "Single-tenant: every namespace may claim every workspace on the default backend." };

    public Option<bool> LeaderElect { get; } = new("--leader-elect") { Description = "Hold a Lease so only one replica reconciles." };

    public Option<string?> LeaderElectionId { get; } = new("--leader-election-id") { Description = $"Name of the Lease (default {DefaultLeaderElectionId})." };

    public Option<string?> LeaderElectionNamespace { get; } = new("--leader-election-namespace") { Description = $"Namespace of the Lease (default: env {PodNamespaceEnvironmentVariable}, the pod's own namespace)." };

    public Option<int> MetricsPort { get; } = new("--metrics-port") { Description = "Port of /metrics.", DefaultValueFactory = _ => 8080 };

    public Option<int> HealthPort { get; } = new("--health-port") { Description = "Port of /healthz and /readyz.", DefaultValueFactory = _ => 8081 };

    public Option<string?> WatchNamespace { get; } = new("--watch-namespace") { Description = "Watch WorkspaceStorages in this namespace only (default: all)." };

    public CommandLineParseResult Parse(IReadOnlyList<string> args)
    {
        var parsed = RootCommand.Parse(args);
        var errors = parsed.Errors.Select(e => e.Message).ToList();
        if (errors.Count > 0)
        {
            return new(null, errors);
        }

        var defaultBackend = ParseDefaultBackend(parsed, errors);
        var metricsPort = parsed.GetValue(MetricsPort);
        var healthPort = parsed.GetValue(HealthPort);
        CheckPort("--metrics-port", metricsPort, errors);
        CheckPort("--health-port", healthPort, errors);
        if (metricsPort == healthPort)
        {
            errors.Add("--health-port: must differ from --metrics-port");
        }

        var leaseName = parsed.GetValue(LeaderElectionId) ?? DefaultLeaderElectionId;
        AddIfError(errors, "--leader-election-id", StorageFieldRules.ObjectNameError(leaseName));
        var leaseNamespace = parsed.GetValue(LeaderElectionNamespace) ?? NonEmpty(getEnvironmentVariable(PodNamespaceEnvironmentVariable));
        if (leaseNamespace is not null)
        {
            AddIfError(errors, "--leader-election-namespace", StorageFieldRules.NamespaceError(leaseNamespace));
        }
        else if (parsed.GetValue(LeaderElect))
        {
            errors.Add($"--leader-election-namespace: required with --leader-elect when env {PodNamespaceEnvironmentVariable} is not set (outside a pod)");
        }

        var watchNamespace = parsed.GetValue(WatchNamespace);
        if (watchNamespace is not null)
        {
            AddIfError(errors, "--watch-namespace", StorageFieldRules.NamespaceError(watchNamespace));
        }

        return errors.Count > 0
            ? new(null, errors)
            : new(new OperatorOptions(defaultBackend, parsed.GetValue(LeaderElect), leaseName, leaseNamespace, NonEmpty(getEnvironmentVariable(PodNameEnvironmentVariable)), metricsPort, healthPort, watchNamespace), []);
    }

    private DefaultBackendOptions? ParseDefaultBackend(ParseResult parsed, List<string> errors)
    {
        var endpoint = parsed.GetValue(EndpointUrl);
        var accessKeyId = parsed.GetValue(AccessKeyId) ?? NonEmpty(getEnvironmentVariable(AccessKeyIdEnvironmentVariable));
        var secretSources = new List<(string Source, Func<string?> Read)>();
        if (parsed.GetValue(SecretAccessKey) is { } inline)
        {
            secretSources.Add(("--secret-access-key", () => inline));
        }

        if (parsed.GetValue(SecretAccessKeyFile) is { } file)
        {
            secretSources.Add(("--secret-access-key-file", () => ReadSecretFile(file, errors)));
        }

        if (NonEmpty(getEnvironmentVariable(SecretAccessKeyEnvironmentVariable)) is { } fromEnvironment)
        {
            secretSources.Add(($"env {SecretAccessKeyEnvironmentVariable}", () => fromEnvironment));
        }

        var backendFlagsGiven = new[] { EndpointUrlPublic, AdminType, WorkspaceBucket, RegionName }
            .Where(o => parsed.GetValue(o) is not null)
            .Select(o => o.Name)
            .ToList();

        if (endpoint is null)
        {
            // Flags for a default backend without its endpoint are a mistake, not a silent no-op.
            if (parsed.GetValue(AccessKeyId) is not null)
            {
                backendFlagsGiven.Insert(0, "--access-key-id");
            }

            if (secretSources.Any(s => s.Source.StartsWith("--", StringComparison.Ordinal)))
            {
                backendFlagsGiven.AddRange(secretSources.Where(s => s.Source.StartsWith("--", StringComparison.Ordinal)).Select(s => s.Source));
            }

            foreach (var flag in backendFlagsGiven)
            {
                errors.Add($"{flag}: needs --endpoint-url (it configures the default backend)");
            }

            return null;
        }

        AddIfError(errors, "--endpoint-url", StorageFieldRules.EndpointError(endpoint));
        var publicEndpoint = parsed.GetValue(EndpointUrlPublic);
        if (publicEndpoint is not null)
        {
            AddIfError(errors, "--endpoint-url-public", StorageFieldRules.EndpointError(publicEndpoint));
        }

        var type = StorageBackendType.Minio;
        switch (parsed.GetValue(AdminType))
        {
            case null or "minio":
                break;
            case "ceph-rgw":
                type = StorageBackendType.CephRgw;
                break;
            case "aws":
                type = StorageBackendType.Aws;
                break;
            case "generic":
                errors.Add("--s3-admin-type: 'generic' is not supported: per-workspace identities need an admin API (use minio, ceph-rgw or aws)");
                break;
            case var other:
                errors.Add($"--s3-admin-type: must be minio, ceph-rgw or aws (got '{other}')");
                break;
        }

        var bucket = parsed.GetValue(WorkspaceBucket) ?? StorageBackendSpec.DefaultBucket;
        AddIfError(errors, "--workspace-bucket", StorageFieldRules.BucketError(bucket));
        var region = parsed.GetValue(RegionName) ?? StorageBackendSpec.DefaultRegion;
        AddIfError(errors, "--region-name", StorageFieldRules.RegionError(region));

        if (string.IsNullOrWhiteSpace(accessKeyId))
        {
            errors.Add($"--access-key-id: required with --endpoint-url (or env {AccessKeyIdEnvironmentVariable})");
        }

        string? secret = null;
        switch (secretSources.Count)
        {
            case 0:
                errors.Add($"--secret-access-key: required with --endpoint-url; give --secret-access-key-file or env {SecretAccessKeyEnvironmentVariable} (or the flag itself)");
                break;
            case 1:
                secret = secretSources[0].Read();
                if (secret is not null && secret.Length == 0)
                {
                    errors.Add($"{secretSources[0].Source}: the secret key is empty");
                    secret = null;
                }

                break;
            default:
                errors.Add($"--secret-access-key: given more than once ({string.Join(", ", secretSources.Select(s => s.Source))}); use exactly one source");
                break;
        }

        if (errors.Count > 0 || secret is null || accessKeyId is null)
        {
            return null;
        }

        var ceiling = ParseCeiling(parsed, errors);
        if (errors.Count > 0)
        {
            return null;
        }

        var normalizedEndpoint = StorageFieldRules.NormalizeEndpoint(endpoint);
        return new DefaultBackendOptions(
            type,
            normalizedEndpoint,
            publicEndpoint is null ? normalizedEndpoint : StorageFieldRules.NormalizeEndpoint(publicEndpoint),
            region,
            bucket,
            new AwsCredentials(accessKeyId.Trim(), secret),
            parsed.GetValue(PathStyle),
            ceiling);
    }

    /// <summary>--allowed-claim NAMESPACE=PATTERN[,PATTERN…] (repeated) and --allow-claims-from-any-namespace, checked by the rules a StorageBackend's spec.allowedClaims keeps.</summary>
    private ClaimCeiling ParseCeiling(ParseResult parsed, List<string> errors)
    {
        var entries = new List<AllowedClaim>();
        foreach (var value in parsed.GetValue(AllowedClaim) ?? [])
        {
            var split = value.IndexOf('=', StringComparison.Ordinal);
            if (split <= 0 || split == value.Length - 1)
            {
                errors.Add($"--allowed-claim: '{value}' must be NAMESPACE=PATTERN[,PATTERN…]");
                continue;
            }

            entries.Add(new AllowedClaim { Namespaces = [value[..split]], Workspaces = value[(split + 1)..].Split(',') });
        }

        var fieldErrors = new List<FieldError>();
        var ceiling = ClaimCeiling.From("the default backend's --allowed-claim", parsed.GetValue(AllowClaimsFromAnyNamespace), entries, "--allowed-claim", fieldErrors);
        errors.AddRange(fieldErrors.Select(e => e.ToString()));
        return ceiling;
    }

    private string? ReadSecretFile(string path, List<string> errors)
    {
        try
        {
            // Files mounted from Secrets or written by `echo` end in a newline that is not part of the key.
            return readFile(path).TrimEnd('\r', '\n');
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException or ArgumentException or NotSupportedException)
        {
            errors.Add($"--secret-access-key-file: cannot read '{path}' ({e.GetType().Name})");
            return null;
        }
    }

    private static string? NonEmpty(string? value) => string.IsNullOrEmpty(value) ? null : value;

    private static void CheckPort(string flag, int port, List<string> errors)
    {
        if (port is < 1 or > 65535)
        {
            errors.Add($"{flag}: must be between 1 and 65535 (got {port})");
        }
    }

    private static void AddIfError(List<string> errors, string flag, string? rule)
    {
        if (rule is not null)
        {
            errors.Add($"{flag}: {rule}");
        }
    }
}
