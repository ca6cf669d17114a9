using WorkspaceStorage.Api.Errors;
using WorkspaceStorage.Api.Workspaces;
using WorkspaceStorage.Core.Workspaces;
using WorkspaceStorage.Storage.S3;

namespace WorkspaceStorage.Api.Workspaces;

/// <summary>W's storage as a request sees it: the handle and an S3 client signing with W's own key.</summary>
public sealed record ResolvedWorkspace(WorkspaceStorageHandle Handle, S3ObjectClient Client)
{
    public WorkspaceId Workspace => Handle.Workspace;

    /// <summary>403 before any URL or call when W itself is read-only (its key could not write anyway).</summary>
    public ResolvedWorkspace RequireWritable() => Handle.Access == AccessLevel.ReadWrite
        ? this
        : throw new ApiException(StatusCodes.Status403Forbidden, $"workspace {Workspace} is read-only");
}

/// <summary>Finds W's storage (404 when W has none) and makes the S3 client for W's own key.</summary>
public sealed class WorkspaceStorageResolver(IWorkspaceStorageDirectory directory, S3ClientFactory clients)
{
    public async ValueTask<ResolvedWorkspace> ResolveAsync(WorkspaceId workspace, CancellationToken cancellationToken)
    {
        var handle = await directory.FindAsync(workspace, cancellationToken)
            ?? throw new ApiException(StatusCodes.Status404NotFound, $"workspace {workspace} has no storage");
        return new ResolvedWorkspace(handle, clients.Create(handle.Location, handle.Key));
    }
}
