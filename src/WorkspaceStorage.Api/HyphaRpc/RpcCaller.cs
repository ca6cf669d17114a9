using Hypha.Rpc.Services;
using WorkspaceStorage.Api.Auth;
using WorkspaceStorage.Api.Errors;

namespace WorkspaceStorage.Api.HyphaRpc;

/// <summary>
/// The caller of an RPC call as Hypha stamped it on the message: the user (<c>id</c>, <c>is_anonymous</c>, <c>roles</c>,
/// <c>email</c>, <c>scope.workspaces</c>) becomes the same <see cref="HyphaPrincipal"/> a verified HTTP token gives, so
/// one permission decision serves both front doors. Hypha overwrites these fields on every call it forwards; nothing
/// the caller put in its arguments can change them.
/// </summary>
public static class RpcCaller
{
    public static HyphaPrincipal From(HyphaCallContext context)
    {
        ArgumentNullException.ThrowIfNull(context);
        if (context.User is not { } user || string.IsNullOrEmpty(user.Id))
        {
            return HyphaPrincipal.Anonymous;
        }

        var grants = user.Scope?.Workspaces ?? new Dictionary<string, string>();
        if (!WorkspaceScope.TryCreate(grants, user.Scope?.CurrentWorkspace, user.Scope?.ClientId, out var scope, out var error))
        {
            throw new ApiException(StatusCodes.Status403Forbidden, "permission denied: the caller's scope is unreadable (" + error + ")");
        }

        var roles = user.IsAnonymous && !user.Roles.Contains(HyphaPrincipal.AnonymousRole, StringComparer.Ordinal)
            ? [.. user.Roles, HyphaPrincipal.AnonymousRole]
            : user.Roles;
        return new HyphaPrincipal { UserId = user.Id, Scope = scope, Roles = roles, Email = user.Email };
    }
}
