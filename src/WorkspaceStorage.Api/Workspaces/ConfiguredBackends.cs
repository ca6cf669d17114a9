using WorkspaceStorage.Api.Workspaces;
using WorkspaceStorage.Core.Signing;
using WorkspaceStorage.Storage.Backends;
using WorkspaceStorage.Storage.CephRgw;
using WorkspaceStorage.Storage.Minio;
using WorkspaceStorage.Storage.S3;

namespace WorkspaceStorage.Api.Workspaces;

/// <summary>A backend from configuration: where its bucket is, its admin key, and the backend that issues temporary credentials.</summary>
public sealed record ConfiguredBackend(string Name, S3Location Location, AwsCredentials Admin, ITemporaryCredentialIssuer Issuer)
{
    public override string ToString() => $"ConfiguredBackend {{ Name = {Name}, Endpoint = {Location.Endpoint}, Bucket = {Location.Bucket} }}";
}

/// <summary>Builds <see cref="ConfiguredBackend"/>s from <c>Storage:Backends</c> (one shared HTTP client for their admin calls).</summary>
public sealed class ConfiguredBackends : IDisposable
{
    private readonly HttpClient http = new(S3ClientFactory.CreateHandler(new S3ClientOptions())) { Timeout = Timeout.InfiniteTimeSpan };
    private readonly Dictionary<string, ConfiguredBackend> backends = new(StringComparer.Ordinal);

    public ConfiguredBackends(StorageOptions options, S3ClientFactory clients, ILoggerFactory loggers)
    {
        foreach (var (name, settings) in options.Backends)
        {
            var endpoint = new Uri(settings.Endpoint!);
            var location = new S3Location(endpoint, new Uri(settings.PublicEndpoint ?? settings.Endpoint!), settings.Region, settings.Bucket);
            var secret = settings.AdminSecretAccessKey;
            if (string.IsNullOrEmpty(secret) && !string.IsNullOrEmpty(settings.AdminSecretAccessKeyFile))
            {
                secret = File.ReadAllText(settings.AdminSecretAccessKeyFile).TrimEnd('\r', '\n');
            }

            var admin = new AwsCredentials(settings.AdminAccessKeyId!, secret!);
            var buckets = new AdminBucketOperations(clients.Create(location, admin));
            IStorageBackend backend = settings.Type switch
            {
                "minio" => new MinioStorageBackend(
                    new MinioAdminClient(http, new MinioAdminOptions { Endpoint = endpoint, AdminCredentials = admin, Region = settings.Region }),
                    buckets, location, loggers.CreateLogger<MinioStorageBackend>()),
                _ => new CephRgwStorageBackend(new CephRgwBackendOptions(location, admin), http, buckets, NullBackendCallObserver.Instance,
                    loggers.CreateLogger<CephRgwStorageBackend>()),
            };
            backends[name] = new ConfiguredBackend(name, location, admin, new BackendTemporaryCredentialIssuer(backend));
        }
    }

    public IReadOnlyCollection<ConfiguredBackend> All => backends.Values;

    /// <summary>The backend named <paramref name="name"/>; with no name, the only one configured (null when ambiguous or absent).</summary>
    public ConfiguredBackend? Find(string? name) =>
        !string.IsNullOrEmpty(name) ? backends.GetValueOrDefault(name) : backends.Count == 1 ? backends.Values.First() : null;

    public void Dispose() => http.Dispose();
}
