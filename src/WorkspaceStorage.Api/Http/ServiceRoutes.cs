using Microsoft.AspNetCore.Http.HttpResults;
using WorkspaceStorage.Api.Errors;
using WorkspaceStorage.Api.S3Storage;

namespace WorkspaceStorage.Api.Http;

/// <summary>
/// The s3-storage service over plain HTTP, as Hypha's gateway serves it: <c>GET|POST /public/services/s3-storage/{function}</c>
/// acts on the token's current workspace (<c>wid:</c>), like real Hypha; <c>/{workspace}/services/s3-storage/{function}</c>
/// names the workspace in the path (this API's extension). Keyword arguments come from the query string or a JSON body.
/// Everything past the transport is <see cref="S3StorageInvoker"/>, shared with the Hypha RPC registration.
/// </summary>
public static class ServiceRoutes
{
    public static async Task<Results<Ok<object>, BadRequest<ApiError>, UnauthorizedApiError>> CallOnCurrentWorkspaceAsync(
        HttpContext context, string function, S3StorageInvoker invoker)
    {
        var caller = context.GetHyphaPrincipal();
        if (caller.CurrentWorkspace is { Length: > 0 } current)
        {
            return await CallAsync(context, current, function, invoker);
        }

        return caller.HasToken
            ? ApiErrors.BadRequest("token", "names no current workspace (wid:); call /{workspace}/services/s3-storage/{function} instead")
            : ApiErrors.Unauthorized("sign in: this route acts on the current workspace of the caller's Hypha token");
    }

    /// <summary>The function's answer: plain values whose shape depends on the function, written by their run-time types (Json.ApiJsonContext lists them).</summary>
    public static async Task<Ok<object>> CallAsync(HttpContext context, string workspace, string function, S3StorageInvoker invoker)
    {
        var result = await invoker.InvokeAsync(context.GetHyphaPrincipal(), workspace, function,
            cancellationToken => HttpServiceArguments.ReadAsync(context.Request, cancellationToken), context.RequestAborted);
        return TypedResults.Ok(result);
    }

    public static Ok<Dictionary<string, object?>> Describe(S3StorageService service) => TypedResults.Ok(S3StorageServiceDescription.Describe(service));
}
