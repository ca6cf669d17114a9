using WorkspaceStorage.Core.Workspaces;

namespace WorkspaceStorage.Api.Presigning;

/// <summary>
/// The seam for the <c>/s3</c> proxy: every presigned URL the storage routes hand out passes through here, so a
/// proxy can point it at the API instead of the public S3 endpoint. The default leaves URLs unchanged.
/// </summary>
public interface IPresignedUrlRewriter
{
    string Rewrite(WorkspaceId workspace, string presignedUrl);
}

public sealed class IdentityPresignedUrlRewriter : IPresignedUrlRewriter
{
    public string Rewrite(WorkspaceId workspace, string presignedUrl) => presignedUrl;
}
