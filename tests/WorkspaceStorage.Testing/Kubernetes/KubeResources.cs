using WorkspaceStorage.Kubernetes.InMemory;

namespace WorkspaceStorage.Testing.Kubernetes;

/// <summary>The resource types every test server serves unless told otherwise.</summary>
public static class KubeResources
{
    public const string WorkspaceStorageGroup = "workspacestorage.hypha.amun.ai";
    public const string WorkspaceStorageVersion = "v1alpha1";

    public static readonly ResourceType Secrets = ResourceType.BuiltIn("", "v1", "secrets", "Secret", namespaced: true);
    public static readonly ResourceType ConfigMaps = ResourceType.BuiltIn("", "v1", "configmaps", "ConfigMap", namespaced: true);
    public static readonly ResourceType Namespaces = ResourceType.BuiltIn("", "v1", "namespaces", "Namespace", namespaced: false, hasStatusSubresource: true);

    /// <summary>core/v1 Events: what <c>k8s.Kubernetes.CoreV1.CreateNamespacedEventAsync</c> writes.</summary>
    public static readonly ResourceType CoreEvents = ResourceType.BuiltIn("", "v1", "events", "Event", namespaced: true);

    /// <summary>events.k8s.io/v1 Events: what <c>k8s.Kubernetes.EventsV1.CreateNamespacedEventAsync</c> writes.</summary>
    public static readonly ResourceType Events = ResourceType.BuiltIn("events.k8s.io", "v1", "events", "Event", namespaced: true);

    public static readonly ResourceType Leases = ResourceType.BuiltIn("coordination.k8s.io", "v1", "leases", "Lease", namespaced: true);

    public static readonly ResourceType WorkspaceStorages = ResourceType.Custom(
        WorkspaceStorageGroup, WorkspaceStorageVersion, "workspacestorages", "WorkspaceStorage", namespaced: true);

    public static readonly ResourceType StorageBackends = ResourceType.Custom(
        WorkspaceStorageGroup, WorkspaceStorageVersion, "storagebackends", "StorageBackend", namespaced: false);

    /// <summary>Everything above.</summary>
    public static IReadOnlyList<ResourceType> Defaults { get; } =
        [Secrets, ConfigMaps, Namespaces, CoreEvents, Events, Leases, WorkspaceStorages, StorageBackends];
}
