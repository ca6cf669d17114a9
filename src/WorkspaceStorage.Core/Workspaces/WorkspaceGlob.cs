namespace WorkspaceStorage.Core.Workspaces;

/// <summary>
/// Workspace id patterns where '*' matches any run of characters (none included) and every other character only
/// itself: <c>ws-team-a-*</c> admits <c>ws-team-a-x</c> and never <c>ws-team-ab</c>. Shared by the claim ceiling of a
/// StorageBackend and the companion's on-demand allow-list, so both read a pattern the same way.
/// </summary>
public static class WorkspaceGlob
{
    /// <summary>Null when <paramref name="pattern"/> is usable; otherwise why not.</summary>
    public static string? Check(string? pattern)
    {
        if (string.IsNullOrEmpty(pattern))
        {
            return "is empty";
        }

        if (pattern.Length > WorkspaceId.MaxLength)
        {
            return $"must be at most {WorkspaceId.MaxLength} characters";
        }

        foreach (var c in pattern)
        {
            if (c is not (>= 'a' and <= 'z' or >= '0' and <= '9' or '-' or '|' or '*'))
            {
                return $"may only hold workspace id characters ({WorkspaceId.Alphabet}) and '*'";
            }
        }

        return null;
    }

    /// <summary>Glob match with '*' only: linear, no backtracking blow-up.</summary>
    public static bool Matches(string glob, string value)
    {
        ArgumentNullException.ThrowIfNull(glob);
        ArgumentNullException.ThrowIfNull(value);
        int g = 0, v = 0, star = -1, mark = 0;
        while (v < value.Length)
        {
            if (g < glob.Length && glob[g] == '*')
            {
                star = g++;
                mark = v;
            }
            else if (g < glob.Length && glob[g] == value[v])
            {
                g++;
                v++;
            }
            else if (star >= 0)
            {
                g = star + 1;
                v = ++mark;
            }
            else
            {
                return false;
            }
        }

        while (g < glob.Length && glob[g] == '*')
        {
            g++;
        }

        return g == glob.Length;
    }
}
