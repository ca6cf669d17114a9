using System.Text.Json.Nodes;
using k8s;
using k8s.Models;
using Microsoft.Extensions.Logging;
using WorkspaceStorage.Core.Resources;
using WorkspaceStorage.Kubernetes.Runtime;
using YamlDotNet.Core;

namespace WorkspaceStorage.Operator.LocalMode;

/// <summary>
/// Brings the local mode back after a restart from its output directory, so it keeps the keys it issued and a
/// manifest deleted while it was down still runs its finalizer.
/// </summary>
internal sealed class LocalOutputRestorer(LocalOutputDirectory output, IResourceClient<WorkspaceStorageResource> storages, IResourceClient<V1Secret> secrets,
    ILogger logger)
{
    /// <summary>Loads WorkspaceStorages (with status and finalizers) and managed Secrets from the output directory, and
    /// points the Secrets' owner references at the reloaded objects' new uids. StorageBackend files are rewritten from
    /// the manifests, so old ones are dropped. Returns the WorkspaceStorages restored.</summary>
    public async Task<IReadOnlyList<ResourceKey>> RestoreAsync(CancellationToken cancellationToken)
    {
        foreach (var file in output.Files(LocalOutputDirectory.StorageBackendsFolder))
        {
            File.Delete(file);
        }

        var restored = new List<ResourceKey>();
        var uids = new Dictionary<(string? Namespace, string Name, string OldUid), string>();
        foreach (var file in output.Files(LocalOutputDirectory.WorkspaceStoragesFolder))
        {
            try
            {
                var json = ReadOutputFile(file);
                var resource = KubernetesJson.Deserialize<WorkspaceStorageResource>(json.ToJsonString());
                var oldUid = resource.Metadata.Uid;
                var status = resource.Status;
                var metadata = resource.Metadata;
                var deleting = metadata.DeletionTimestamp is not null;
                metadata.Uid = null;
                metadata.ResourceVersion = null;
                metadata.DeletionTimestamp = null;
                var created = await storages.CreateAsync(resource, cancellationToken).ConfigureAwait(false);
                if (status is not null)
                {
                    created.Status = status;
                    created = await storages.ReplaceStatusAsync(created, cancellationToken).ConfigureAwait(false);
                }

                if (oldUid is not null)
                {
                    uids[(metadata.NamespaceProperty, metadata.Name, oldUid)] = created.Metadata.Uid;
                }

                restored.Add(ResourceKey.Of(created));
                if (deleting)
                {
                    await storages.DeleteAsync(ResourceKey.Of(created), cancellationToken).ConfigureAwait(false);
                }
            }
            catch (Exception error) when (error is YamlException or IOException or System.Text.Json.JsonException or ResourceClientException or ArgumentException)
            {
                logger.LogWarning("Local mode: cannot restore {File} ({Error}); it is skipped", file, error.GetType().Name);
            }
        }

        foreach (var file in output.Files(LocalOutputDirectory.SecretsFolder))
        {
            try
            {
                var secret = KubernetesJson.Deserialize<V1Secret>(ReadOutputFile(file).ToJsonString());
                if (!LocalModeStores.IsManaged(secret))
                {
                    continue;
                }

                secret.Metadata.Uid = null;
                secret.Metadata.ResourceVersion = null;
                foreach (var reference in secret.Metadata.OwnerReferences ?? [])
                {
                    if (uids.TryGetValue((secret.Metadata.NamespaceProperty, reference.Name, reference.Uid), out var uid))
                    {
                        reference.Uid = uid;
                    }
                }

                await secrets.CreateAsync(secret, cancellationToken).ConfigureAwait(false);
            }
            catch (Exception error) when (error is YamlException or IOException or System.Text.Json.JsonException or ResourceClientException or ArgumentException)
            {
                // Type only: the file holds keys.
                logger.LogWarning("Local mode: cannot restore {File} ({Error}); it is skipped", file, error.GetType().Name);
            }
        }

        return restored;
    }

    private static JsonObject ReadOutputFile(string file) =>
        YamlJson.ParseDocuments(File.ReadAllText(file)) is [var single] ? single : throw new YamlException($"expected one document in {Path.GetFileName(file)}");
}
