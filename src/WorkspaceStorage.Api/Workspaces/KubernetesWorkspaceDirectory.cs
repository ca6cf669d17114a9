using System.Collections.Concurrent;
using k8s.Models;
using WorkspaceStorage.Core.Credentials;
using WorkspaceStorage.Core.Model;
using WorkspaceStorage.Resources;
using WorkspaceStorage.Core.Signing;
using WorkspaceStorage.Core.Workspaces;
using WorkspaceStorage.Storage.Backends;
using WorkspaceStorage.Kubernetes.Runtime;

namespace WorkspaceStorage.Api.Workspaces;

/// <summary>
/// The API's view of the cluster: watchers for the informers, a client for admin Secrets, and a WorkspaceStorage
/// client for on-demand provisioning (create, annotate, delete).
/// </summary>
/// <param name="Namespaces">Namespaces, for claim ceilings that select namespaces by label; null: such selectors match nothing.</param>
public sealed record KubernetesDirectorySources(
    IResourceWatcher<WorkspaceStorageResource> WorkspaceStorages,
    IResourceWatcher<StorageBackendResource> StorageBackends,
    IResourceWatcher<V1Secret> SecretWatcher,
    IResourceClient<V1Secret> Secrets,
    IResourceClient<WorkspaceStorageResource> WorkspaceStorageClient,
    IResourceWatcher<V1Namespace>? Namespaces = null)
{
    public static KubernetesDirectorySources FromKubernetes(k8s.IKubernetes kubernetes, ResourceClientOptions? options = null)
    {
        var secrets = new KubernetesResourceClient<V1Secret>(kubernetes, ResourceDescriptor.Secrets, options);
        var workspaceStorages = new KubernetesResourceClient<WorkspaceStorageResource>(kubernetes, ResourceDescriptors.WorkspaceStorages, options);
        return new KubernetesDirectorySources(
            workspaceStorages,
            new KubernetesResourceClient<StorageBackendResource>(kubernetes, ResourceDescriptors.StorageBackends, options),
            secrets, secrets, workspaceStorages, new KubernetesResourceClient<V1Namespace>(kubernetes, ResourceDescriptor.Namespaces, options));
    }
}

/// <summary>
/// Workspaces from the cluster: informers on WorkspaceStorages, StorageBackends and the operator's credential Secrets
/// (label <c>app.kubernetes.io/managed-by=workspace-storage-operator</c>). W is served only by a WorkspaceStorage whose
/// Ready condition is True (or was, until the operator lost the storage server: BackendUnavailable) and whose
/// <c>status.workspace</c> is W, and only when its StorageBackend's claim ceiling (<c>spec.allowedClaims</c>) lets its
/// namespace claim W: a status that says Ready is not enough (the operator may not have judged it under the current
/// ceiling yet). When two are served, the oldest wins, as the operator orders claims. W's key comes from its Secret (<c>status.secretName</c>),
/// so a rotation is picked up with the Secret's watch event. Backends (temporary credentials, TTL bookkeeping) are built
/// with the operator's <see cref="IStorageBackendFactory"/> from the StorageBackend and its admin Secret, read on demand
/// and rebuilt when the StorageBackend's generation or the admin Secret's resourceVersion changes.
/// </summary>
public sealed class KubernetesWorkspaceDirectory : IWorkspaceStorageDirectory, IWorkspaceChangeNotifier, IDisposable
{
    /// <summary>A WorkspaceStorage with this annotation set to "true" makes its workspace public (anyone may read).</summary>
    public const string PublicAnnotation = "workspacestorage.hypha.amun.ai/public";

    private readonly Informer<WorkspaceStorageResource> storages;
    private readonly Informer<StorageBackendResource> backends;
    private readonly Informer<V1Secret> secrets;
    private readonly Informer<V1Namespace>? namespaces;
    private readonly NamespaceLabels namespaceLabels;
    private readonly ConcurrentDictionary<string, BackendView> backendViews = new(StringComparer.Ordinal);
    private readonly IDisposable[] indexEvents;
    private readonly IResourceClient<V1Secret> secretClient;
    private readonly IStorageBackendFactory factory;
    private readonly TimeProvider clock;
    private readonly ILogger logger;
    private readonly ConcurrentDictionary<string, BackendEntry> backendCache = new(StringComparer.Ordinal);
    private readonly IDisposable storageEvents;
    private volatile Dictionary<string, ResourceKey>? index;

    // Waiters for a workspace's next change (on-demand first calls): an entry lives until that workspace's next event
    // or until its one waiter (the provisioner runs one wait per workspace) stops waiting.
    private readonly ConcurrentDictionary<string, TaskCompletionSource> changeWaiters = new(StringComparer.Ordinal);

    public KubernetesWorkspaceDirectory(KubernetesDirectorySources sources, IStorageBackendFactory factory, string? watchNamespace,
        TimeProvider clock, ILoggerFactory loggers)
    {
        ArgumentNullException.ThrowIfNull(sources);
        this.factory = factory;
        this.clock = clock;
        secretClient = sources.Secrets;
        logger = loggers.CreateLogger<KubernetesWorkspaceDirectory>();
        storages = new Informer<WorkspaceStorageResource>(sources.WorkspaceStorages, ApiGroup.WorkspaceStoragePlural,
            new InformerOptions { Namespace = watchNamespace }, loggers.CreateLogger("Informer.WorkspaceStorages"));
        backends = new Informer<StorageBackendResource>(sources.StorageBackends, ApiGroup.StorageBackendPlural,
            new InformerOptions(), loggers.CreateLogger("Informer.StorageBackends"));
        secrets = new Informer<V1Secret>(sources.SecretWatcher, "secrets",
            new InformerOptions { Namespace = watchNamespace, LabelSelector = $"{ResourceMetadata.ManagedByLabel}={ResourceMetadata.ManagedByValue}" },
            loggers.CreateLogger("Informer.Secrets"));
        namespaces = sources.Namespaces is null
            ? null
            : new Informer<V1Namespace>(sources.Namespaces, "namespaces", new InformerOptions(), loggers.CreateLogger("Informer.Namespaces"));
        namespaceLabels = new NamespaceLabels(namespaces);
        // The workspace → WorkspaceStorage index is rebuilt lazily after any change; waiters for the workspace wake.
        storageEvents = storages.AddEventHandler(change =>
        {
            index = null;
            Wake(change.Object.Spec?.Workspace);
            Wake(change.Object.Status?.Workspace);
        });
        // A changed ceiling or namespace label changes who is served.
        indexEvents = namespaces is null
            ? [backends.AddEventHandler(_ => index = null)]
            : [backends.AddEventHandler(_ => index = null), namespaces.AddEventHandler(_ => index = null)];
    }

    /// <summary>How long an admin Secret read is trusted before its resourceVersion is checked again.</summary>
    public TimeSpan AdminSecretRecheck { get; init; } = TimeSpan.FromSeconds(30);

    /// <summary>The WorkspaceStorage cache (every state, not only Ready ones): on-demand provisioning reads claims from it.</summary>
    public IResourceCache<WorkspaceStorageResource> WorkspaceStorages => storages;

    /// <summary>True once all three informers listed their resources (readiness).</summary>
    public bool HasSynced => storages.HasSynced && backends.HasSynced && secrets.HasSynced && namespaces?.HasSynced != false;

    /// <summary>Runs the informers until <paramref name="cancellationToken"/> ends.</summary>
    public Task RunAsync(CancellationToken cancellationToken) =>
        Task.WhenAll(storages.RunAsync(cancellationToken), backends.RunAsync(cancellationToken), secrets.RunAsync(cancellationToken),
            namespaces?.RunAsync(cancellationToken) ?? Task.CompletedTask);

    /// <summary>
    /// Whether <paramref name="resource"/>'s StorageBackend lets its namespace claim its workspace (the status's, else the
    /// spec's). False for an unknown or invalid StorageBackend, the operator's default backend (not served here) and a
    /// workspace id that is not one. On-demand provisioning counts only such claims: a refused one is nobody's.
    /// </summary>
    public bool IsWithinCeiling(WorkspaceStorageResource resource)
    {
        ArgumentNullException.ThrowIfNull(resource);
        var workspaceText = resource.Status?.Workspace ?? resource.Spec?.Workspace ?? resource.Metadata.Name;
        var backendName = resource.Status?.Backend is { Length: > 0 } provisioned ? provisioned : resource.Spec?.BackendRef?.Name;
        if (string.IsNullOrEmpty(backendName) || !WorkspaceId.TryParse(workspaceText, out var workspace, out _) || CeilingOf(backendName) is not { } ceiling)
        {
            return false;
        }

        var @namespace = resource.Metadata.NamespaceProperty ?? string.Empty;
        return ceiling.Refusal(@namespace, namespaceLabels.Of, workspace) is null;
    }

    /// <summary>The ceiling of StorageBackend <paramref name="name"/> from the cache; null when unknown or invalid.</summary>
    private ClaimCeiling? CeilingOf(string name) => backends.Get(new ResourceKey(null, name)) is { } resource ? ViewOf(resource).Ceiling : null;

    /// <summary>
    /// What the companion reads from a StorageBackend, judged once per resourceVersion by the core's rules (the
    /// operator's): its claim ceiling, usable on its own (who may be served needs no CA bundle parsed), and the validated
    /// backend (endpoints normalized and defaulted as in the Secrets the operator writes), null when invalid.
    /// </summary>
    private BackendView ViewOf(StorageBackendResource resource)
    {
        var name = resource.Metadata.Name;
        var version = resource.Metadata.ResourceVersion;
        if (backendViews.TryGetValue(name, out var cached) && cached.Version == version && version is not null)
        {
            return cached;
        }

        var errors = new List<FieldError>();
        var ceiling = resource.CeilingOf(errors);
        var view = new BackendView(version, errors.Count == 0 ? ceiling : null, resource.Validate().Value);
        backendViews[name] = view;
        return view;
    }

    public Task WhenChanged(WorkspaceId workspace)
    {
        ArgumentNullException.ThrowIfNull(workspace);
        return changeWaiters.GetOrAdd(workspace.Value, _ => new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously)).Task;
    }

    public void StopWaiting(WorkspaceId workspace)
    {
        ArgumentNullException.ThrowIfNull(workspace);
        changeWaiters.TryRemove(workspace.Value, out _);
    }

    /// <summary>Workspaces someone waits on (tests: no waiter outlives its call).</summary>
    internal int Waiters => changeWaiters.Count;

    private void Wake(string? workspace)
    {
        if (workspace is not null && changeWaiters.TryRemove(workspace, out var waiters))
        {
            waiters.TrySetResult();
        }
    }

    public ValueTask<bool> IsPublicAsync(WorkspaceId workspace, CancellationToken cancellationToken) =>
        ValueTask.FromResult(FindReady(workspace) is { } resource && IsPublic(resource));

    public async ValueTask<WorkspaceStorageHandle?> FindAsync(WorkspaceId workspace, CancellationToken cancellationToken)
    {
        if (FindReady(workspace) is not { } resource)
        {
            return null;
        }

        var status = resource.Status!;
        var ns = resource.Metadata.NamespaceProperty;
        var secretName = resource.SecretName();
        var key = secrets.Get(new ResourceKey(ns, secretName)) is { } secret ? CredentialSecretLayout.ReadCredentials(secret.Data) : null;
        if (key is null)
        {
            logger.LogWarning("WorkspaceStorage {Namespace}/{Name} is Ready but its Secret {Secret} is missing or has no key",
                ns, resource.Metadata.Name, secretName);
            return null;
        }

        var backendName = status.Backend ?? resource.Spec.BackendRef?.Name;
        if (string.IsNullOrEmpty(backendName) || backends.Get(new ResourceKey(null, backendName)) is not { } backendResource)
        {
            logger.LogWarning("WorkspaceStorage {Namespace}/{Name}: StorageBackend '{Backend}' is not known", ns, resource.Metadata.Name, backendName);
            return null;
        }

        if (await BackendAsync(backendResource, cancellationToken) is not { } backend)
        {
            logger.LogWarning("WorkspaceStorage {Namespace}/{Name}: StorageBackend '{Backend}' is invalid", ns, resource.Metadata.Name, backendName);
            return null;
        }

        var location = backend.Location with
        {
            Bucket = status.Bucket ?? backend.Location.Bucket,
            PublicEndpoint = Uri.TryCreate(status.Endpoint, UriKind.Absolute, out var endpoint) ? endpoint : backend.Location.PublicEndpoint,
        };
        return new WorkspaceStorageHandle(workspace, location, key, resource.Spec.Access.ToLevel(), IsPublic(resource), backend.Issuer,
            location.Bucket == backend.Location.Bucket ? backend.Admin : null);
    }

    /// <summary>Where the StorageBackend serving <paramref name="bucket"/> lives (for the /s3 proxy), or null when none does.</summary>
    public S3Location? FindBucketLocation(string bucket)
    {
        foreach (var resource in backends.List())
        {
            if (ViewOf(resource).Backend is { } backend && string.Equals(backend.Bucket, bucket, StringComparison.Ordinal))
            {
                return BackendSettings.LocationOf(backend);
            }
        }

        return null;
    }

    public async ValueTask<IReadOnlyList<BucketBookkeeping>> ListBookkeepingBucketsAsync(CancellationToken cancellationToken)
    {
        var buckets = new List<BucketBookkeeping>();
        foreach (var resource in backends.List())
        {
            if (await BackendAsync(resource, cancellationToken) is { Admin: not null } backend)
            {
                buckets.Add(new BucketBookkeeping(backend.Location, backend.Admin));
            }
        }

        return [.. buckets.DistinctBy(b => (b.Location.Endpoint.GetLeftPart(UriPartial.Authority), b.Location.Bucket))];
    }

    public void Dispose()
    {
        storageEvents.Dispose();
        foreach (var handler in indexEvents)
        {
            handler.Dispose();
        }

        foreach (var entry in backendCache.Values)
        {
            entry.Owned?.Dispose();
        }
    }

    private static bool IsPublic(WorkspaceStorageResource resource) =>
        resource.Metadata.Annotations?.TryGetValue(PublicAnnotation, out var value) == true
        && string.Equals(value, "true", StringComparison.OrdinalIgnoreCase);

    private WorkspaceStorageResource? FindReady(WorkspaceId workspace)
    {
        var current = index ?? BuildIndex();
        return current.TryGetValue(workspace.Value, out var key) && storages.Get(key) is { } resource && IsServing(resource, workspace.Value)
            ? resource
            : null;
    }

    private bool IsServing(WorkspaceStorageResource resource, string workspace) =>
        resource.Metadata.DeletionTimestamp is null
        && resource.Status is { } status
        && (status.IsTrue(ConditionTypes.Ready) || IsProvisionedButBackendUnreachable(resource, status))
        && string.Equals(status.Workspace, workspace, StringComparison.Ordinal)
        && IsWithinCeiling(resource);

    /// <summary>
    /// Ready for this generation until the operator could not reach the storage server: the identity and the key in the
    /// Secret still exist there (nothing was revoked), the operator only could not check them. Dropping W would turn an
    /// S3 outage into "no storage" (404, or a new on-demand claim waited on for a minute) and stop presigning, which
    /// needs no server at all; served, presigning goes on and data calls answer 503 until the server is back.
    /// </summary>
    private static bool IsProvisionedButBackendUnreachable(WorkspaceStorageResource resource, WorkspaceStorageStatus status) =>
        status.AccessKeyId is { Length: > 0 }
        && status.ObservedGeneration == resource.Metadata.Generation
        && status.Find(ConditionTypes.Reconciling) is { Status: Conditions.True, Reason: ConditionReasons.BackendUnavailable }
        && status.Find(ConditionTypes.Ready) is { Status: Conditions.False, Reason: ConditionReasons.BackendUnavailable };

    private Dictionary<string, ResourceKey> BuildIndex()
    {
        var built = new Dictionary<string, ResourceKey>(StringComparer.Ordinal);
        // Oldest first, then by namespace/name (the operator's order of claims), so the first one served for W stays.
        foreach (var resource in storages.List().OrderBy(r => r.Metadata.CreationTimestamp ?? DateTime.MaxValue)
                     .ThenBy(r => $"{r.Metadata.NamespaceProperty}/{r.Metadata.Name}", StringComparer.Ordinal))
        {
            if (resource.Status?.Workspace is { Length: > 0 } workspace && IsServing(resource, workspace))
            {
                built.TryAdd(workspace, ResourceKey.Of(resource));
            }
        }

        index = built;
        return built;
    }

    /// <summary>The clients of a StorageBackend, rebuilt when its generation or admin Secret changes; null when it is invalid.</summary>
    private async Task<BackendEntry?> BackendAsync(StorageBackendResource resource, CancellationToken cancellationToken)
    {
        var name = resource.Metadata.Name;
        if (ViewOf(resource).Backend is not { } spec)
        {
            return null;
        }

        var now = clock.GetUtcNow();
        if (backendCache.TryGetValue(name, out var cached) && cached.Generation == resource.Metadata.Generation && now - cached.CheckedAt < AdminSecretRecheck)
        {
            return cached;
        }

        var secretRef = spec.AdminCredentialsSecret;
        V1Secret? secret = null;
        try
        {
            secret = await secretClient.GetAsync(new ResourceKey(secretRef.Namespace, secretRef.Name), cancellationToken);
        }
        catch (Exception ex) when (ex is not OperationCanceledException)
        {
            logger.LogWarning("Could not read the admin Secret {Namespace}/{Secret} of StorageBackend {Backend}: {Error}",
                secretRef.Namespace, secretRef.Name, name, ex.GetType().Name);
            if (cached is not null)
            {
                return cached;
            }
        }

        var version = $"{resource.Metadata.Generation}/{secret?.Metadata.ResourceVersion}";
        if (cached is not null && cached.Version == version)
        {
            var refreshed = cached with { CheckedAt = now };
            backendCache[name] = refreshed;
            return refreshed;
        }

        var location = BackendSettings.LocationOf(spec);
        var admin = secret is null ? null : AdminSecret.Credentials(secret, secretRef);
        OwnedBackend? owned = null;
        ITemporaryCredentialIssuer issuer = NoTemporaryCredentialIssuer.Instance;
        if (admin is not null)
        {
            owned = factory.Create(BackendSettings.For(spec, admin));
            issuer = new BackendTemporaryCredentialIssuer(owned.Backend);
            logger.LogInformation("Built backend client for StorageBackend {Backend} (generation {Generation})", name, resource.Metadata.Generation);
        }
        else
        {
            logger.LogWarning("StorageBackend {Backend}: admin Secret {Namespace}/{Secret} missing or incomplete; no temporary credentials or TTL",
                name, secretRef.Namespace, secretRef.Name);
        }

        var entry = new BackendEntry(resource.Metadata.Generation, version, now, location, admin, issuer, owned);
        if (backendCache.TryGetValue(name, out var previous) && !ReferenceEquals(previous, entry))
        {
            // In-flight calls may still hold the previous backend briefly; its pool is the shared one unless it had a CA bundle.
            previous.Owned?.Dispose();
        }

        backendCache[name] = entry;
        return entry;
    }


    private sealed record BackendView(string? Version, ClaimCeiling? Ceiling, ValidatedStorageBackend? Backend);

    private sealed record BackendEntry(long? Generation, string Version, DateTimeOffset CheckedAt, S3Location Location, AwsCredentials? Admin,
        ITemporaryCredentialIssuer Issuer, OwnedBackend? Owned)
    {
        public override string ToString() => $"BackendEntry {{ Version = {Version}, Bucket = {Location.Bucket} }}";
    }
}
