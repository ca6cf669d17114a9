using WorkspaceStorage.Resources;
using System.Text.Json.Nodes;
using WorkspaceStorage.Core.Workspaces;
using WorkspaceStorage.Kubernetes.Runtime;

namespace WorkspaceStorage.Api.OnDemand;

/// <summary>
/// What on-demand provisioning and its clean-up need from the cluster store: reads from a watched cache (so a call
/// costs no API-server round trip), and the few writes they make. Implemented over the Kubernetes informer and client.
/// </summary>
public interface IOnDemandStore
{
    /// <summary>Every WorkspaceStorage whose <c>spec.workspace</c> (or name, when unset) is <paramref name="workspace"/>, from the cache.</summary>
    IReadOnlyList<WorkspaceStorageResource> Claiming(WorkspaceId workspace);

    /// <summary>Every WorkspaceStorage carrying the on-demand label, from the cache.</summary>
    IReadOnlyList<WorkspaceStorageResource> ListOnDemand();

    /// <summary>Reads one object from the API server (not the cache): for conditions while waiting.</summary>
    Task<WorkspaceStorageResource?> GetAsync(ResourceKey key, CancellationToken cancellationToken);

    /// <summary>Creates the object; <see cref="ResourceAlreadyExistsException"/> when the name is taken.</summary>
    Task CreateAsync(WorkspaceStorageResource resource, CancellationToken cancellationToken);

    /// <summary>Sets one annotation (merge patch).</summary>
    Task AnnotateAsync(ResourceKey key, string annotation, string value, CancellationToken cancellationToken);

    /// <summary>Asks for deletion; false when already gone.</summary>
    Task<bool> DeleteAsync(ResourceKey key, CancellationToken cancellationToken);
}

/// <summary>The store over the API's WorkspaceStorage informer (reads) and resource client (writes).</summary>
/// <param name="withinCeiling">Whether a claim counts: one its StorageBackend's claim ceiling refuses (a tenant squatting
/// a Hypha user's workspace, say) is nobody's claim, so it must not keep on-demand provisioning from making the real one.</param>
public sealed class ResourceOnDemandStore(IResourceCache<WorkspaceStorageResource> cache, IResourceClient<WorkspaceStorageResource> client,
    Func<WorkspaceStorageResource, bool> withinCeiling) : IOnDemandStore
{
    public IReadOnlyList<WorkspaceStorageResource> Claiming(WorkspaceId workspace)
    {
        ArgumentNullException.ThrowIfNull(workspace);
        return [.. cache.List().Where(r => string.Equals(r.Spec.Workspace ?? r.Metadata.Name, workspace.Value, StringComparison.Ordinal) && withinCeiling(r))];
    }

    public IReadOnlyList<WorkspaceStorageResource> ListOnDemand() => [.. cache.List().Where(OnDemandWorkspaceStorage.IsOnDemand)];

    public Task<WorkspaceStorageResource?> GetAsync(ResourceKey key, CancellationToken cancellationToken) => client.GetAsync(key, cancellationToken);

    public Task CreateAsync(WorkspaceStorageResource resource, CancellationToken cancellationToken) => client.CreateAsync(resource, cancellationToken);

    public Task AnnotateAsync(ResourceKey key, string annotation, string value, CancellationToken cancellationToken) =>
        client.PatchAsync(key, ResourcePatch.Merge(new JsonObject
        {
            ["metadata"] = new JsonObject { ["annotations"] = new JsonObject { [annotation] = value } },
        }.ToJsonString()), cancellationToken);

    public Task<bool> DeleteAsync(ResourceKey key, CancellationToken cancellationToken) => client.DeleteAsync(key, cancellationToken);
}
