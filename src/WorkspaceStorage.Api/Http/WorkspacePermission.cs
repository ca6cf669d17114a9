using Microsoft.AspNetCore.Authorization;
using WorkspaceStorage.Api.Auth;
using WorkspaceStorage.Api.Errors;
using WorkspaceStorage.Core.Workspaces;

namespace WorkspaceStorage.Api.Http;

/// <summary>Endpoint metadata and authorization requirement: the permission a route requires on its <c>{workspace}</c>.</summary>
public sealed record RequiredWorkspacePermission(Permission Permission) : IAuthorizationRequirement, IAuthorizationRequirementData
{
    public IEnumerable<IAuthorizationRequirement> GetRequirements() => [this];
}

/// <summary>How HTTP routes declare and read the caller's permission on the workspace in their path.</summary>
public static class WorkspacePermissionEndpoints
{
    public const string WorkspaceRouteValue = "workspace";

    /// <summary>
    /// Before the handler runs — and before its parameters are bound, so no body is read for a caller who may not
    /// call it — validates the <c>{workspace}</c> route value (400), checks the caller holds at least
    /// <paramref name="required"/> on it (403, by <see cref="WorkspaceAuthorizer"/>), and makes the result available as
    /// <see cref="GetWorkspaceGrant"/>. Enforced by the authorization middleware (<see cref="WorkspacePermissionHandler"/>).
    /// </summary>
    public static TBuilder RequireWorkspacePermission<TBuilder>(this TBuilder builder, Permission required)
        where TBuilder : IEndpointConventionBuilder =>
        builder.RequireAuthorization(HttpAuthorization.HyphaCaller).WithMetadata(new RequiredWorkspacePermission(required));

    /// <summary>The authenticated caller (or <see cref="HyphaPrincipal.Anonymous"/>); throws when authentication did not run (a wiring bug).</summary>
    public static HyphaPrincipal GetHyphaPrincipal(this HttpContext context) =>
        (context.User.Identity as HyphaIdentity)?.Principal
        ?? throw new InvalidOperationException("Hypha authentication did not run for this endpoint");

    /// <summary>The access checked for <see cref="RequireWorkspacePermission{TBuilder}"/>.</summary>
    public static WorkspaceGrant GetWorkspaceGrant(this HttpContext context) =>
        context.Features.Get<WorkspaceGrant>()
        ?? throw new InvalidOperationException("no workspace permission was checked for this endpoint (use RequireWorkspacePermission)");
}

/// <summary>
/// Decides <see cref="RequiredWorkspacePermission"/> by the one permission decision, <see cref="WorkspaceAuthorizer"/>.
/// A refusal carries its status and detail (<see cref="ApiAuthorizationFailure"/>) for <see cref="ApiAuthorizationResultHandler"/>.
/// </summary>
internal sealed class WorkspacePermissionHandler(WorkspaceAuthorizer authorizer) : AuthorizationHandler<RequiredWorkspacePermission>
{
    protected override async Task HandleRequirementAsync(AuthorizationHandlerContext context, RequiredWorkspacePermission requirement)
    {
        if (context.Resource is not HttpContext http || context.User.Identity is not HyphaIdentity caller)
        {
            return; // credentials were refused: the caller requirement fails too, and the answer is the scheme's 401
        }

        if (!WorkspaceId.TryParse(http.Request.RouteValues[WorkspacePermissionEndpoints.WorkspaceRouteValue] as string, out var workspace, out var rule))
        {
            context.Fail(new ApiAuthorizationFailure(this, new ApiArgumentException("workspace", rule)));
            return;
        }

        var decision = await authorizer.DecideAsync(caller.Principal, workspace, requirement.Permission, http.RequestAborted);
        if (decision.Denial is { } denial)
        {
            context.Fail(new ApiAuthorizationFailure(this, denial));
            return;
        }

        http.Features.Set(decision.Access);
        context.Succeed(requirement);
    }
}
