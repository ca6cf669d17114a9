using Microsoft.Extensions.Options;
using WorkspaceStorage.Api.Errors;
using WorkspaceStorage.Core.Workspaces;

namespace WorkspaceStorage.Api.Auth;

/// <summary>A caller's checked access to one workspace.</summary>
public sealed record WorkspaceGrant(WorkspaceId Workspace, HyphaPrincipal Principal, Permission Granted);

/// <summary>
/// The one permission decision of the API, whichever front door a call came through (an HTTP route with a Hypha
/// token, or a Hypha RPC call with the context Hypha stamped on it): does this caller hold at least a permission on W?
/// A refusal is a 403 naming the permission needed and the one held.
/// </summary>
public sealed class WorkspaceAuthorizer(IWorkspaceDirectory directory, IOptions<Hosting.ApiOptions> options)
{
    private readonly bool anonymousMayWrite = options.Value.AnonymousUsersMayWrite;

    /// <summary>The access, or a 403 <see cref="ApiException"/> when it is not enough.</summary>
    public async ValueTask<WorkspaceGrant> RequireAsync(HyphaPrincipal principal, WorkspaceId workspace, Permission required,
        CancellationToken cancellationToken)
    {
        var decision = await DecideAsync(principal, workspace, required, cancellationToken);
        return decision.Denial is { } denial ? throw denial : decision.Access;
    }

    /// <summary>The same decision without throwing (for the HTTP authorization handler).</summary>
    public async ValueTask<WorkspaceDecision> DecideAsync(HyphaPrincipal principal, WorkspaceId workspace, Permission required,
        CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(principal);
        var isPublic = await directory.IsPublicAsync(workspace, cancellationToken);
        var access = new WorkspaceGrant(workspace, principal, principal.PermissionFor(workspace, isPublic, anonymousMayWrite));
        if (access.Granted.Satisfies(required))
        {
            return new WorkspaceDecision(access, null);
        }

        var detail = principal.IsAnonymous
            ? $"permission denied: anonymous callers may {(anonymousMayWrite ? "only use their own workspace" : "only read")}; '{required.ToCode()}' on workspace '{workspace}' is required"
            : $"permission denied: '{required.ToCode()}' on workspace '{workspace}' is required (caller has '{access.Granted.ToCode()}')";
        return new WorkspaceDecision(access, new ApiException(StatusCodes.Status403Forbidden, detail));
    }
}

/// <summary>What the caller holds on a workspace, and the 403 to answer when that is less than the call needs.</summary>
public sealed record WorkspaceDecision(WorkspaceGrant Access, ApiException? Denial);
