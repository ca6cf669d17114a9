using WorkspaceStorage.Api.Auth;
using WorkspaceStorage.Api.Errors;
using WorkspaceStorage.Core.Workspaces;

namespace WorkspaceStorage.Api.Http;

/// <summary>Endpoint metadata: the permission a route requires on its <c>{workspace}</c>.</summary>
public sealed record RequiredWorkspacePermission(Permission Permission);

/// <summary>How HTTP routes declare and read the caller's permission on the workspace in their path.</summary>
public static class WorkspacePermissionEndpoints
{
    public const string WorkspaceRouteValue = "workspace";

    /// <summary>
    /// Before the handler runs — and before its parameters are bound, so no body is read for a caller who may not
    /// call it — validates the <c>{workspace}</c> route value (400), checks the caller holds at least
    /// <paramref name="required"/> on it (403, by <see cref="WorkspaceAuthorizer"/>), and makes the result available as
    /// <see cref="GetWorkspaceAccess"/>.
    /// </summary>
    public static TBuilder RequireWorkspacePermission<TBuilder>(this TBuilder builder, Permission required)
        where TBuilder : IEndpointConventionBuilder =>
        builder.WithMetadata(new RequiredWorkspacePermission(required));

    /// <summary>The authenticated caller (or <see cref="HyphaPrincipal.Anonymous"/>); throws when authentication did not run (a wiring bug).</summary>
    public static HyphaPrincipal GetHyphaPrincipal(this HttpContext context) =>
        context.Features.Get<HyphaAuthenticationFeature>()?.Principal
        ?? throw new InvalidOperationException("Hypha authentication did not run for this endpoint");

    /// <summary>The access checked for <see cref="RequireWorkspacePermission{TBuilder}"/>.</summary>
    public static WorkspaceAccess GetWorkspaceAccess(this HttpContext context) =>
        context.Features.Get<WorkspaceAccess>()
        ?? throw new InvalidOperationException("no workspace permission was checked for this endpoint (use RequireWorkspacePermission)");
}

/// <summary>Enforces <see cref="RequiredWorkspacePermission"/> metadata; runs after authentication, before the endpoint.</summary>
internal sealed class WorkspacePermissionMiddleware(RequestDelegate next, WorkspaceAuthorizer authorizer)
{
    public async Task InvokeAsync(HttpContext context)
    {
        if (context.GetEndpoint()?.Metadata.GetMetadata<RequiredWorkspacePermission>() is not { } required)
        {
            await next(context);
            return;
        }

        var workspace = context.Request.RouteValues[WorkspacePermissionEndpoints.WorkspaceRouteValue] as string;
        if (!WorkspaceId.TryParse(workspace, out var id, out var rule))
        {
            throw new ApiArgumentException("workspace", rule);
        }

        context.Features.Set(await authorizer.RequireAsync(context.GetHyphaPrincipal(), id, required.Permission, context.RequestAborted));
        await next(context);
    }
}
