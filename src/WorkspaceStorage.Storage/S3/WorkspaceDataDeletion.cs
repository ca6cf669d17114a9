using Microsoft.Extensions.Logging;
using WorkspaceStorage.Core.Workspaces;
using WorkspaceStorage.Storage.Backends;

namespace WorkspaceStorage.Storage.S3;

/// <summary>The deletionPolicy's data rule, the same for every backend: the objects go only when asked to.</summary>
public static class WorkspaceDataDeletion
{
    /// <summary>Deletes the workspace's objects when <paramref name="data"/> says Delete; true when any object went.</summary>
    public static async Task<bool> DeleteDataIfAskedAsync(this IAdminBucketOperations buckets, WorkspaceId workspace, DataDeletion data,
        ILogger logger, CancellationToken cancellationToken)
    {
        if (data != DataDeletion.Delete)
        {
            return false;
        }

        var objects = await buckets.DeletePrefixAsync(workspace.Prefix, cancellationToken);
        logger.LogInformation("Deleted {Objects} objects under {Prefix}", objects, workspace.Prefix);
        return objects > 0;
    }
}
