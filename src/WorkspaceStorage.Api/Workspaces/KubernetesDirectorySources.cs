using k8s.Models;
using WorkspaceStorage.Kubernetes.Runtime;
using WorkspaceStorage.Resources;

namespace WorkspaceStorage.Api.Workspaces;

/// <summary>
/// The API's view of the cluster: watchers for the informers, a client for admin Secrets, and a WorkspaceStorage
/// client for on-demand provisioning (create, annotate, delete).
/// </summary>
/// <param name="Namespaces">Namespaces, for claim ceilings that select namespaces by label; null: such selectors match nothing.</param>
/// <param name="Events">core/v1 Events, for the audit trail's Events on WorkspaceStorages; null: audit log records only.</param>
public sealed record KubernetesDirectorySources(
    IResourceWatcher<WorkspaceStorageResource> WorkspaceStorages,
    IResourceWatcher<StorageBackendResource> StorageBackends,
    IResourceWatcher<V1Secret> SecretWatcher,
    IResourceClient<V1Secret> Secrets,
    IResourceClient<WorkspaceStorageResource> WorkspaceStorageClient,
    IResourceWatcher<V1Namespace>? Namespaces = null,
    IResourceClient<Corev1Event>? Events = null)
{
    public static KubernetesDirectorySources FromKubernetes(k8s.IKubernetes kubernetes, ResourceClientOptions? options = null)
    {
        var secrets = new KubernetesResourceClient<V1Secret>(kubernetes, ResourceDescriptor.Secrets, options);
        var workspaceStorages = new KubernetesResourceClient<WorkspaceStorageResource>(kubernetes, ResourceDescriptors.WorkspaceStorages, options);
        return new KubernetesDirectorySources(
            workspaceStorages,
            new KubernetesResourceClient<StorageBackendResource>(kubernetes, ResourceDescriptors.StorageBackends, options),
            secrets, secrets, workspaceStorages, new KubernetesResourceClient<V1Namespace>(kubernetes, ResourceDescriptor.Namespaces, options),
            new KubernetesResourceClient<Corev1Event>(kubernetes, ResourceDescriptor.Events, options));
    }
}
