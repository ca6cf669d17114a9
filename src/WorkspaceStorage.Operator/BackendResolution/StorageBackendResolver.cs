using k8s.Models;
using Microsoft.Extensions.Logging;
using WorkspaceStorage.Core.Model;
using WorkspaceStorage.Resources;
using WorkspaceStorage.Operator.Configuration;
using WorkspaceStorage.Operator.Reconciliation;
using WorkspaceStorage.Kubernetes.Runtime;
using WorkspaceStorage.Storage.Backends;

namespace WorkspaceStorage.Operator.BackendResolution;

/// <summary>A backend ready for use: its bucket was ensured once for this configuration.</summary>
/// <param name="Name">The StorageBackend's name; "" for the operator's default backend.</param>
/// <param name="Quota">The backend's default and ceiling of workspace quotas (spec.quota).</param>
public sealed record ResolvedBackend(string Name, IStorageBackend Backend, BackendQuota? Quota = null)
{
    public BackendQuota Quota { get; init; } = Quota ?? BackendQuota.None;
}

/// <summary>Finds the <see cref="IStorageBackend"/> a WorkspaceStorage or StorageBackend refers to.</summary>
public interface IStorageBackendResolver
{
    /// <summary>True when the operator was started with a default backend (WorkspaceStorages may omit backendRef).</summary>
    bool HasDefaultBackend { get; }

    /// <summary>
    /// The backend named <paramref name="backendName"/> (null: the default backend), with its bucket ensured.
    /// Throws <see cref="BackendNotUsableException"/> for configuration errors (naming the field as seen from a
    /// WorkspaceStorage: <c>spec.backendRef.name</c>) and <see cref="StorageBackendException"/>s from the bucket check.
    /// </summary>
    Task<ResolvedBackend> ResolveAsync(string? backendName, CancellationToken cancellationToken);

    /// <summary>
    /// Who may claim what on the backend named <paramref name="backendName"/> (null: the default backend), without
    /// building a client or touching the storage server: the ceiling is checked before anything is made there.
    /// Throws <see cref="BackendNotUsableException"/> as <see cref="ResolveAsync"/> does for a missing or invalid backend.
    /// </summary>
    Task<ClaimCeiling> CeilingAsync(string? backendName, CancellationToken cancellationToken);
}

/// <summary>
/// Resolves backends from the cluster (StorageBackend + admin Secret) or the command line, and caches each by
/// (name, generation, admin Secret resourceVersion) so a reconcile reuses clients, and a changed backend or rotated
/// admin key builds new ones. The shared bucket is ensured once per cached instance (success is remembered).
/// </summary>
public sealed class StorageBackendResolver : IStorageBackendResolver, IStorageBackendClients, IDisposable
{
    public const string DefaultBackendName = "";

    private readonly IResourceClient<StorageBackendResource> backends;
    private readonly IResourceClient<V1Secret> secrets;
    private readonly IStorageBackendFactory factory;
    private readonly DefaultBackendOptions? defaultBackend;
    private readonly ILogger logger;
    private readonly IResourceCache<StorageBackendResource>? others;
    private readonly Dictionary<string, CacheEntry> cache = new(StringComparer.Ordinal);
    private readonly Lock cacheGate = new();

    /// <param name="cache">An informer's cache of all StorageBackends: backends are read from it (controller-runtime style:
    /// reads from the cache, writes to the server), and a second name for the same bucket is found without a list call;
    /// null (or not yet synced, or not holding the name yet) reads through <paramref name="backends"/>.</param>
    public StorageBackendResolver(IResourceClient<StorageBackendResource> backends, IResourceClient<V1Secret> secrets,
        IStorageBackendFactory factory, DefaultBackendOptions? defaultBackend, ILogger<StorageBackendResolver> logger,
        IResourceCache<StorageBackendResource>? cache = null)
    {
        others = cache;
        this.backends = backends ?? throw new ArgumentNullException(nameof(backends));
        this.secrets = secrets ?? throw new ArgumentNullException(nameof(secrets));
        this.factory = factory ?? throw new ArgumentNullException(nameof(factory));
        this.defaultBackend = defaultBackend;
        this.logger = logger ?? throw new ArgumentNullException(nameof(logger));
    }

    public bool HasDefaultBackend => defaultBackend is not null;

    /// <summary>How many backend instances were built (tests: a resync builds none).</summary>
    public int InstancesBuilt => Volatile.Read(ref built);

    private int built;

    public async Task<ResolvedBackend> ResolveAsync(string? backendName, CancellationToken cancellationToken) =>
        await ResolveAsync(backendName is null
            ? DefaultSettings()
            : await ClusterSettingsAsync(await FindAsync(backendName, cancellationToken), cancellationToken),
            cancellationToken);

    // Explicit: ResolveAsync(null, ...) would otherwise be ambiguous.
    async Task<ResolvedBackend> IStorageBackendClients.ResolveAsync(StorageBackendResource resource, CancellationToken cancellationToken) =>
        await ResolveAsync(await ClusterSettingsAsync(resource, cancellationToken), cancellationToken);

    private async Task<ResolvedBackend> ResolveAsync((string Name, string Version, BackendSettings Settings, BackendQuota Quota) wanted, CancellationToken cancellationToken)
    {
        var (name, version, settings, quota) = wanted;
        CacheEntry entry;
        // A lock, not AddOrUpdate: its factory may run twice under contention and build (and leak) a second client.
        lock (cacheGate)
        {
            if (!cache.TryGetValue(name, out entry!) || entry.Version != version)
            {
                entry?.Owned.Dispose();
                entry = NewEntry(version, settings);
                cache[name] = entry;
            }
        }

        await entry.EnsureBucketAsync(cancellationToken);
        return new ResolvedBackend(name, entry.Owned.Backend, quota);
    }

    public async Task<ClaimCeiling> CeilingAsync(string? backendName, CancellationToken cancellationToken)
    {
        if (backendName is null)
        {
            var options = defaultBackend ?? throw new BackendNotUsableException(
                "spec.backendRef", "is required: the operator runs without a default backend", ConditionReasons.InvalidSpec);
            return options.Ceiling ?? ClaimCeiling.From("the default backend's --allowed-claim", anyNamespace: false, [], "--allowed-claim", []);
        }

        var resource = await FindAsync(backendName, cancellationToken);
        var errors = new List<FieldError>();
        var ceiling = resource.CeilingOf(errors);
        return errors.Count == 0
            ? ceiling
            : throw new BackendNotUsableException("spec.backendRef.name", $"StorageBackend \"{backendName}\" is invalid: {string.Join("; ", errors)}",
                ConditionReasons.BackendNotReady);
    }

    public void Evict(string name)
    {
        lock (cacheGate)
        {
            if (cache.Remove(name, out var entry))
            {
                entry.Owned.Dispose();
            }
        }
    }

    public void Dispose()
    {
        lock (cacheGate)
        {
            foreach (var entry in cache.Values)
            {
                entry.Owned.Dispose();
            }

            cache.Clear();
        }
    }

    private CacheEntry NewEntry(string version, BackendSettings settings)
    {
        Interlocked.Increment(ref built);
        logger.LogInformation("Building backend client {Settings}", settings);
        return new CacheEntry(version, factory.Create(settings));
    }

    private (string Name, string Version, BackendSettings Settings, BackendQuota Quota) DefaultSettings()
    {
        var options = defaultBackend ?? throw new BackendNotUsableException(
            "spec.backendRef", "is required: the operator runs without a default backend", ConditionReasons.InvalidSpec);
        var settings = new BackendSettings(options.Type, new Uri(options.Endpoint), new Uri(options.PublicEndpoint), options.Region,
            options.Bucket, options.AdminCredentials, options.PathStyle, CaBundle: null);
        return (DefaultBackendName, "default", settings, BackendQuota.None);
    }

    /// <summary>
    /// The StorageBackend named <paramref name="name"/>: the informer's copy when it has one (a StorageBackend change
    /// re-enqueues its users after the cache has it, so they act on it), else the server's (before the first sync, or
    /// just created and not in the cache yet).
    /// </summary>
    private async Task<StorageBackendResource> FindAsync(string name, CancellationToken cancellationToken) =>
        (others is { HasSynced: true } ? others.Get(new ResourceKey(null, name)) : null)
        ?? await backends.GetAsync(new ResourceKey(null, name), cancellationToken)
        ?? throw new BackendNotUsableException("spec.backendRef.name", $"StorageBackend \"{name}\" not found", ConditionReasons.BackendNotFound);

    private async Task<(string, string, BackendSettings, BackendQuota)> ClusterSettingsAsync(StorageBackendResource resource, CancellationToken cancellationToken)
    {
        var name = resource.Metadata.Name;
        var validation = resource.Validate();
        if (!validation.IsValid)
        {
            throw new BackendNotUsableException("spec.backendRef.name", $"StorageBackend \"{name}\" is invalid: {validation.Message}", ConditionReasons.BackendNotReady);
        }

        var spec = validation.Value!;
        var secretRef = spec.AdminCredentialsSecret;
        var secret = await secrets.GetAsync(new ResourceKey(secretRef.Namespace, secretRef.Name), cancellationToken)
            ?? throw new BackendNotUsableException("spec.backendRef.name",
                $"StorageBackend \"{name}\": spec.adminCredentialsSecretRef: Secret \"{secretRef.Namespace}/{secretRef.Name}\" not found",
                ConditionReasons.BackendNotReady);
        var admin = AdminSecret.Credentials(secret, secretRef)
            ?? throw new BackendNotUsableException("spec.backendRef.name",
                $"StorageBackend \"{name}\": spec.adminCredentialsSecretRef: Secret \"{secretRef.Namespace}/{secretRef.Name}\" lacks non-empty keys '{secretRef.AccessKeyIdKey}' and '{secretRef.SecretAccessKeyKey}'",
                ConditionReasons.BackendNotReady);
        // After its own configuration: a StorageBackend that could not work anyway says why first.
        await RefuseSecondNameAsync(resource, spec, cancellationToken);
        var version = $"{resource.Metadata.Generation}/{secret.Metadata.ResourceVersion}";
        var settings = BackendSettings.For(spec, admin);
        return (name, version, settings, spec.Quota);
    }

    /// <summary>
    /// Refuses a StorageBackend that names the endpoint and bucket of another one that comes first: one that has worked
    /// (Ready, or only unreachable now), then the older (creation time, then name, as claims are ordered). Workspaces are
    /// claimed per backend name, so two names for one bucket would let two WorkspaceStorages manage the same identity and
    /// revoke each other's keys; refusing before any client is built means the second name never touches the backend.
    /// A StorageBackend that cannot work itself (invalid, no admin key) takes nothing from the one that can.
    /// </summary>
    private async Task RefuseSecondNameAsync(StorageBackendResource resource, ValidatedStorageBackend spec, CancellationToken cancellationToken)
    {
        IEnumerable<StorageBackendResource> all = others is { HasSynced: true }
            ? others.List()
            : (await backends.ListAsync(null, null, cancellationToken)).Items;
        var mine = Order(resource);
        foreach (var candidate in all.Where(other => other.Metadata.Uid != resource.Metadata.Uid && SameBucket(other, spec) is not null && Order(other).CompareTo(mine) < 0)
            .OrderBy(Order))
        {
            // Rare, so judged on the stored objects: the cache may lag behind a deletion or a changed endpoint.
            var live = await backends.GetAsync(ResourceKey.Of(candidate), cancellationToken);
            if (live is null || live.Metadata.Uid != candidate.Metadata.Uid || live.Metadata.DeletionTimestamp is not null || SameBucket(live, spec) is not { } theirs
                || Order(live).CompareTo(mine) >= 0)
            {
                continue;
            }

            var adminRef = theirs.AdminCredentialsSecret;
            var admin = await secrets.GetAsync(new ResourceKey(adminRef.Namespace, adminRef.Name), cancellationToken);
            if (admin is not null && AdminSecret.Credentials(admin, adminRef) is not null)
            {
                throw new BackendNotUsableException("spec.backendRef.name",
                    $"StorageBackend \"{spec.Name}\" is refused: spec.endpoint and spec.bucket ({spec.Endpoint}, bucket {spec.Bucket}) are those of StorageBackend \"{live.Metadata.Name}\", which comes first; two names for one bucket would revoke each other's keys",
                    ConditionReasons.BackendConflict);
            }
        }
    }

    /// <summary>The other StorageBackend's resolved spec when it names the same endpoint and bucket; else null.</summary>
    private static ValidatedStorageBackend? SameBucket(StorageBackendResource other, ValidatedStorageBackend spec) =>
        other.Validate() is { IsValid: true, Value: { } theirs } && theirs.Endpoint == spec.Endpoint && theirs.Bucket == spec.Bucket
            ? theirs
            : null;

    /// <summary>First one that has worked (Ready, or Ready=False only because it cannot be reached now), then the oldest, then by name.</summary>
    private static (int Worked, DateTime Created, string Name) Order(StorageBackendResource resource) =>
        (resource.Status.IsTrue(ConditionTypes.Ready) || resource.Status.Find(ConditionTypes.Ready)?.Reason == ConditionReasons.BackendUnavailable ? 0 : 1,
            resource.Metadata.CreationTimestamp ?? DateTime.MaxValue, resource.Metadata.Name);


    private sealed class CacheEntry(string version, OwnedBackend owned)
    {
        private readonly SemaphoreSlim gate = new(1, 1);
        private volatile bool bucketEnsured;

        public string Version { get; } = version;

        public OwnedBackend Owned { get; } = owned;

        public async Task EnsureBucketAsync(CancellationToken cancellationToken)
        {
            if (bucketEnsured)
            {
                return;
            }

            await gate.WaitAsync(cancellationToken);
            try
            {
                if (!bucketEnsured)
                {
                    await Owned.Backend.EnsureBucketAsync(cancellationToken);
                    bucketEnsured = true;
                }
            }
            finally
            {
                gate.Release();
            }
        }
    }
}
