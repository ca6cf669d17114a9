using WorkspaceStorage.Api.Auth;
using WorkspaceStorage.Api.Errors;
using WorkspaceStorage.Api.Paths;
using WorkspaceStorage.Api.Services;
using WorkspaceStorage.Api.Storage;

namespace WorkspaceStorage.Api.Multipart;

/// <summary>
/// Hypha's HTTP multipart routes: <c>POST /{workspace}/create-multipart-upload?path=&amp;part_count=&amp;expires_in=</c> and
/// <c>POST /{workspace}/complete-multipart-upload</c> with <c>{upload_id, parts}</c>. The path is mapped to a key once
/// (Hypha applied the workspace prefix twice here).
/// </summary>
public static class MultipartRoutes
{
    public static IEndpointRouteBuilder MapMultipartRoutes(this IEndpointRouteBuilder endpoints)
    {
        endpoints.MapPost("/{workspace}/create-multipart-upload", CreateAsync)
            .RequireWorkspacePermission(Permission.ReadWrite)
            .AddEndpointFilter<StorageErrorFilter>()
            .WithName("CreateMultipartUpload")
            .Produces<ApiError>(StatusCodes.Status400BadRequest);
        endpoints.MapPost("/{workspace}/complete-multipart-upload", CompleteAsync)
            .RequireWorkspacePermission(Permission.ReadWrite)
            .AddEndpointFilter<StorageErrorFilter>()
            .WithName("CompleteMultipartUpload")
            .Produces<ApiError>(StatusCodes.Status404NotFound);
        return endpoints;
    }

    private static async Task<IResult> CreateAsync(HttpContext context, WorkspaceStorageResolver resolver, MultipartUploads uploads)
    {
        var workspace = context.GetWorkspaceAccess().AllowedWorkspace;
        var arguments = await ServiceArguments.ReadAsync(context.Request, context.RequestAborted);
        arguments.RejectUnknown(["path", "part_count", "expires_in", "ttl"]);
        var path = WorkspacePath.Parse(workspace, arguments.RequiredString("path"), "path");
        if (path.IsDirectory)
        {
            throw new ApiArgumentException("path", "must name a file, not a directory (it is empty or ends in '/')");
        }

        if (!arguments.Has("part_count"))
        {
            throw new ApiArgumentException("part_count", "is required");
        }

        var partCount = arguments.Int("part_count", 1, 1, MultipartUploads.MaxParts);
        var expiry = arguments.Int("expires_in", S3StorageService.DefaultExpirySeconds, 1, S3StorageService.MaxExpirySeconds);
        var ttl = arguments.OptionalInt("ttl", 1, S3StorageService.MaxTtlSeconds);
        var storage = await resolver.ResolveAsync(workspace, context.RequestAborted);
        return Results.Json(await uploads.StartAsync(storage, path, partCount, expiry, ttl, context.RequestAborted));
    }

    private static async Task<IResult> CompleteAsync(HttpContext context, WorkspaceStorageResolver resolver, MultipartUploads uploads)
    {
        var workspace = context.GetWorkspaceAccess().AllowedWorkspace;
        var arguments = await ServiceArguments.ReadAsync(context.Request, context.RequestAborted);
        arguments.RejectUnknown(["upload_id", "parts"]);
        var uploadId = arguments.RequiredString("upload_id");
        var parts = MultipartUploads.ReadParts(arguments.Raw("parts"));
        var storage = await resolver.ResolveAsync(workspace, context.RequestAborted);
        return Results.Json(await uploads.CompleteAsync(storage, uploadId, parts, context.RequestAborted));
    }
}
