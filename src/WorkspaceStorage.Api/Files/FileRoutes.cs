using System.Globalization;
using Microsoft.Extensions.Options;
using Microsoft.AspNetCore.Http.HttpResults;
using WorkspaceStorage.Api.Audit;
using WorkspaceStorage.Api.Errors;
using WorkspaceStorage.Api.Hosting;
using WorkspaceStorage.Api.Paths;
using WorkspaceStorage.Api.Http;
using WorkspaceStorage.Api.Workspaces;
using WorkspaceStorage.Api.Quotas;
using WorkspaceStorage.Storage.Backends;
using WorkspaceStorage.Storage.S3;

namespace WorkspaceStorage.Api.Files;

/// <summary>
/// The handlers of <c>/{workspace}/files/{path}</c> (mapped, with their permissions, in <see cref="Http.ApiRoutes"/>):
/// GET (ranges; directory listing for paths ending in '/'), HEAD, PUT (streamed to S3) and DELETE (a whole directory
/// when the path ends in '/'). Bodies stream both ways through a pooled buffer; nothing is held whole in memory.
/// </summary>
public static class FileRoutes
{
    /// <summary>Most children a directory GET returns.</summary>
    public const int MaxDirectoryChildren = 10000;

    private static async Task<ResolvedWorkspace> ResolveAsync(HttpContext context, WorkspaceStorageResolver resolver) =>
        await resolver.ResolveAsync(context.GetWorkspaceGrant().Workspace, context.RequestAborted);

    public static async Task<Results<Ok<DirectoryListing>, EmptyHttpResult, RedirectHttpResult, NotFound<ApiError>, JsonHttpResult<ApiError>>> GetAsync(
        HttpContext context, string? path, WorkspaceStorageResolver resolver, ApiMetrics metrics, IOptions<StorageOptions> options,
        CompanionAuditTrail audit)
    {
        var file = WorkspacePath.Parse(context.GetWorkspaceGrant().Workspace, path);
        var storage = await ResolveAsync(context, resolver);
        var cancellationToken = context.RequestAborted;
        if (file.IsDirectory)
        {
            var children = await WorkspaceListing.ListAsync(storage.Client, file.Key, 0, MaxDirectoryChildren, cancellationToken);
            if (children.Count == 0)
            {
                return ApiErrors.NotFound($"Directory not found or empty: {path}");
            }

            return TypedResults.Ok(new DirectoryListing(file.Name, children));
        }

        if (options.Value.FileDownloadMode == FileDownloadMode.Redirect)
        {
            var lifetime = options.Value.FileDownloadUrlLifetime;
            audit.RecordPresigned(storage.Handle, context.GetWorkspaceGrant().Principal, HttpMethod.Get, file.Key, lifetime, "file download redirect");
            return RedirectToPresignedGet(context.Response, storage, file.Key, lifetime);
        }

        // One "bytes=a-b", "a-" or "-n" range is passed on; anything else (several ranges, garbage) gets the whole file, as RFC 9110 allows.
        S3ByteRange? range = S3ByteRange.TryParse(context.Request.Headers.Range.ToString(), out var parsed) ? parsed : null;
        await using var result = await WorkspaceObjects.GetAsync(storage.Client, file.Key, range, cancellationToken);
        var response = context.Response;
        switch (result?.Status)
        {
            case null:
                return ApiErrors.NotFound($"File not found: {path}");
            case S3GetStatus.RangeNotSatisfiable:
                var size = result.ObjectSize ?? (await WorkspaceObjects.HeadAsync(storage.Client, file.Key, cancellationToken))?.ContentLength;
                if (size is { } total)
                {
                    response.Headers.ContentRange = $"bytes */{total.ToString(CultureInfo.InvariantCulture)}";
                }

                return ApiErrors.RangeNotSatisfiable($"range {range} is not satisfiable");
        }

        response.StatusCode = result.HttpStatus;
        response.ContentType = WorkspaceFiles.GuessContentType(file.Name);
        response.ContentLength = result.ContentLength;
        response.Headers.AcceptRanges = "bytes";
        if (result.Status == S3GetStatus.PartialContent && result.ContentRange is not null)
        {
            response.Headers.ContentRange = result.ContentRange;
        }

        SetValidators(response, result.ETag, result.LastModified);
        try
        {
            await StreamCopy.CopyAsync(result.Body, response.Body, long.MaxValue, n => metrics.AddStreamedBytes(StreamDirection.Download, n), cancellationToken);
        }
        catch (IOException error) when (!cancellationToken.IsCancellationRequested)
        {
            // The storage server went away after its headers (a restart under load): before our first byte this is
            // still a clean 503, not a 500; after it, the exception middleware cuts the connection either way.
            throw new BackendUnavailableException($"S3 GetObject: the transfer broke off ({error.Message})", error);
        }

        return TypedResults.Empty;
    }

    public static async Task<Results<Ok, NotFound, EmptyHttpResult>> HeadAsync(HttpContext context, string? path, WorkspaceStorageResolver resolver)
    {
        var file = WorkspacePath.Parse(context.GetWorkspaceGrant().Workspace, path);
        var storage = await ResolveAsync(context, resolver);
        var response = context.Response;
        if (file.IsDirectory)
        {
            var page = await storage.Client.ListAsync(file.Key, "/", maxKeys: 2, cancellationToken: context.RequestAborted);
            var empty = page.CommonPrefixes.Count == 0 && page.Objects.All(o => o.Key == file.Key);
            response.ContentType = "application/json; charset=utf-8";
            return empty ? TypedResults.NotFound() : TypedResults.Ok();
        }

        var metadata = await WorkspaceObjects.HeadAsync(storage.Client, file.Key, context.RequestAborted);
        if (metadata is null)
        {
            return TypedResults.NotFound();
        }

        response.ContentType = WorkspaceFiles.GuessContentType(file.Name);
        response.ContentLength = metadata.ContentLength;
        response.Headers.AcceptRanges = "bytes";
        SetValidators(response, metadata.ETag, metadata.LastModified);
        return TypedResults.Empty;
    }

    public static async Task<Results<Ok<FileMessage>, BadRequest<ApiError>>> PutAsync(HttpContext context, string? path, WorkspaceStorageResolver resolver,
        ApiMetrics metrics, IOptions<StorageOptions> options)
    {
        var file = WorkspacePath.Parse(context.GetWorkspaceGrant().Workspace, path);
        if (file.IsDirectory)
        {
            return ApiErrors.BadRequest("path", "must name a file, not a directory (it is empty or ends in '/')");
        }

        var storage = (await ResolveAsync(context, resolver)).RequireWritable();
        var request = context.Request;
        var cancellationToken = context.RequestAborted;
        var contentType = string.IsNullOrEmpty(request.ContentType) ? WorkspaceFiles.GuessContentType(file.Name) : request.ContentType;
        string etag;
        long length;
        // Before a byte of the body is read: an upload the quota cannot take is refused here, not after streaming it.
        UploadQuota.Check(storage.Handle, request.ContentLength ?? 0);
        try
        {
            if (request.ContentLength is { } declared)
            {
                length = declared;
                etag = await storage.Client.PutAsync(file.Key, request.Body, declared, contentType, cancellationToken);
            }
            else
            {
                // No length: S3 (RGW) needs one, so spool to a temporary file under a size cap, never to memory.
                var directory = string.IsNullOrEmpty(options.Value.SpoolDirectory) ? Path.GetTempPath() : options.Value.SpoolDirectory;
                await using var spool = new FileStream(Path.Combine(directory, "wso-upload-" + Guid.NewGuid().ToString("N")), FileMode.CreateNew,
                    FileAccess.ReadWrite, FileShare.None, 81920, FileOptions.Asynchronous | FileOptions.DeleteOnClose);
                length = await StreamCopy.CopyAsync(request.Body, spool, options.Value.ChunkedUploadLimitBytes, null, cancellationToken);
                spool.Position = 0;
                UploadQuota.Check(storage.Handle, length);
                etag = await storage.Client.PutAsync(file.Key, spool, length, contentType, cancellationToken);
            }
        }
        catch (Exception error) when (UploadQuota.FromServerRefusal(storage.Handle, error) is { } quota)
        {
            throw quota;
        }

        metrics.AddStreamedBytes(StreamDirection.Upload, length);
        if (!string.IsNullOrEmpty(etag))
        {
            context.Response.Headers.ETag = etag;
        }

        return TypedResults.Ok(new FileMessage("File uploaded successfully"));
    }

    public static async Task<Results<Ok<FileMessage>, NotFound<ApiError>>> DeleteAsync(HttpContext context, string? path, WorkspaceStorageResolver resolver)
    {
        var file = WorkspacePath.Parse(context.GetWorkspaceGrant().Workspace, path);
        var storage = (await ResolveAsync(context, resolver)).RequireWritable();
        var removed = await WorkspaceFiles.RemoveAsync(storage.Client, file, context.RequestAborted);
        if (!removed && !file.IsDirectory)
        {
            return ApiErrors.NotFound($"File not found: {path}");
        }

        return TypedResults.Ok(new FileMessage(file.IsDirectory ? $"Directory deleted: {path}" : $"File deleted: {path}"));
    }

    /// <summary>
    /// 307 keeps the method and the client re-sends its Range header to S3. The URL is signed with the workspace's own
    /// key, so S3 enforces the prefix; no-store keeps shared caches from handing it to someone else.
    /// </summary>
    private static RedirectHttpResult RedirectToPresignedGet(HttpResponse response, ResolvedWorkspace storage, string key, TimeSpan lifetime)
    {
        response.Headers.CacheControl = "no-store";
        return TypedResults.Redirect(storage.Client.Presign(HttpMethod.Get, key, lifetime), permanent: false, preserveMethod: true);
    }

    private static void SetValidators(HttpResponse response, string? etag, DateTimeOffset? lastModified)
    {
        if (!string.IsNullOrEmpty(etag))
        {
            response.Headers.ETag = etag;
        }

        if (lastModified is { } modified)
        {
            response.Headers.LastModified = modified.ToString("R", CultureInfo.InvariantCulture);
        }
    }
}
