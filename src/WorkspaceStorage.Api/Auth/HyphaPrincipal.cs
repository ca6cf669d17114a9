using WorkspaceStorage.Core.Workspaces;

namespace WorkspaceStorage.Api.Auth;

/// <summary>
/// Who is calling, as a verified Hypha token says (or <see cref="Anonymous"/> when no token was sent).
/// Holds no token material, so it is safe to log.
/// </summary>
public sealed record HyphaPrincipal
{
    /// <summary>Hypha marks anonymous users with this role; such tokens are treated like no token at all for writes.</summary>
    public const string AnonymousRole = "anonymous";

    /// <summary>The caller who sent no token.</summary>
    public static HyphaPrincipal Anonymous { get; } = new()
    {
        UserId = "anonymous",
        Scope = WorkspaceScope.Empty,
        Roles = [AnonymousRole],
        HasToken = false,
    };

    /// <summary>The token's <c>sub</c>.</summary>
    public required string UserId { get; init; }

    public required WorkspaceScope Scope { get; init; }

    /// <summary>The <c>https://amun.ai/roles</c> claim.</summary>
    public IReadOnlyList<string> Roles { get; init; } = [];

    /// <summary>The <c>https://amun.ai/email</c> claim.</summary>
    public string? Email { get; init; }

    /// <summary>The token's <c>exp</c>; null for <see cref="Anonymous"/>.</summary>
    public DateTimeOffset? ExpiresAt { get; init; }

    /// <summary>True when the caller presented a valid token.</summary>
    public bool HasToken { get; init; } = true;

    /// <summary>No token, or a Hypha token carrying the <c>anonymous</c> role: read-only, public workspaces only.</summary>
    public bool IsAnonymous => !HasToken || Roles.Contains(AnonymousRole, StringComparer.Ordinal);

    /// <summary>The <c>wid:</c> scope entry.</summary>
    public string? CurrentWorkspace => Scope.CurrentWorkspace;

    /// <summary>The <c>cid:</c> scope entry.</summary>
    public string? ClientId => Scope.ClientId;

    /// <summary>
    /// The permission this caller holds on <paramref name="workspace"/>: the scope's grant, and at least
    /// <see cref="Permission.Read"/> on a public workspace. An anonymous caller never gets more than
    /// <see cref="Permission.Read"/>: Hypha gives an anonymous user its own temporary workspace, read-only for storage.
    /// </summary>
    public Permission PermissionFor(WorkspaceId workspace, bool isPublic)
    {
        var granted = Scope.PermissionFor(workspace.Value);
        if (isPublic && granted < Permission.Read)
        {
            granted = Permission.Read;
        }

        return IsAnonymous && granted > Permission.Read ? Permission.Read : granted;
    }
}
