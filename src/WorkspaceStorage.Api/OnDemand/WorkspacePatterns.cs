using WorkspaceStorage.Core.Workspaces;

namespace WorkspaceStorage.Api.OnDemand;

/// <summary>
/// The on-demand allow-list: workspace id patterns where '*' matches any run of characters, read in order; the last
/// pattern that matches decides, and a leading '!' makes it a refusal (as in .gitignore). No match refuses.
/// </summary>
public sealed class WorkspacePatterns(IReadOnlyList<string> patterns)
{
    /// <summary>Null when allowed; otherwise the rule that refused, fit for the caller's error message.</summary>
    public string? Refusal(WorkspaceId workspace)
    {
        ArgumentNullException.ThrowIfNull(workspace);
        string? decided = null;
        var allowed = false;
        foreach (var pattern in patterns)
        {
            var negated = pattern.StartsWith('!');
            var glob = negated ? pattern[1..] : pattern;
            if (WorkspaceGlob.Matches(glob, workspace.Value))
            {
                allowed = !negated;
                decided = pattern;
            }
        }

        if (allowed)
        {
            return null;
        }

        return decided is null
            ? $"workspace '{workspace}' matches none of OnDemand:AllowedWorkspaces ({string.Join(", ", patterns)})"
            : $"workspace '{workspace}' is excluded by the OnDemand:AllowedWorkspaces pattern '{decided}'";
    }

    /// <summary>Null when <paramref name="pattern"/> is usable; otherwise why not.</summary>
    public static string? Check(string pattern) => WorkspaceGlob.Check(pattern.StartsWith('!') ? pattern[1..] : pattern);
}
