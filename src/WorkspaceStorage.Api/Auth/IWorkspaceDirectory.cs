using WorkspaceStorage.Core.Workspaces;

namespace WorkspaceStorage.Api.Auth;

/// <summary>
/// What the API knows about a workspace beyond the caller's token. Today only whether it is public (readable by
/// anyone, including anonymous callers). Replace the default registration to back it with real data.
/// </summary>
public interface IWorkspaceDirectory
{
    ValueTask<bool> IsPublicAsync(WorkspaceId workspace, CancellationToken cancellationToken);
}
