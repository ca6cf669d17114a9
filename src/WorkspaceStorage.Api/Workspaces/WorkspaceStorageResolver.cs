using WorkspaceStorage.Api.Errors;
using WorkspaceStorage.Api.OnDemand;
using WorkspaceStorage.Core.Workspaces;
using WorkspaceStorage.Storage.S3;

namespace WorkspaceStorage.Api.Workspaces;

/// <summary>W's storage as a call sees it: the handle and an S3 client signing with W's own key.</summary>
public sealed record ResolvedWorkspace(WorkspaceStorageHandle Handle, S3ObjectClient Client)
{
    public WorkspaceId Workspace => Handle.Workspace;

    /// <summary>403 before any URL or call when W itself is read-only (its key could not write anyway).</summary>
    public ResolvedWorkspace RequireWritable() => Handle.Access == AccessLevel.ReadWrite
        ? this
        : throw new ApiException(StatusCodes.Status403Forbidden, $"workspace {Workspace} is read-only");
}

/// <summary>
/// Finds W's storage and makes the S3 client for W's own key. When W has none: with on-demand provisioning on, it is
/// created (see <see cref="OnDemandProvisioner"/>); otherwise 404. Every resolve counts as a use of W (for idle clean-up).
/// </summary>
public sealed class WorkspaceStorageResolver(IWorkspaceStorageDirectory directory, S3ClientFactory clients,
    OnDemandProvisioner? provisioner = null, WorkspaceUsage? usage = null)
{
    public async ValueTask<ResolvedWorkspace> ResolveAsync(WorkspaceId workspace, CancellationToken cancellationToken)
    {
        var handle = await directory.FindAsync(workspace, cancellationToken)
            ?? (provisioner is null
                ? throw new ApiException(StatusCodes.Status404NotFound,
                    $"workspace {workspace} has no storage: no WorkspaceStorage for it is Ready (declare one, or enable on-demand provisioning)")
                : await provisioner.ProvisionAsync(workspace, cancellationToken));
        usage?.Record(workspace);
        return new ResolvedWorkspace(handle, clients.Create(handle.Location, handle.Key));
    }
}
