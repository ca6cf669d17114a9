using Microsoft.AspNetCore.StaticFiles;
using WorkspaceStorage.Api.Paths;
using WorkspaceStorage.Storage.S3;

namespace WorkspaceStorage.Api.Storage;

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
            if (await client.HeadAsync(path.Key, cancellationToken) is null)
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
            var result = await client.DeleteManyAsync(page.Objects.Select(o => o.Key), cancellationToken);
            if (result.Errors.Count > 0)
            {
                throw new Errors.ApiException(StatusCodes.Status500InternalServerError,
                    $"could not delete {result.Errors.Count} objects ({result.Errors[0].Code})");
            }
        }

        return any;
    }
}
