using k8s.Models;
using Microsoft.Extensions.Logging;
using WorkspaceStorage.Core.Resources;
using WorkspaceStorage.Kubernetes.Runtime;

namespace WorkspaceStorage.Operator.LocalMode;

/// <summary>The local mode's stand-in for the Kubernetes garbage collector: managed Secrets go with their WorkspaceStorage.</summary>
internal sealed class OwnedSecretCollector(IResourceClient<WorkspaceStorageResource> storages, IResourceWatcher<WorkspaceStorageResource> storageWatcher,
    IResourceClient<V1Secret> secrets, ILogger logger)
{
    /// <summary>Deletes managed Secrets whose owning WorkspaceStorage is gone, as the Kubernetes garbage collector would.</summary>
    public async Task RunAsync(CancellationToken cancellationToken)
    {
        while (!cancellationToken.IsCancellationRequested)
        {
            try
            {
                await SweepOrphanedSecretsAsync(cancellationToken).ConfigureAwait(false);
                var list = await storages.ListAsync(null, null, cancellationToken).ConfigureAwait(false);
                await foreach (var change in storageWatcher.WatchAsync(null, list.ResourceVersion, null, cancellationToken).ConfigureAwait(false))
                {
                    if (change.Type == ResourceWatchEventType.Deleted)
                    {
                        await SweepOrphanedSecretsAsync(cancellationToken).ConfigureAwait(false);
                    }
                }
            }
            catch (OperationCanceledException) when (cancellationToken.IsCancellationRequested)
            {
                return;
            }
            catch (ResourceClientException)
            {
                // History compacted (410) or a failed delete: sweep again from a fresh list.
            }
        }
    }

    /// <summary>Deletes managed Secrets owned by a WorkspaceStorage that no longer exists. Returns how many.</summary>
    public async Task<int> SweepOrphanedSecretsAsync(CancellationToken cancellationToken)
    {
        var owners = (await storages.ListAsync(null, null, cancellationToken).ConfigureAwait(false)).Items
            .Select(ws => ws.Metadata.Uid).ToHashSet(StringComparer.Ordinal);
        var managed = await secrets.ListAsync(null, $"{ResourceMetadata.ManagedByLabel}={ResourceMetadata.ManagedByValue}", cancellationToken).ConfigureAwait(false);
        var deleted = 0;
        foreach (var secret in managed.Items)
        {
            var references = secret.Metadata.OwnerReferences?.Where(r => r.Kind == ApiGroup.WorkspaceStorageKind).ToList() ?? [];
            if (references.Count > 0 && references.All(r => !owners.Contains(r.Uid)))
            {
                await secrets.DeleteAsync(ResourceKey.Of(secret), cancellationToken).ConfigureAwait(false);
                logger.LogInformation("Local mode: deleted Secret {Key} (its WorkspaceStorage is gone)", ResourceKey.Of(secret).ToString());
                deleted++;
            }
        }

        return deleted;
    }
}
