using System.Text.Json;
using WorkspaceStorage.Api.Errors;
using WorkspaceStorage.Api.Paths;
using WorkspaceStorage.Api.Presigning;
using WorkspaceStorage.Api.Workspaces;
using WorkspaceStorage.Api.Ttl;
using WorkspaceStorage.Api.Quotas;
using WorkspaceStorage.Storage.S3;

namespace WorkspaceStorage.Api.Multipart;

/// <summary>
/// Multipart uploads for the service methods and the HTTP routes: started with W's own key, parts presigned with it,
/// and completed only from the workspace that started them (the upload token says which; S3's ListParts with W's key confirms).
/// </summary>
public sealed class MultipartUploads(MultipartUploadTokens tokens, IPresignedUrlRewriter rewriter, TtlMarkerStore ttl)
{
    public const int MaxParts = S3ObjectClient.MaxPartNumber;

    public async Task<Dictionary<string, object>> StartAsync(ResolvedWorkspace storage, WorkspacePath path, int partCount, int expirySeconds,
        int? ttlSeconds, CancellationToken cancellationToken)
    {
        if (ttlSeconds is not null)
        {
            TtlMarkerStore.EnsureSupported(storage.Handle);
        }

        UploadQuota.Check(storage.Handle, declaredLength: 0); // the total is not known: refused only at the quota
        var expiry = TimeSpan.FromSeconds(expirySeconds);
        var uploadId = await storage.Client.CreateMultipartUploadAsync(path.Key, WorkspaceFiles.GuessContentType(path.Name), cancellationToken);
        if (ttlSeconds is { } seconds)
        {
            await ttl.RecordAsync(storage.Handle, path.Key, seconds, expiry, cancellationToken);
        }

        var parts = new List<Dictionary<string, object>>(partCount);
        for (var part = 1; part <= partCount; part++)
        {
            var url = storage.Client.PresignUploadPart(path.Key, uploadId, part, expiry);
            parts.Add(new Dictionary<string, object> { ["part_number"] = part, ["url"] = rewriter.Rewrite(storage.Workspace, url) });
        }

        return new Dictionary<string, object>
        {
            ["upload_id"] = tokens.Issue(storage.Workspace, path.Key, uploadId),
            ["parts"] = parts,
        };
    }

    public async Task<Dictionary<string, object?>> CompleteAsync(ResolvedWorkspace storage, string uploadToken, IReadOnlyList<S3CompletedPart> parts,
        CancellationToken cancellationToken)
    {
        var ticket = tokens.Open(storage.Workspace, uploadToken)
            ?? throw new ApiException(StatusCodes.Status404NotFound, "upload_id does not name a multipart upload of this workspace");
        // S3 ties an upload id to its key, and W's key can only see W's uploads: a second, independent check.
        if (await storage.Client.ListPartsAsync(ticket.Key, ticket.UploadId, cancellationToken) is null)
        {
            throw new ApiException(StatusCodes.Status404NotFound, "upload_id does not name a multipart upload in progress (completed or aborted?)");
        }

        var completed = await storage.Client.CompleteMultipartUploadAsync(ticket.Key, ticket.UploadId, parts, cancellationToken);
        return new Dictionary<string, object?>
        {
            ["success"] = true,
            ["message"] = "File uploaded successfully",
            ["etag"] = completed.ETag,
            ["location"] = completed.Location,
            ["path"] = ticket.Key[storage.Workspace.Prefix.Length..],
        };
    }

    /// <summary>Reads <c>parts: [{part_number, etag}]</c> (also PartNumber/ETag, as boto3 spells them).</summary>
    public static IReadOnlyList<S3CompletedPart> ReadParts(JsonElement? raw)
    {
        if (raw is not { ValueKind: JsonValueKind.Array } array)
        {
            throw new ApiArgumentException("parts", "is required: a list of {part_number, etag}");
        }

        var parts = new List<S3CompletedPart>();
        foreach (var item in array.EnumerateArray())
        {
            if (item.ValueKind != JsonValueKind.Object)
            {
                throw new ApiArgumentException("parts", "must be a list of {part_number, etag} objects");
            }

            var number = Property(item, "part_number", "PartNumber");
            var etag = Property(item, "etag", "ETag");
            if (number is not { ValueKind: JsonValueKind.Number } n || !n.TryGetInt32(out var partNumber) || partNumber is < 1 or > MaxParts)
            {
                throw new ApiArgumentException("parts.part_number", $"must be an integer between 1 and {MaxParts}");
            }

            if (etag is not { ValueKind: JsonValueKind.String } e || string.IsNullOrWhiteSpace(e.GetString()))
            {
                throw new ApiArgumentException("parts.etag", "must be a non-empty string");
            }

            parts.Add(new S3CompletedPart(partNumber, e.GetString()!));
        }

        if (parts.Count is 0 or > MaxParts)
        {
            throw new ApiArgumentException("parts", $"must hold between 1 and {MaxParts} parts");
        }

        return parts;
    }

    private static JsonElement? Property(JsonElement item, string name, string alternative) =>
        item.TryGetProperty(name, out var value) || item.TryGetProperty(alternative, out value) ? value : null;
}
