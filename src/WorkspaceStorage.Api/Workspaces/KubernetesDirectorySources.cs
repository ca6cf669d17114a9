using k8s.Models;
using WorkspaceStorage.Core.Model;
using WorkspaceStorage.Kubernetes.Runtime;
using WorkspaceStorage.Resources;

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
    public static ResourceDescriptor WorkspaceStorageDescriptor { get; } =
        new(ApiGroup.Group, ApiGroup.Version, ApiGroup.WorkspaceStoragePlural, ApiGroup.WorkspaceStorageKind, Namespaced: true);

    public static ResourceDescriptor StorageBackendDescriptor { get; } =
        new(ApiGroup.Group, ApiGroup.Version, ApiGroup.StorageBackendPlural, ApiGroup.StorageBackendKind, Namespaced: false);

    public static KubernetesDirectorySources FromKubernetes(k8s.IKubernetes kubernetes, ResourceClientOptions? options = null)
    {
        var secrets = new KubernetesResourceClient<V1Secret>(kubernetes, ResourceDescriptor.Secrets, options);
        var workspaceStorages = new KubernetesResourceClient<WorkspaceStorageResource>(kubernetes, WorkspaceStorageDescriptor, options);
        return new KubernetesDirectorySources(
            workspaceStorages,
            new KubernetesResourceClient<StorageBackendResource>(kubernetes, StorageBackendDescriptor, options),
            secrets, secrets, workspaceStorages, new KubernetesResourceClient<V1Namespace>(kubernetes, ResourceDescriptor.Namespaces, options));
    }
}
