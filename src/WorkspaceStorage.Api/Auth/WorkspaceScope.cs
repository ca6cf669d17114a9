using System.Collections.ObjectModel;

namespace WorkspaceStorage.Api.Auth;

/// <summary>
/// The parsed <c>scope</c> claim of a Hypha token: space-separated <c>ws:{workspace}#{r|rw|a}</c> grants,
/// <c>wid:{current workspace}</c> and <c>cid:{client id}</c>. Other entries (Hypha's "extra scopes") are ignored.
/// </summary>
/// <remarks>
/// A <c>ws:</c> entry that cannot be read exactly (no single '#', unknown permission, workspace outside Hypha's
/// alphabet) makes the whole token unusable: guessing what a signed but garbled grant meant is how privileges leak.
/// The workspace in a grant is checked against Hypha's alphabet (<c>a-z 0-9 - |</c>, 1..128 characters) but not
/// against the "must contain a hyphen" rule, because Hypha itself grants on built-in workspaces such as
/// <c>public</c>; the routes still only accept real workspace ids. A repeated grant for the same workspace keeps
/// the last one, as Hypha's own parser does. <c>ws:*#{p}</c> grants <c>p</c> on every workspace.
/// </remarks>
public sealed class WorkspaceScope
{
    public const string Wildcard = "*";

    private const int MaxWorkspaceLength = 128;

    public static WorkspaceScope Empty { get; } = new(ReadOnlyDictionary<string, Permission>.Empty, null, null);

    private WorkspaceScope(IReadOnlyDictionary<string, Permission> grants, string? currentWorkspace, string? clientId)
    {
        Grants = grants;
        CurrentWorkspace = currentWorkspace;
        ClientId = clientId;
    }

    /// <summary>Workspace id (or <see cref="Wildcard"/>) → granted permission.</summary>
    public IReadOnlyDictionary<string, Permission> Grants { get; }

    /// <summary>The <c>wid:</c> entry: the workspace the client is connected to. Grants nothing by itself.</summary>
    public string? CurrentWorkspace { get; }

    /// <summary>The <c>cid:</c> entry: the Hypha client id.</summary>
    public string? ClientId { get; }

    /// <summary>The permission this scope grants on <paramref name="workspace"/>: its own grant or the wildcard's, whichever is higher.</summary>
    public Permission PermissionFor(string workspace)
    {
        var own = Grants.TryGetValue(workspace, out var p) && workspace != Wildcard ? p : Permission.None;
        var everywhere = Grants.TryGetValue(Wildcard, out var w) ? w : Permission.None;
        return own > everywhere ? own : everywhere;
    }

    /// <summary>Parses a scope string; returns false with a short reason (never the raw entry) when a grant is malformed.</summary>
    public static bool TryParse(string? scope, out WorkspaceScope parsed, out string error)
    {
        parsed = Empty;
        error = string.Empty;
        if (string.IsNullOrEmpty(scope))
        {
            return true;
        }

        var grants = new Dictionary<string, Permission>(StringComparer.Ordinal);
        string? currentWorkspace = null;
        string? clientId = null;
        foreach (var entry in scope.Split(' ', StringSplitOptions.RemoveEmptyEntries))
        {
            if (entry.StartsWith("ws:", StringComparison.Ordinal))
            {
                if (!TryParseGrant(entry.AsSpan(3), out var workspace, out var permission, out error))
                {
                    return false;
                }

                grants[workspace] = permission;
            }
            else if (entry.StartsWith("wid:", StringComparison.Ordinal))
            {
                currentWorkspace = entry[4..];
            }
            else if (entry.StartsWith("cid:", StringComparison.Ordinal))
            {
                clientId = entry[4..];
            }
        }

        // Wrapped read-only: a frozen dictionary costs more to build than a token with a handful of grants ever saves.
        parsed = new WorkspaceScope(grants.AsReadOnly(), currentWorkspace, clientId);
        return true;
    }

    /// <summary>
    /// A scope from grants already split into workspace and permission code, as Hypha stamps them on an RPC call
    /// (<c>user.scope.workspaces</c>); the same rules as <see cref="TryParse"/>: one unreadable grant refuses the whole scope.
    /// </summary>
    public static bool TryCreate(IEnumerable<KeyValuePair<string, string>> grants, string? currentWorkspace, string? clientId,
        out WorkspaceScope parsed, out string error)
    {
        ArgumentNullException.ThrowIfNull(grants);
        parsed = Empty;
        var map = new Dictionary<string, Permission>(StringComparer.Ordinal);
        foreach (var (workspace, code) in grants)
        {
            if (!TryParseGrant($"{workspace}#{code}", out var name, out var permission, out error))
            {
                return false;
            }

            map[name] = permission;
        }

        error = string.Empty;
        parsed = new WorkspaceScope(map.AsReadOnly(), currentWorkspace, clientId);
        return true;
    }

    private static bool TryParseGrant(ReadOnlySpan<char> grant, out string workspace, out Permission permission, out string error)
    {
        workspace = string.Empty;
        permission = Permission.None;
        var hash = grant.IndexOf('#');
        if (hash < 0 || grant[(hash + 1)..].Contains('#'))
        {
            error = "workspace grant must have the form ws:{workspace}#{r|rw|a}";
            return false;
        }

        if (!PermissionCodes.TryParse(grant[(hash + 1)..].ToString(), out permission))
        {
            error = "workspace grant has an unknown permission (expected r, rw or a)";
            return false;
        }

        var name = grant[..hash];
        if (!IsGrantableWorkspace(name))
        {
            error = "workspace grant names an invalid workspace id";
            return false;
        }

        workspace = name.ToString();
        error = string.Empty;
        return true;
    }

    private static bool IsGrantableWorkspace(ReadOnlySpan<char> name)
    {
        if (name.SequenceEqual(Wildcard))
        {
            return true;
        }

        if (name.IsEmpty || name.Length > MaxWorkspaceLength)
        {
            return false;
        }

        foreach (var c in name)
        {
            if (c is not (>= 'a' and <= 'z' or >= '0' and <= '9' or '-' or '|'))
            {
                return false;
            }
        }

        return true;
    }
}
