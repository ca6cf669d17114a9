using Microsoft.AspNetCore.Http.Metadata;
using WorkspaceStorage.Api.Errors;
using WorkspaceStorage.Core.Workspaces;

namespace WorkspaceStorage.Api.Http;

/// <summary>
/// The endpoint filter of the <c>/{workspace}</c> route group: a route value that is no valid workspace id is a 400
/// naming the rule, before the handler runs. Routes that require a permission have already been refused by then (the
/// authorization middleware runs first and validates the id the same way, <see cref="WorkspacePermissionHandler"/>);
/// the s3-storage invoker checks again, for the front doors that have no route value (the token's current workspace, RPC).
/// </summary>
internal static class WorkspaceRouteFilter
{
    /// <summary>What the filter may answer, for the group's endpoints' metadata (OpenAPI).</summary>
    public static readonly IProducesResponseTypeMetadata Produces =
        new ProducesResponseTypeMetadata(StatusCodes.Status400BadRequest, typeof(ApiError), ["application/json"]);

    public static ValueTask<object?> InvokeAsync(EndpointFilterInvocationContext context, EndpointFilterDelegate next)
    {
        var value = context.HttpContext.Request.RouteValues[WorkspacePermissionEndpoints.WorkspaceRouteValue] as string;
        return WorkspaceId.Validate(value) is { } rule ? ValueTask.FromResult<object?>(ApiErrors.BadRequest("workspace", rule)) : next(context);
    }
}
