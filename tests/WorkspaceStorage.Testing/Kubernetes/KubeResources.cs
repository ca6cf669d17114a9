using WorkspaceStorage.Kubernetes.Runtime;

namespace WorkspaceStorage.Testing.Kubernetes;

/// <summary>The resource types tests count and fault by name (<see cref="KubeRequest.Type"/> is one of these when it matches).</summary>
public static class KubeResources
{
    public const string WorkspaceStorageGroup = "workspacestorage.hypha.amun.ai";
    public const string WorkspaceStorageVersion = "v1alpha1";

    public static readonly ResourceDescriptor Secrets = ResourceDescriptor.Secrets;
    public static readonly ResourceDescriptor ConfigMaps = ResourceDescriptor.ConfigMaps;
    public static readonly ResourceDescriptor Namespaces = new("", "v1", "namespaces", "Namespace", Namespaced: false);

    /// <summary>core/v1 Events: what <c>k8s.Kubernetes.CoreV1.CreateNamespacedEventAsync</c> writes.</summary>
    public static readonly ResourceDescriptor CoreEvents = ResourceDescriptor.Events;

    /// <summary>events.k8s.io/v1 Events: what <c>k8s.Kubernetes.EventsV1.CreateNamespacedEventAsync</c> writes.</summary>
    public static readonly ResourceDescriptor Events = new("events.k8s.io", "v1", "events", "Event", Namespaced: true);

    public static readonly ResourceDescriptor Leases = new("coordination.k8s.io", "v1", "leases", "Lease", Namespaced: true);

    public static readonly ResourceDescriptor WorkspaceStorages = new(
        WorkspaceStorageGroup, WorkspaceStorageVersion, "workspacestorages", "WorkspaceStorage", Namespaced: true);

    public static readonly ResourceDescriptor StorageBackends = new(
        WorkspaceStorageGroup, WorkspaceStorageVersion, "storagebackends", "StorageBackend", Namespaced: false);

    /// <summary>Everything above.</summary>
    public static IReadOnlyList<ResourceDescriptor> Defaults { get; } =
        [Secrets, ConfigMaps, Namespaces, CoreEvents, Events, Leases, WorkspaceStorages, StorageBackends];
}
