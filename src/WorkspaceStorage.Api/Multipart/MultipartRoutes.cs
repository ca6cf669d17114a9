using Microsoft.AspNetCore.Http.HttpResults;
using WorkspaceStorage.Api.Errors;
using WorkspaceStorage.Api.Http;
using WorkspaceStorage.Api.S3Storage;

namespace WorkspaceStorage.Api.Multipart;

/// <summary>
/// Hypha's HTTP multipart routes, as thin forms of two service functions: <c>POST /{workspace}/create-multipart-upload
/// ?path=&amp;part_count=&amp;expires_in=&amp;ttl=</c> is <c>put_file_start_multipart</c> (with <c>path</c> for
/// <c>file_path</c>) and <c>POST /{workspace}/complete-multipart-upload</c> with <c>{upload_id, parts}</c> is
/// <c>put_file_complete_multipart</c>. The path is mapped to a key once (Hypha applied the workspace prefix twice here).
/// </summary>
public static class MultipartRoutes
{
    public static Task<Ok<object>> CreateAsync(HttpContext context, string workspace, S3StorageInvoker invoker) =>
        CallAsync(context, workspace, "put_file_start_multipart", invoker, rename: true);

    public static Task<Ok<object>> CompleteAsync(HttpContext context, string workspace, S3StorageInvoker invoker) =>
        CallAsync(context, workspace, "put_file_complete_multipart", invoker, rename: false);

    private static async Task<Ok<object>> CallAsync(HttpContext context, string workspace, string function, S3StorageInvoker invoker, bool rename)
    {
        try
        {
            var result = await invoker.InvokeAsync(context.GetHyphaPrincipal(), workspace, function, async cancellationToken =>
            {
                var arguments = await HttpServiceArguments.ReadAsync(context.Request, cancellationToken);
                return rename ? arguments.Renamed("path", "file_path") : arguments;
            }, context.RequestAborted);
            return TypedResults.Ok(result);
        }
        catch (ApiArgumentException ex) when (rename && ex.Argument == "file_path")
        {
            // Name the argument as this route's caller sent it.
            throw new ApiArgumentException("path", ex.Rule);
        }
    }
}
