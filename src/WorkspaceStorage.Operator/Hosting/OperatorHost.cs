using k8s;
using k8s.Models;
using Microsoft.Extensions.Logging;
using WorkspaceStorage.Core.Model;
using WorkspaceStorage.Resources;
using WorkspaceStorage.Operator.BackendResolution;
using WorkspaceStorage.Operator.Configuration;
using WorkspaceStorage.Operator.Reconciliation;
using WorkspaceStorage.Kubernetes.Audit;
using WorkspaceStorage.Kubernetes.Runtime;
using WorkspaceStorage.Storage.Backends;
using WorkspaceStorage.Storage.Http;
using WorkspaceStorage.Core.Resilience;

namespace WorkspaceStorage.Operator.Hosting;

/// <summary>The stores the operator reads and writes: a Kubernetes API server, or anything else that keeps the contracts
/// of <see cref="IResourceClient{T}"/> and <see cref="IResourceWatcher{T}"/> (Events null: none recorded).</summary>
/// <param name="Namespaces">Namespaces, for claim ceilings that select namespaces by label; null: such selectors match nothing.</param>
public sealed record OperatorStores(
    IResourceClient<WorkspaceStorageResource> WorkspaceStorages,
    IResourceWatcher<WorkspaceStorageResource> WorkspaceStorageWatcher,
    IResourceClient<StorageBackendResource> StorageBackends,
    IResourceWatcher<StorageBackendResource> StorageBackendWatcher,
    IResourceClient<V1Secret> Secrets,
    IResourceWatcher<V1Secret> SecretWatcher,
    IResourceClient<Corev1Event>? Events,
    IResourceWatcher<V1Namespace>? Namespaces = null)
{
    /// <summary>Everything through one Kubernetes client.</summary>
    public static OperatorStores FromKubernetes(IKubernetes kubernetes, ResourceClientOptions? options = null)
    {
        ArgumentNullException.ThrowIfNull(kubernetes);
        var storages = new KubernetesResourceClient<WorkspaceStorageResource>(kubernetes, ResourceDescriptors.WorkspaceStorages, options);
        var backends = new KubernetesResourceClient<StorageBackendResource>(kubernetes, ResourceDescriptors.StorageBackends, options);
        var secrets = new KubernetesResourceClient<V1Secret>(kubernetes, ResourceDescriptor.Secrets, options);
        var events = new KubernetesResourceClient<Corev1Event>(kubernetes, ResourceDescriptor.Events, options);
        var namespaces = new KubernetesResourceClient<V1Namespace>(kubernetes, ResourceDescriptor.Namespaces, options);
        return new OperatorStores(storages, storages, backends, backends, secrets, secrets, events, namespaces);
    }
}

/// <summary>Settings of <see cref="OperatorHost"/>.</summary>
public sealed record OperatorHostOptions
{
    /// <summary>The backend of WorkspaceStorages without spec.backendRef (command line); null: none.</summary>
    public DefaultBackendOptions? DefaultBackend { get; init; }

    /// <summary>Only WorkspaceStorages (and their Secrets) of this namespace; null: all.</summary>
    public string? WatchNamespace { get; init; }

    /// <summary>How often every object is reconciled again to find drift made outside Kubernetes.</summary>
    public TimeSpan ResyncPeriod { get; init; } = TimeSpan.FromMinutes(10);

    public ControllerOptions Controller { get; init; } = new();

    public WorkspaceStorageReconcilerOptions Reconciler { get; init; } = new();

    /// <summary>Timeouts and retries of every backend call.</summary>
    public RetryOptions BackendRetry { get; init; } = new();

    /// <summary>Informer backoff after list/watch errors; null keeps the informer's default.</summary>
    public ExponentialBackoff? InformerBackoff { get; init; }
}

/// <summary>
/// The operator minus the process: informers (WorkspaceStorages; StorageBackends mapped to the WorkspaceStorages that
/// use them; owned Secrets mapped to their owner), work queues and the two reconcilers, built from
/// <see cref="OperatorStores"/>. Program (leader election, probes, metrics) runs <see cref="RunAsync"/> while leading.
/// Events go to <c>events</c> when given, else to <see cref="OperatorStores.Events"/> through <see cref="EventRecorder"/>,
/// else nowhere.
/// </summary>
public sealed class OperatorHost : IDisposable
{
    private readonly StorageBackendFactory factory;

    public OperatorHost(OperatorStores stores, OperatorHostOptions options, ILoggerFactory loggers, IBackendCallObserver? backendCalls = null,
        IControllerMetrics? metrics = null, TimeProvider? time = null, IEventRecorder? events = null)
    {
        ArgumentNullException.ThrowIfNull(stores);
        ArgumentNullException.ThrowIfNull(options);
        ArgumentNullException.ThrowIfNull(loggers);
        var clock = time ?? TimeProvider.System;
        factory = new StorageBackendFactory(backendCalls ?? NullBackendCallObserver.Instance, loggers, options.BackendRetry, clock);
        Events = events ?? (stores.Events is null
            ? NullEventRecorder.Instance
            : new EventRecorder(stores.Events, loggers.CreateLogger<EventRecorder>(), clock));

        InformerOptions Informer(string? @namespace, string? selector) => new()
        {
            Namespace = @namespace,
            LabelSelector = selector,
            ResyncPeriod = options.ResyncPeriod,
            Backoff = options.InformerBackoff ?? new InformerOptions().Backoff,
        };

        var trimmer = new CacheTrimmer();
        WorkspaceStorageInformer = new Informer<WorkspaceStorageResource>(stores.WorkspaceStorageWatcher, ApiGroup.WorkspaceStoragePlural,
            Informer(options.WatchNamespace, null), loggers.CreateLogger("Informer.WorkspaceStorages"), trimmer.WorkspaceStorage);
        var backendsForStorages = new Informer<StorageBackendResource>(stores.StorageBackendWatcher, ApiGroup.StorageBackendPlural,
            Informer(null, null) with { ResyncPeriod = null }, loggers.CreateLogger("Informer.StorageBackends"));
        Resolver = new StorageBackendResolver(stores.StorageBackends, stores.Secrets, factory, options.DefaultBackend, loggers.CreateLogger<StorageBackendResolver>(),
            backendsForStorages);
        var ownedSecrets = new Informer<V1Secret>(stores.SecretWatcher, "secrets",
            Informer(options.WatchNamespace, $"{ResourceMetadata.ManagedByLabel}={ResourceMetadata.ManagedByValue}") with { ResyncPeriod = null },
            loggers.CreateLogger("Informer.Secrets"), trimmer.Secret);

        // Namespaces' labels, for claim ceilings that select namespaces by label.
        var namespaceInformer = stores.Namespaces is null
            ? null
            : new Informer<V1Namespace>(stores.Namespaces, "namespaces", Informer(null, null) with { ResyncPeriod = null }, loggers.CreateLogger("Informer.Namespaces"));

        // The reconciler's writes (finalizer, status, Secret) must not each set off one more, read-only reconcile.
        var ownWrites = new OwnWrites(clock);
        WorkspaceStorageReconciler = new WorkspaceStorageReconciler(ownWrites.Tracking(stores.WorkspaceStorages), ownWrites.Tracking(stores.Secrets), Resolver, Events,
            loggers.CreateLogger<WorkspaceStorageReconciler>(), WorkspaceStorageInformer, options.Reconciler, clock, new NamespaceLabels(namespaceInformer),
            new AuditTrail(Events, AuditTrail.CreateLogger(loggers)));
        var storagesInformer = WorkspaceStorageInformer;
        WorkspaceStorageController = new Controller<WorkspaceStorageResource>("workspacestorage", WorkspaceStorageInformer, WorkspaceStorageReconciler,
                options.Controller, metrics, loggers.CreateLogger("Controller.WorkspaceStorage"))
            .IgnoreOwnWrites(ownWrites)
            .Watches(backendsForStorages, (InformerEvent<StorageBackendResource> change) => UsersToReconcile(storagesInformer, change))
            .Watches(ownedSecrets, OwnerMapping.ByOwnerReference<V1Secret>(ResourceDescriptors.WorkspaceStorages))
            // When a claimant of a workspace goes (or its claim changes), the next in line may take over: tell the
            // others at once. Only claim changes scan the cache; status writes, the bulk of events, do not.
            .AlsoReconcile(change => ClaimChanged(change) ? OtherClaimants(storagesInformer, change.Object) : []);
        if (namespaceInformer is not null)
        {
            // A namespace's labels decide claims under a ceiling that selects by label: its WorkspaceStorages are judged again.
            WorkspaceStorageController.Watches(namespaceInformer, (InformerEvent<V1Namespace> change) => LabelsChanged(change)
                ? storagesInformer.List(change.Object.Metadata.Name).Select(ResourceKey.Of).ToList()
                : []);
        }

        // A second informer, not a shared one: each controller runs (and restarts) the informers it holds.
        var backendInformer = new Informer<StorageBackendResource>(stores.StorageBackendWatcher, ApiGroup.StorageBackendPlural,
            Informer(null, null), loggers.CreateLogger("Informer.StorageBackends"));
        StorageBackendController = new Controller<StorageBackendResource>("storagebackend", backendInformer,
            new StorageBackendReconciler(stores.StorageBackends, Resolver, Events, loggers.CreateLogger<StorageBackendReconciler>(), clock),
            options.Controller, metrics, loggers.CreateLogger("Controller.StorageBackend"))
            // A StorageBackend refused because an older one names the same bucket is usable once that one goes or moves.
            .AlsoReconcile(change => BucketChanged(change) ? OtherBackends(backendInformer, change.Object) : []);
        Controllers = [WorkspaceStorageController, StorageBackendController];
    }

    public StorageBackendResolver Resolver { get; }

    public IEventRecorder Events { get; }

    public Informer<WorkspaceStorageResource> WorkspaceStorageInformer { get; }

    public WorkspaceStorageReconciler WorkspaceStorageReconciler { get; }

    public Controller<WorkspaceStorageResource> WorkspaceStorageController { get; }

    public Controller<StorageBackendResource> StorageBackendController { get; }

    /// <summary>For readiness (<see cref="HealthState.AddControllers"/>) and leader election.</summary>
    public IReadOnlyList<IRunnable> Controllers { get; }

    /// <summary>Runs every controller until cancelled (call again after losing and regaining leadership).</summary>
    public Task RunAsync(CancellationToken cancellationToken) => Task.WhenAll(Controllers.Select(c => c.RunAsync(cancellationToken)));

    public void Dispose()
    {
        Resolver.Dispose();
        factory.Dispose();
    }

    /// <summary>Only a change of labels: the controller waits for the namespaces to be listed before its first reconcile, and a
    /// namespace is made before (and goes after) the WorkspaceStorages in it.</summary>
    private static bool LabelsChanged(InformerEvent<V1Namespace> change) =>
        change.Type == InformerEventType.Updated && (change.Previous is not { } before || !SameLabels(before.Metadata.Labels, change.Object.Metadata.Labels));

    private static bool SameLabels(IDictionary<string, string>? a, IDictionary<string, string>? b) =>
        (a?.Count ?? 0) == (b?.Count ?? 0) && (a is null || a.All(pair => b!.TryGetValue(pair.Key, out var value) && value == pair.Value));

    private static bool BucketChanged(InformerEvent<StorageBackendResource> change) => change.Type switch
    {
        InformerEventType.Deleted => true,
        InformerEventType.Updated => change.Previous is not { } before
            || (before.Metadata.DeletionTimestamp is null && change.Object.Metadata.DeletionTimestamp is not null)
            || before.Spec?.Endpoint != change.Object.Spec?.Endpoint || before.Spec?.Bucket != change.Object.Spec?.Bucket,
        _ => false,
    };

    /// <summary>Every other StorageBackend (there are few): any of them may have been refused for naming the same bucket.</summary>
    private static IEnumerable<ResourceKey> OtherBackends(Informer<StorageBackendResource> backends, StorageBackendResource changed) =>
        backends.List().Where(b => b.Metadata.Uid != changed.Metadata.Uid).Select(ResourceKey.Of).ToList();

    private static bool ClaimChanged(InformerEvent<WorkspaceStorageResource> change) => change.Type switch
    {
        InformerEventType.Deleted => true,
        InformerEventType.Updated => change.Previous is not { } before
            || (before.Metadata.DeletionTimestamp is null && change.Object.Metadata.DeletionTimestamp is not null)
            || WorkspaceOf(before) != WorkspaceOf(change.Object)
            || before.Spec?.BackendRef?.Name != change.Object.Spec?.BackendRef?.Name
            || before.SecretName() != change.Object.SecretName(),
        _ => false,
    };

    /// <summary>Other WorkspaceStorages claiming the same workspace on the same backend as <paramref name="changed"/>, or
    /// the same Secret name in its namespace.</summary>
    private static IEnumerable<ResourceKey> OtherClaimants(Informer<WorkspaceStorageResource> storages, WorkspaceStorageResource changed)
    {
        var workspace = WorkspaceOf(changed);
        var backend = changed.Spec?.BackendRef?.Name;
        var secretName = changed.SecretName();
        return storages.List()
            .Where(ws => ws.Metadata.Uid != changed.Metadata.Uid
                && ((WorkspaceOf(ws) == workspace && ws.Spec?.BackendRef?.Name == backend)
                    || (ws.Metadata.NamespaceProperty == changed.Metadata.NamespaceProperty && ws.SecretName() == secretName)))
            .Select(ResourceKey.Of)
            .ToList();
    }

    private static string? WorkspaceOf(WorkspaceStorageResource resource) => resource.Status?.Workspace ?? resource.Spec?.Workspace ?? resource.Metadata.Name;

    /// <summary>
    /// WorkspaceStorages naming the StorageBackend that changed (for the default backend, none). A new, deleted or
    /// re-specified backend concerns all of them; a change of its status alone (Ready again after an outage, say) only
    /// those not Ready: a Ready workspace has nothing to gain, and re-reading every user of a backend whose health
    /// check flickers under load would queue thousands of read-only reconciles each time.
    /// </summary>
    private static IEnumerable<ResourceKey> UsersToReconcile(Informer<WorkspaceStorageResource> storages, InformerEvent<StorageBackendResource> change)
    {
        var name = change.Object.Metadata.Name;
        var statusOnly = change.Type == InformerEventType.Updated && change.Previous is { } before
            && before.Metadata.Generation == change.Object.Metadata.Generation;
        return storages.List()
            .Where(ws => ws.Spec?.BackendRef?.Name == name && !(statusOnly && ws.Status.IsTrue(ConditionTypes.Ready)))
            .Select(ResourceKey.Of)
            .ToList();
    }
}
