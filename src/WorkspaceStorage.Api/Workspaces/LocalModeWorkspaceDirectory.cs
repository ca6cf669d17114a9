using System.Text;
using Microsoft.Extensions.Options;
using WorkspaceStorage.Api.Workspaces;
using WorkspaceStorage.Core.Signing;
using WorkspaceStorage.Core.Workspaces;
using WorkspaceStorage.Storage.S3;
using YamlDotNet.Core;
using YamlDotNet.Serialization;

namespace WorkspaceStorage.Api.Workspaces;

/// <summary>
/// Reads the operator's local-mode output: <c>&lt;dir&gt;/workspacestorages/&lt;ns&gt;/&lt;name&gt;.yaml</c> (WorkspaceStorage
/// resources with their status) and <c>&lt;dir&gt;/secrets/&lt;ns&gt;/&lt;name&gt;.yaml</c> (the credential Secrets, keys
/// <c>AWS_ACCESS_KEY_ID</c>/<c>AWS_SECRET_ACCESS_KEY</c> in <c>data</c> (base64) or <c>stringData</c>). Backends come
/// from <c>Storage:Backends</c>, chosen by <c>status.backend</c> or <c>spec.backendRef.name</c> (or the only one).
/// A workspace is public when its WorkspaceStorage carries the annotation <see cref="PublicAnnotation"/>: "true".
/// The files are re-read when any of them changes (checked at most every <see cref="RefreshInterval"/>).
/// </summary>
public sealed class LocalModeWorkspaceDirectory : IWorkspaceStorageDirectory, IDisposable
{
    public const string PublicAnnotation = "workspacestorage.hypha.amun.ai/public";
    public const string AccessKeyIdKey = "AWS_ACCESS_KEY_ID";
    public const string SecretAccessKeyKey = "AWS_SECRET_ACCESS_KEY";

    private static readonly IDeserializer Yaml = new DeserializerBuilder().Build();
    private readonly string root;
    private readonly ConfiguredBackends backends;
    private readonly TimeProvider clock;
    private readonly ILogger<LocalModeWorkspaceDirectory> logger;
    private readonly SemaphoreSlim reload = new(1, 1);
    private Snapshot snapshot = Snapshot.Empty;
    private DateTimeOffset checkedAt = DateTimeOffset.MinValue;

    public LocalModeWorkspaceDirectory(IOptions<StorageOptions> options, S3ClientFactory clients, TimeProvider clock, ILoggerFactory loggers)
        : this(options.Value.LocalModeDirectory ?? throw new InvalidOperationException("Storage:LocalModeDirectory is not set"),
            new ConfiguredBackends(options.Value, clients, loggers), clock, loggers.CreateLogger<LocalModeWorkspaceDirectory>())
    {
    }

    public LocalModeWorkspaceDirectory(string root, ConfiguredBackends backends, TimeProvider clock, ILogger<LocalModeWorkspaceDirectory> logger)
    {
        this.root = root;
        this.backends = backends;
        this.clock = clock;
        this.logger = logger;
    }

    public TimeSpan RefreshInterval { get; init; } = TimeSpan.FromSeconds(1);

    public async ValueTask<bool> IsPublicAsync(WorkspaceId workspace, CancellationToken cancellationToken) =>
        (await CurrentAsync(cancellationToken)).Handles.TryGetValue(workspace.Value, out var handle) && handle.IsPublic;

    public async ValueTask<WorkspaceStorageHandle?> FindAsync(WorkspaceId workspace, CancellationToken cancellationToken) =>
        (await CurrentAsync(cancellationToken)).Handles.GetValueOrDefault(workspace.Value);

    public ValueTask<IReadOnlyList<BucketBookkeeping>> ListBookkeepingBucketsAsync(CancellationToken cancellationToken) =>
        ValueTask.FromResult<IReadOnlyList<BucketBookkeeping>>([.. backends.All.Select(b => new BucketBookkeeping(b.Location, b.Admin))]);

    public void Dispose() => backends.Dispose();

    private async ValueTask<Snapshot> CurrentAsync(CancellationToken cancellationToken)
    {
        if (clock.GetUtcNow() - checkedAt < RefreshInterval)
        {
            return snapshot;
        }

        await reload.WaitAsync(cancellationToken);
        try
        {
            if (clock.GetUtcNow() - checkedAt >= RefreshInterval)
            {
                var fingerprint = Fingerprint();
                if (fingerprint != snapshot.Fingerprint)
                {
                    snapshot = await LoadAsync(fingerprint, cancellationToken);
                }

                checkedAt = clock.GetUtcNow();
            }

            return snapshot;
        }
        finally
        {
            reload.Release();
        }
    }

    /// <summary>Names, sizes and modification times of every file: any write changes it.</summary>
    private string Fingerprint()
    {
        var text = new StringBuilder();
        foreach (var folder in new[] { "workspacestorages", "secrets" })
        {
            var path = Path.Combine(root, folder);
            if (!Directory.Exists(path))
            {
                continue;
            }

            foreach (var file in Directory.EnumerateFiles(path, "*.yaml", SearchOption.AllDirectories).Order(StringComparer.Ordinal))
            {
                var info = new FileInfo(file);
                text.Append(file).Append('|').Append(info.Length).Append('|').Append(info.LastWriteTimeUtc.Ticks).Append('\n');
            }
        }

        return text.ToString();
    }

    private async Task<Snapshot> LoadAsync(string fingerprint, CancellationToken cancellationToken)
    {
        var handles = new Dictionary<string, WorkspaceStorageHandle>(StringComparer.Ordinal);
        var folder = Path.Combine(root, "workspacestorages");
        if (Directory.Exists(folder))
        {
            foreach (var file in Directory.EnumerateFiles(folder, "*.yaml", SearchOption.AllDirectories).Order(StringComparer.Ordinal))
            {
                try
                {
                    if (await ReadWorkspaceAsync(file, cancellationToken) is { } handle)
                    {
                        handles[handle.Workspace.Value] = handle;
                    }
                }
                catch (Exception ex) when (ex is YamlException or IOException or FormatException or InvalidCastException)
                {
                    logger.LogWarning("Skipping local-mode file {File}: {Error}", file, ex.Message);
                }
            }
        }

        logger.LogInformation("Local-mode directory loaded {Count} workspaces from {Root}", handles.Count, root);
        return new Snapshot(fingerprint, handles);
    }

    private async Task<WorkspaceStorageHandle?> ReadWorkspaceAsync(string file, CancellationToken cancellationToken)
    {
        var resource = Yaml.Deserialize<Dictionary<object, object?>>(await File.ReadAllTextAsync(file, cancellationToken)) ?? [];
        var metadata = Map(resource, "metadata");
        var spec = Map(resource, "spec");
        var status = Map(resource, "status");
        var name = Text(metadata, "name");
        var ns = Text(metadata, "namespace") ?? Path.GetFileName(Path.GetDirectoryName(file)) ?? "default";
        var workspaceText = Text(status, "workspace") ?? Text(spec, "workspace") ?? name;
        if (!WorkspaceId.TryParse(workspaceText, out var workspace, out var rule))
        {
            logger.LogWarning("Skipping {File}: workspace '{Workspace}' {Rule}", file, workspaceText, rule);
            return null;
        }

        var backendName = Text(status, "backend") ?? Text(Map(spec, "backendRef"), "name");
        if (backends.Find(backendName) is not { } backend)
        {
            logger.LogWarning("Skipping {File}: backend '{Backend}' is not configured under Storage:Backends", file, backendName);
            return null;
        }

        var secretName = Text(status, "secretName") ?? Text(Map(spec, "secret"), "name") ?? name;
        var key = await ReadKeyAsync(Path.Combine(root, "secrets", ns, secretName + ".yaml"), cancellationToken);
        if (key is null)
        {
            logger.LogWarning("Skipping {File}: its credential Secret {Namespace}/{Secret} is missing or has no key", file, ns, secretName);
            return null;
        }

        var bucket = Text(status, "bucket") ?? backend.Location.Bucket;
        var publicEndpoint = Text(status, "endpoint") is { } endpoint && Uri.TryCreate(endpoint, UriKind.Absolute, out var uri) ? uri : backend.Location.PublicEndpoint;
        var access = Text(spec, "access") == "ReadOnly" ? AccessLevel.ReadOnly : AccessLevel.ReadWrite;
        var isPublic = string.Equals(Text(Map(metadata, "annotations"), PublicAnnotation), "true", StringComparison.OrdinalIgnoreCase);
        var location = backend.Location with { PublicEndpoint = publicEndpoint, Bucket = bucket };
        return new WorkspaceStorageHandle(workspace, location, key, access, isPublic, backend.Issuer,
            bucket == backend.Location.Bucket ? backend.Admin : null);
    }

    private static async Task<AwsCredentials?> ReadKeyAsync(string file, CancellationToken cancellationToken)
    {
        if (!File.Exists(file))
        {
            return null;
        }

        var secret = Yaml.Deserialize<Dictionary<object, object?>>(await File.ReadAllTextAsync(file, cancellationToken)) ?? [];
        var data = Map(secret, "data");
        var stringData = Map(secret, "stringData");
        string? Value(string name) =>
            Text(stringData, name) ?? (Text(data, name) is { } encoded ? Encoding.UTF8.GetString(Convert.FromBase64String(encoded)) : null);
        var id = Value(AccessKeyIdKey)?.Trim();
        var secretKey = Value(SecretAccessKeyKey)?.Trim();
        return string.IsNullOrEmpty(id) || string.IsNullOrEmpty(secretKey) ? null : new AwsCredentials(id, secretKey);
    }

    private static Dictionary<object, object?>? Map(Dictionary<object, object?>? parent, string name) =>
        parent is not null && parent.TryGetValue(name, out var value) ? value as Dictionary<object, object?> : null;

    private static string? Text(Dictionary<object, object?>? parent, string name) =>
        parent is not null && parent.TryGetValue(name, out var value) && value is string text && text.Length > 0 ? text : null;

    private sealed record Snapshot(string Fingerprint, IReadOnlyDictionary<string, WorkspaceStorageHandle> Handles)
    {
        public static Snapshot Empty { get; } = new(string.Empty, new Dictionary<string, WorkspaceStorageHandle>());
    }
}
