using WorkspaceStorage.Api.Errors;
using WorkspaceStorage.Core.Workspaces;

namespace WorkspaceStorage.Api.Auth;

/// <summary>The outcome of a permission check on one workspace. <see cref="Denial"/> is the response to return when not allowed.</summary>
public sealed record WorkspaceAccess(WorkspaceId? Workspace, HyphaPrincipal Principal, Permission Granted, Permission Required, IResult? Denial)
{
    public bool IsAllowed => Denial is null;

    /// <summary>The validated workspace; only meaningful when <see cref="IsAllowed"/>.</summary>
    public WorkspaceId AllowedWorkspace => IsAllowed ? Workspace! : throw new InvalidOperationException("access was denied");
}

/// <summary>
/// Decides whether the current caller holds at least a given permission on a workspace:
/// 400 for an invalid workspace id, 403 naming the needed permission otherwise.
/// </summary>
public sealed class WorkspaceAuthorizer(IWorkspaceDirectory directory)
{
    public async ValueTask<WorkspaceAccess> AuthorizeAsync(HttpContext context, string? workspace, Permission required, CancellationToken cancellationToken)
    {
        var principal = context.GetHyphaPrincipal();
        if (!WorkspaceId.TryParse(workspace, out var id, out var rule))
        {
            return new WorkspaceAccess(null, principal, Permission.None, required, ApiErrors.BadRequest("workspace", rule));
        }

        var isPublic = await directory.IsPublicAsync(id, cancellationToken);
        var granted = principal.PermissionFor(id, isPublic);
        if (granted.Satisfies(required))
        {
            return new WorkspaceAccess(id, principal, granted, required, null);
        }

        var detail = principal.IsAnonymous
            ? $"permission denied: anonymous callers may only read public workspaces; '{required.ToCode()}' on workspace '{id}' is required"
            : $"permission denied: '{required.ToCode()}' on workspace '{id}' is required (caller has '{granted.ToCode()}')";
        return new WorkspaceAccess(id, principal, granted, required, ApiErrors.Forbidden(detail));
    }
}

/// <summary>Helpers route handlers use to reach the caller and its checked access.</summary>
public static class HyphaHttpContextExtensions
{
    /// <summary>
    /// The authenticated caller (or <see cref="HyphaPrincipal.Anonymous"/>). Throws when the authentication
    /// middleware did not run for this endpoint, which is a wiring bug rather than an anonymous call.
    /// </summary>
    public static HyphaPrincipal GetHyphaPrincipal(this HttpContext context) =>
        context.Features.Get<HyphaAuthenticationFeature>()?.Principal
        ?? throw new InvalidOperationException("Hypha authentication did not run for this endpoint");

    /// <summary>The access checked by <see cref="WorkspacePermissionEndpointExtensions.RequireWorkspacePermission{TBuilder}"/>.</summary>
    public static WorkspaceAccess GetWorkspaceAccess(this HttpContext context) =>
        context.Features.Get<WorkspaceAccess>()
        ?? throw new InvalidOperationException("no workspace permission was checked for this endpoint (use RequireWorkspacePermission)");

    /// <summary>
    /// Imperative check for handlers whose needed permission depends on the arguments (e.g. presigning
    /// <c>get_object</c> needs r, <c>put_object</c> needs rw). Returns the access; return its Denial when not allowed.
    /// </summary>
    public static ValueTask<WorkspaceAccess> RequirePermissionAsync(this HttpContext context, string? workspace, Permission required) =>
        context.RequestServices.GetRequiredService<WorkspaceAuthorizer>().AuthorizeAsync(context, workspace, required, context.RequestAborted);
}

/// <summary>Declares the permission an endpoint needs on the workspace named by its <c>{workspace}</c> route value.</summary>
public static class WorkspacePermissionEndpointExtensions
{
    public const string WorkspaceRouteValue = "workspace";

    /// <summary>
    /// Before the handler runs — and before its parameters are bound, so no body is read for a caller who may not
    /// call it — validates the <c>{workspace}</c> route value (400), checks the caller holds at least
    /// <paramref name="required"/> on it (403), and makes the result available as <c>HttpContext.GetWorkspaceAccess()</c>.
    /// Enforced by middleware from endpoint metadata, so it also holds for plain <see cref="RequestDelegate"/> endpoints.
    /// </summary>
    public static TBuilder RequireWorkspacePermission<TBuilder>(this TBuilder builder, Permission required)
        where TBuilder : IEndpointConventionBuilder =>
        builder.WithMetadata(new RequiredWorkspacePermission(required));
}

/// <summary>Endpoint metadata: the permission an endpoint requires on its <c>{workspace}</c>.</summary>
public sealed record RequiredWorkspacePermission(Permission Permission);

/// <summary>Enforces <see cref="RequiredWorkspacePermission"/> metadata; runs after authentication, before the endpoint.</summary>
internal sealed class WorkspacePermissionMiddleware(RequestDelegate next, WorkspaceAuthorizer authorizer)
{
    public async Task InvokeAsync(HttpContext context)
    {
        var required = context.GetEndpoint()?.Metadata.GetMetadata<RequiredWorkspacePermission>();
        if (required is null)
        {
            await next(context);
            return;
        }

        var workspace = context.Request.RouteValues[WorkspacePermissionEndpointExtensions.WorkspaceRouteValue] as string;
        var access = await authorizer.AuthorizeAsync(context, workspace, required.Permission, context.RequestAborted);
        if (access.Denial is not null)
        {
            await access.Denial.ExecuteAsync(context);
            return;
        }

        context.Features.Set(access);
        await next(context);
    }
}
