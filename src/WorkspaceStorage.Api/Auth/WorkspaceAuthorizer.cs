using WorkspaceStorage.Api.Errors;
using WorkspaceStorage.Core.Workspaces;

namespace WorkspaceStorage.Api.Auth;

/// <summary>A caller's checked access to one workspace.</summary>
public sealed record WorkspaceAccess(WorkspaceId Workspace, HyphaPrincipal Principal, Permission Granted);

/// <summary>
/// The one permission decision of the API, whichever front door a call came through (an HTTP route with a Hypha
/// token, or a Hypha RPC call with the context Hypha stamped on it): does this caller hold at least a permission on W?
/// A refusal is a 403 naming the permission needed and the one held.
/// </summary>
public sealed class WorkspaceAuthorizer(IWorkspaceDirectory directory)
{
    public async ValueTask<WorkspaceAccess> RequireAsync(HyphaPrincipal principal, WorkspaceId workspace, Permission required,
        CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(principal);
        var isPublic = await directory.IsPublicAsync(workspace, cancellationToken);
        var granted = principal.PermissionFor(workspace, isPublic);
        if (granted.Satisfies(required))
        {
            return new WorkspaceAccess(workspace, principal, granted);
        }

        var detail = principal.IsAnonymous
            ? $"permission denied: anonymous callers may only read; '{required.ToCode()}' on workspace '{workspace}' is required"
            : $"permission denied: '{required.ToCode()}' on workspace '{workspace}' is required (caller has '{granted.ToCode()}')";
        throw new ApiException(StatusCodes.Status403Forbidden, detail);
    }
}
