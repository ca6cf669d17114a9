using k8s;
using k8s.Models;
using WorkspaceStorage.Kubernetes.Runtime;

namespace WorkspaceStorage.Operator.Reconciliation;

/// <summary>
/// Writes a resource's status only when a change actually changes it, and on 409 Conflict re-reads the object and
/// applies the change again (bounded), so a converged object costs no write.
/// </summary>
public sealed class StatusWriter<TResource, TStatus>(IResourceClient<TResource> resources, int attempts = 4)
    where TResource : class, IKubernetesObject<V1ObjectMeta>, IStatus<TStatus?>
    where TStatus : class, new()
{
    /// <returns>The stored object after the write (or as read, when nothing changed) and whether anything was written.</returns>
    public async Task<(TResource Resource, bool Changed)> UpdateAsync(TResource resource, Func<TStatus, bool> change, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(resource);
        ArgumentNullException.ThrowIfNull(change);
        var current = resource;
        for (var attempt = 1; ; attempt++)
        {
            var copy = ResourceCopy.Clone(current);
            copy.Status ??= new TStatus();
            if (!change(copy.Status))
            {
                return (current, false);
            }

            try
            {
                var written = await resources.ReplaceStatusAsync(copy, cancellationToken);
                return (written, true);
            }
            catch (ResourceConflictException) when (attempt < attempts)
            {
                current = await resources.GetAsync(ResourceKey.Of(resource), cancellationToken)
                    ?? throw new ResourceNotFoundException($"{resource.Kind} {ResourceKey.Of(resource)} disappeared during a status update");
            }
        }
    }
}
