using WorkspaceStorage.Core.Workspaces;

namespace WorkspaceStorage.Storage.CephRgw;

/// <summary>
/// RGW-safe names for one workspace. <see cref="BackendNames"/> maps '|' to '_', which RGW Pacific accepts in a uid
/// but refuses (400 InvalidInput) in role names and user policy names (measured: '_' and '+' are rejected there).
/// Role and policy names therefore use '.' instead: workspace ids never contain '.', and neither does the mapped
/// identity, so the mapping stays one-to-one.
/// </summary>
public sealed record RgwNames(string Identity, string Policy, string Role)
{
    public static RgwNames For(WorkspaceId workspace, int maxLength)
    {
        var names = BackendNames.For(workspace, maxLength);
        return new RgwNames(names.Identity, Safe(names.Policy), Safe(names.Role));
    }

    private static string Safe(string name) => name.Replace('_', '.');
}
