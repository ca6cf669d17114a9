namespace WorkspaceStorage.Api.Auth;

/// <summary>
/// What a caller may do in one workspace. Ordered: <see cref="None"/> &lt; <see cref="Read"/> &lt;
/// <see cref="ReadWrite"/> &lt; <see cref="Admin"/>, so "has at least" is a plain comparison.
/// </summary>
public enum Permission
{
    None = 0,

    /// <summary>Hypha's <c>r</c>.</summary>
    Read = 1,

    /// <summary>Hypha's <c>rw</c>.</summary>
    ReadWrite = 2,

    /// <summary>Hypha's <c>a</c>.</summary>
    Admin = 3,
}

/// <summary>Hypha's one- or two-letter permission codes (<c>r</c>, <c>rw</c>, <c>a</c>).</summary>
public static class PermissionCodes
{
    public static bool TryParse(string? code, out Permission permission)
    {
        permission = code switch
        {
            "r" => Permission.Read,

            // Newer Hypha issues "r+" (read, plus adding to some collections). Nothing here maps to "add"
            // without also allowing overwrite and delete, so it reads as read-only: the safe side.
            "r+" => Permission.Read,
            "rw" => Permission.ReadWrite,
            "a" => Permission.Admin,
            _ => Permission.None,
        };
        return permission != Permission.None;
    }

    public static string ToCode(this Permission permission) => permission switch
    {
        Permission.Read => "r",
        Permission.ReadWrite => "rw",
        Permission.Admin => "a",
        _ => "none",
    };

    public static bool Satisfies(this Permission granted, Permission required) => granted >= required;
}
