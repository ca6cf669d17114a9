using WorkspaceStorage.Storage.S3;

namespace WorkspaceStorage.Api.Workspaces;

/// <summary>
/// Directory listings in Hypha's shape: <c>{type:"file", name, size, last_modified}</c> (epoch seconds) and
/// <c>{type:"directory", name}</c>, names relative to the listed directory.
/// </summary>
public static class WorkspaceListing
{
    /// <summary>Lists the direct children of <paramref name="directoryKey"/> (ends in '/'), skipping <paramref name="offset"/> and returning at most <paramref name="maxLength"/>.</summary>
    public static async Task<List<Dictionary<string, object>>> ListAsync(S3ObjectClient client, string directoryKey, int offset, int maxLength,
        CancellationToken cancellationToken)
    {
        var items = new List<Dictionary<string, object>>();
        var skipped = 0;
        await foreach (var page in client.ListAllAsync(directoryKey, "/", cancellationToken: cancellationToken))
        {
            foreach (var entry in Entries(page, directoryKey))
            {
                if (skipped < offset)
                {
                    skipped++;
                    continue;
                }

                items.Add(entry);
                if (items.Count >= maxLength)
                {
                    return items;
                }
            }
        }

        return items;
    }

    private static IEnumerable<Dictionary<string, object>> Entries(S3ListPage page, string directoryKey)
    {
        foreach (var file in page.Objects)
        {
            if (file.Key.Length <= directoryKey.Length)
            {
                continue; // the directory's own marker object ("dir/")
            }

            yield return new Dictionary<string, object>
            {
                ["type"] = "file",
                ["name"] = file.Key[directoryKey.Length..],
                ["size"] = file.Size,
                ["last_modified"] = file.LastModified.ToUnixTimeMilliseconds() / 1000.0,
            };
        }

        foreach (var prefix in page.CommonPrefixes)
        {
            yield return new Dictionary<string, object>
            {
                ["type"] = "directory",
                ["name"] = prefix[directoryKey.Length..].TrimEnd('/'),
            };
        }
    }
}
