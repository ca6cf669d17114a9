using Microsoft.AspNetCore.StaticFiles;
using WorkspaceStorage.Api.Paths;
using WorkspaceStorage.Storage.S3;

namespace WorkspaceStorage.Api.Workspaces;

/// <summary>File operations shared by the service methods and the /files routes, all with W's own key.</summary>
public static class WorkspaceFiles
{
    private static readonly FileExtensionContentTypeProvider ContentTypes = new();

    /// <summary>The content type for a file name, from its extension; application/octet-stream when unknown.</summary>
    public static string GuessContentType(string name) =>
        ContentTypes.TryGetContentType(name, out var type) ? type : "application/octet-stream";

    /// <summary>
    /// Removes a file, or everything under a directory (path ending in '/', or the root). False when nothing was there.
    /// </summary>
    public static async Task<bool> RemoveAsync(S3ObjectClient client, WorkspacePath path, CancellationToken cancellationToken)
    {
        if (!path.IsDirectory)
        {
            if (await WorkspaceObjects.HeadAsync(client, path.Key, cancellationToken) is null)
            {
                return false;
            }

            await client.DeleteAsync(path.Key, cancellationToken);
            return true;
        }

        var any = false;
        // Delete page by page while listing, so a huge directory never sits in memory.
        await foreach (var page in client.ListAllAsync(path.Key, cancellationToken: cancellationToken))
        {
            if (page.Objects.Count == 0)
            {
                continue;
            }

            any = true;
            // One DeleteObject per key: RGW refuses a multi-object delete (POST ?delete, a bucket-level call) to a
            // key whose policy covers only W/*, while it allows each single delete.
            await Parallel.ForEachAsync(page.Objects, new ParallelOptions { MaxDegreeOfParallelism = 8, CancellationToken = cancellationToken },
                async (entry, ct) => await client.DeleteAsync(entry.Key, ct));
        }

        return any;
    }
}
