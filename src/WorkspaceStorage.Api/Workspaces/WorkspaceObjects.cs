using WorkspaceStorage.Storage.S3;

namespace WorkspaceStorage.Api.Workspaces;

/// <summary>
/// Reads with W's own key. W's policy lets it list only under <c>W/</c>, so S3 answers a GET or HEAD of a missing key
/// with 403 rather than 404 (S3 hides existence from callers without ListBucket on the key). The API only ever asks
/// for keys under <c>W/</c>, where W may read everything; a 403 there is confirmed by a listing and then means "missing".
/// </summary>
public static class WorkspaceObjects
{
    public static async Task<S3ObjectMetadata?> HeadAsync(S3ObjectClient client, string key, CancellationToken cancellationToken)
    {
        try
        {
            return await client.HeadAsync(key, cancellationToken);
        }
        catch (S3RequestException ex) when (ex.StatusCode == StatusCodes.Status403Forbidden)
        {
            if (await ExistsAsync(client, key, cancellationToken))
            {
                throw;
            }

            return null;
        }
    }

    /// <summary>A GET whose 403-for-missing is turned into <see cref="S3GetStatus.NotFound"/> (null).</summary>
    public static async Task<S3GetResult?> GetAsync(S3ObjectClient client, string key, S3ByteRange? range, CancellationToken cancellationToken)
    {
        try
        {
            var result = await client.GetAsync(key, range, cancellationToken);
            if (result.Status == S3GetStatus.NotFound)
            {
                await result.DisposeAsync();
                return null;
            }

            return result;
        }
        catch (S3RequestException ex) when (ex.StatusCode == StatusCodes.Status403Forbidden)
        {
            if (await ExistsAsync(client, key, cancellationToken))
            {
                throw;
            }

            return null;
        }
    }

    public static async Task<bool> ExistsAsync(S3ObjectClient client, string key, CancellationToken cancellationToken)
    {
        var page = await client.ListAsync(key, maxKeys: 1, cancellationToken: cancellationToken);
        return page.Objects.Count > 0 && page.Objects[0].Key == key;
    }
}
