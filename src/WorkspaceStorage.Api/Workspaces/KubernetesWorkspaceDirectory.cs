using System.Collections.Concurrent;
using k8s.Models;
using WorkspaceStorage.Core.Credentials;
using WorkspaceStorage.Core.Model;
using WorkspaceStorage.Core.Workspaces;
using WorkspaceStorage.Kubernetes.Runtime;
using WorkspaceStorage.Resources;
using WorkspaceStorage.Storage.Backends;

namespace WorkspaceStorage.Api.Workspaces;

/// <summary>
/// Workspaces from the cluster: informers on WorkspaceStorages, StorageBackends and the operator's credential Secrets
/// (label <c>app.kubernetes.io/managed-by=workspace-storage-operator</c>). Which WorkspaceStorage serves W is the
/// <see cref="WorkspaceServingIndex"/>'s rule (Ready, <c>status.workspace</c> W, within its StorageBackend's claim
/// ceiling, oldest first). W's key comes from its Secret (<c>status.secretName</c>), so a rotation is picked up with
/// the Secret's watch event. Backends (temporary credentials, TTL bookkeeping) come from the
/// <see cref="BackendClientCache"/>, rebuilt when the StorageBackend's generation or the admin Secret's resourceVersion
/// changes.
/// </summary>
public sealed class KubernetesWorkspaceDirectory : IWorkspaceStorageDirectory, IWorkspaceChangeNotifier, IDisposable
{
    /// <summary>A WorkspaceStorage with this annotation set to "true" makes its workspace public (anyone may read).</summary>
    public const string PublicAnnotation = "workspacestorage.hypha.amun.ai/public";

    private readonly Informer<WorkspaceStorageResource> storages;
    private readonly Informer<StorageBackendResource> backends;
    private readonly Informer<V1Secret> secrets;
    private readonly Informer<V1Namespace>? namespaces;
    private readonly StorageBackendViews views = new();
    private readonly WorkspaceServingIndex serving;
    private readonly BackendClientCache backendClients;
    private readonly IDisposable[] indexEvents;
    private readonly ILogger logger;
    private readonly IDisposable storageEvents;

    // Waiters for a workspace's next change (on-demand first calls): an entry lives until that workspace's next event
    // or until its one waiter (the provisioner runs one wait per workspace) stops waiting.
    private readonly ConcurrentDictionary<string, TaskCompletionSource> changeWaiters = new(StringComparer.Ordinal);

    public KubernetesWorkspaceDirectory(KubernetesDirectorySources sources, IStorageBackendFactory factory, string? watchNamespace,
        TimeProvider clock, ILoggerFactory loggers)
    {
        ArgumentNullException.ThrowIfNull(sources);
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
        serving = new WorkspaceServingIndex(storages, backends, views, new NamespaceLabels(namespaces));
        backendClients = new BackendClientCache(sources.Secrets, factory, views, clock, logger);
        // The workspace → WorkspaceStorage index is rebuilt lazily after any change; waiters for the workspace wake.
        storageEvents = storages.AddEventHandler(change =>
        {
            serving.Invalidate();
            Wake(change.Object.Spec?.Workspace);
            Wake(change.Object.Status?.Workspace);
        });
        // A changed ceiling or namespace label changes who is served.
        indexEvents = namespaces is null
            ? [backends.AddEventHandler(_ => serving.Invalidate())]
            : [backends.AddEventHandler(_ => serving.Invalidate()), namespaces.AddEventHandler(_ => serving.Invalidate())];
    }

    /// <summary>How long an admin Secret read is trusted before its resourceVersion is checked again.</summary>
    public TimeSpan AdminSecretRecheck
    {
        get => backendClients.AdminSecretRecheck;
        init => backendClients.AdminSecretRecheck = value;
    }

    /// <summary>The WorkspaceStorage cache (every state, not only Ready ones): on-demand provisioning reads claims from it.</summary>
    public IResourceCache<WorkspaceStorageResource> WorkspaceStorages => storages;

    /// <summary>True once all three informers listed their resources (readiness).</summary>
    public bool HasSynced => storages.HasSynced && backends.HasSynced && secrets.HasSynced && namespaces?.HasSynced != false;

    /// <summary>Runs the informers until <paramref name="cancellationToken"/> ends.</summary>
    public Task RunAsync(CancellationToken cancellationToken) =>
        Task.WhenAll(storages.RunAsync(cancellationToken), backends.RunAsync(cancellationToken), secrets.RunAsync(cancellationToken),
            namespaces?.RunAsync(cancellationToken) ?? Task.CompletedTask);

    /// <inheritdoc cref="WorkspaceServingIndex.IsWithinCeiling"/>
    public bool IsWithinCeiling(WorkspaceStorageResource resource) => serving.IsWithinCeiling(resource);

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
        ValueTask.FromResult(serving.Find(workspace) is { } resource && IsPublic(resource));

    public async ValueTask<WorkspaceStorageHandle?> FindAsync(WorkspaceId workspace, CancellationToken cancellationToken)
    {
        if (serving.Find(workspace) is not { } resource)
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

        if (await backendClients.GetAsync(backendResource, cancellationToken) is not { } backend)
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
            location.Bucket == backend.Location.Bucket ? backend.Admin : null, resource)
        {
            Quota = status.Quota is { } quota ? new Core.Model.QuotaLimits(quota.MaxBytes, quota.MaxObjects) : Core.Model.QuotaLimits.None,
            Usage = status.Usage is { } usage ? new Core.Model.UsageFigures(usage.Bytes, usage.Objects, usage.Complete) : null,
        };
    }

    /// <summary>Where the StorageBackend serving <paramref name="bucket"/> lives (for the /s3 proxy), or null when none does.</summary>
    public S3Location? FindBucketLocation(string bucket)
    {
        foreach (var resource in backends.List())
        {
            if (views.Of(resource).Backend is { } backend && string.Equals(backend.Bucket, bucket, StringComparison.Ordinal))
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
            if (await backendClients.GetAsync(resource, cancellationToken) is { Admin: not null } backend)
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

        backendClients.Dispose();
    }

    private static bool IsPublic(WorkspaceStorageResource resource) =>
        resource.Metadata.Annotations?.TryGetValue(PublicAnnotation, out var value) == true
        && string.Equals(value, "true", StringComparison.OrdinalIgnoreCase);
}
