namespace Hypha.Rpc.Services;

/// <summary>
/// One incoming call of a registered function: its arguments as plain .NET values (string, long, double, bool,
/// byte[], null, <see cref="IReadOnlyList{T}"/>, <see cref="IReadOnlyDictionary{TKey,TValue}"/>) and the context
/// Hypha stamped on the message. Only <see cref="Context"/> is trustworthy for permission decisions.
/// </summary>
public sealed class HyphaCall(
    IReadOnlyList<object?> args,
    IReadOnlyDictionary<string, object?> kwargs,
    HyphaCallContext context)
{
    /// <summary>Positional arguments (without the keyword map that <c>with_kwargs</c> appends).</summary>
    public IReadOnlyList<object?> Args { get; } = args;

    public IReadOnlyDictionary<string, object?> Kwargs { get; } = kwargs;

    public HyphaCallContext Context { get; } = context;

    /// <summary>
    /// The argument named <paramref name="name"/>: the keyword argument if given, else the positional one at
    /// <paramref name="position"/> (Python's binding order). False when neither was passed.
    /// </summary>
    public bool TryGetArgument(string name, int position, out object? value)
    {
        if (Kwargs.TryGetValue(name, out value))
        {
            return true;
        }

        if (position >= 0 && position < Args.Count)
        {
            value = Args[position];
            return true;
        }

        value = null;
        return false;
    }

    /// <summary>The argument (see <see cref="TryGetArgument"/>), or <paramref name="defaultValue"/> when absent.</summary>
    public object? GetArgument(string name, int position, object? defaultValue = null) =>
        TryGetArgument(name, position, out var value) ? value : defaultValue;
}

/// <summary>The context Hypha stamped on a call: who called, from which workspace, as which user.</summary>
/// <param name="Workspace">The caller's current workspace (<c>ws</c>): the workspace the call acts on.</param>
/// <param name="From">The caller's address, <c>WORKSPACE/CLIENT_ID</c>.</param>
/// <param name="To">Our address as the caller targeted it.</param>
/// <param name="User">The caller's user, or null when the message carried none.</param>
/// <param name="Raw">The stamped fields as they arrived (ws, from, to, user).</param>
public sealed record HyphaCallContext(
    string? Workspace,
    string? From,
    string? To,
    HyphaUser? User,
    IReadOnlyDictionary<string, object?> Raw);

/// <summary>The caller's user as Hypha describes it (<c>user</c> in the message).</summary>
public sealed record HyphaUser(
    string? Id,
    bool IsAnonymous,
    string? Email,
    IReadOnlyList<string> Roles,
    HyphaUserScope? Scope,
    IReadOnlyDictionary<string, object?> Raw)
{
    /// <summary>Reads the user map Hypha sends; null when it is not a map.</summary>
    public static HyphaUser? FromValue(object? value)
    {
        if (value is not IReadOnlyDictionary<string, object?> map)
        {
            return null;
        }

        var roles = map.GetValueOrDefault("roles") is IReadOnlyList<object?> list
            ? list.OfType<string>().ToList()
            : [];
        return new HyphaUser(
            map.GetValueOrDefault("id") as string,
            map.GetValueOrDefault("is_anonymous") is true,
            map.GetValueOrDefault("email") as string,
            roles,
            HyphaUserScope.FromValue(map.GetValueOrDefault("scope")),
            map);
    }

    /// <summary>The user's permission on <paramref name="workspace"/>, as Hypha decides it (see <see cref="HyphaUserScope.GetPermission"/>).</summary>
    public HyphaPermission? GetPermission(string workspace) => Scope?.GetPermission(workspace);
}

/// <summary>The user's scope: current workspace, permission per workspace, client id.</summary>
public sealed record HyphaUserScope(
    string? CurrentWorkspace,
    IReadOnlyDictionary<string, string> Workspaces,
    string? ClientId)
{
    public static HyphaUserScope? FromValue(object? value)
    {
        if (value is not IReadOnlyDictionary<string, object?> map)
        {
            return null;
        }

        var workspaces = new Dictionary<string, string>(StringComparer.Ordinal);
        if (map.GetValueOrDefault("workspaces") is IReadOnlyDictionary<string, object?> grants)
        {
            foreach (var (workspace, permission) in grants)
            {
                if (permission is string p)
                {
                    workspaces[workspace] = p;
                }
            }
        }

        return new HyphaUserScope(map.GetValueOrDefault("current_workspace") as string, workspaces, map.GetValueOrDefault("client_id") as string);
    }

    /// <summary>
    /// The strongest of the grant for <paramref name="workspace"/> and the wildcard <c>*</c> grant, as Hypha's
    /// <c>UserInfo.get_permission</c> computes it; null when neither exists or the value is unknown.
    /// </summary>
    public HyphaPermission? GetPermission(string workspace)
    {
        HyphaPermission? best = null;
        foreach (var key in new[] { "*", workspace })
        {
            if (Workspaces.TryGetValue(key, out var text) && HyphaPermissions.Parse(text) is { } p && (best is null || p > best))
            {
                best = p;
            }
        }

        return best;
    }
}

/// <summary>Hypha's permission levels, weakest first (<c>r</c>, <c>rw</c>, <c>a</c>).</summary>
public enum HyphaPermission
{
    Read = 1,
    ReadWrite = 2,
    Admin = 3,
}

public static class HyphaPermissions
{
    /// <summary>Parses Hypha's wire values (<c>r</c>, <c>rw</c>, <c>a</c>, also the enum names); null otherwise.</summary>
    public static HyphaPermission? Parse(string? text) => text switch
    {
        "r" or "read" => HyphaPermission.Read,
        "rw" or "read_write" => HyphaPermission.ReadWrite,
        "a" or "admin" => HyphaPermission.Admin,
        _ => null,
    };
}
