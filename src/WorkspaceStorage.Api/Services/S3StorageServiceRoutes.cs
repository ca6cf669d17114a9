using WorkspaceStorage.Api.Auth;
using WorkspaceStorage.Api.Errors;
using WorkspaceStorage.Api.Storage;
using WorkspaceStorage.Core.Workspaces;

namespace WorkspaceStorage.Api.Services;

/// <summary><c>GET|POST /{workspace}/services/s3-storage/{method}</c>: Hypha's service methods over plain HTTP.</summary>
public static class S3StorageServiceRoutes
{
    public const string RouteTemplate = "/{workspace}/services/s3-storage/{method}";

    public static IEndpointRouteBuilder MapS3StorageService(this IEndpointRouteBuilder endpoints)
    {
        endpoints.MapMethods(RouteTemplate, [HttpMethods.Get, HttpMethods.Post], InvokeAsync)
            .AddEndpointFilter<StorageErrorFilter>()
            .WithName("CallS3StorageMethod")
            .WithSummary("Call a method of the s3-storage service; keyword arguments from the query string (GET) or a JSON object (POST).")
            .Produces<ApiError>(StatusCodes.Status400BadRequest)
            .Produces<ApiError>(StatusCodes.Status403Forbidden)
            .Produces<ApiError>(StatusCodes.Status404NotFound)
            .Produces<ApiError>(StatusCodes.Status503ServiceUnavailable);
        return endpoints;
    }

    private static async Task<IResult> InvokeAsync(HttpContext context, string workspace, string method, S3StorageService service,
        WorkspaceStorageResolver resolver)
    {
        var cancellationToken = context.RequestAborted;
        if (WorkspaceId.Validate(workspace) is { } rule)
        {
            return ApiErrors.BadRequest("workspace", rule);
        }

        if (service.Find(method) is not { } found)
        {
            return ApiErrors.NotFound($"method '{method}' does not exist in service s3-storage");
        }

        // Callers with no access at all are refused before their arguments are read.
        var access = await context.RequirePermissionAsync(workspace, Permission.Read);
        if (access.Denial is { } denied)
        {
            return denied;
        }

        var arguments = await ServiceArguments.ReadAsync(context.Request, cancellationToken);
        arguments.RejectUnknown(found.Arguments);
        var required = found.RequiredPermission(arguments);
        if (required != Permission.Read)
        {
            access = await context.RequirePermissionAsync(workspace, required);
            if (access.Denial is { } deniedWrite)
            {
                return deniedWrite;
            }
        }

        var storage = await resolver.ResolveAsync(access.AllowedWorkspace, cancellationToken);
        return await found.Invoke(new S3StorageCall(access, storage, arguments, cancellationToken));
    }
}
