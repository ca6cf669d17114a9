using WorkspaceStorage.Core.Model;
using WorkspaceStorage.Kubernetes.Runtime;

namespace WorkspaceStorage.Resources;

/// <summary>Where the API server serves the two custom resources: one definition for the operator, the companion and the tests.</summary>
public static class ResourceDescriptors
{
    public static ResourceDescriptor WorkspaceStorages { get; } =
        new(ApiGroup.Group, ApiGroup.Version, ApiGroup.WorkspaceStoragePlural, ApiGroup.WorkspaceStorageKind, Namespaced: true);

    /// <summary>Cluster-scoped: only an admin writes StorageBackends (and their claim ceilings).</summary>
    public static ResourceDescriptor StorageBackends { get; } =
        new(ApiGroup.Group, ApiGroup.Version, ApiGroup.StorageBackendPlural, ApiGroup.StorageBackendKind, Namespaced: false);
}
