using WorkspaceStorage.Core.Signing;
using WorkspaceStorage.Core.Workspaces;
using WorkspaceStorage.Resources;
using WorkspaceStorage.Storage.Backends;

namespace WorkspaceStorage.Api.Workspaces;

/// <summary>
/// Everything the API needs to serve workspace W's storage: where W lives, W's own long-lived key (the one the
/// operator wrote into W's credential Secret, confined by S3 itself to <c>bucket/W/</c>), the access level, whether W
/// is public, and who issues temporary credentials. <see cref="ToString"/> never prints a secret.
/// </summary>
/// <param name="Location">Internal endpoint (the API's own S3 calls), public endpoint (URLs handed to clients), region, bucket.</param>
/// <param name="Key">W's own key: presigned URLs and every data call of the API for W are signed with it, never the admin's.</param>
/// <param name="BucketAdmin">
/// The backend's admin key for the bucket, used only for the API's own bookkeeping under <c>etc/</c> (TTL markers).
/// Null when the API was not given it; uploads with a <c>ttl</c> are then refused.
/// </param>
/// <param name="Resource">The WorkspaceStorage serving W, which audit Events are about; null outside a cluster (audit log records only).</param>
public sealed record WorkspaceStorageHandle(
    WorkspaceId Workspace,
    S3Location Location,
    AwsCredentials Key,
    AccessLevel Access,
    bool IsPublic,
    ITemporaryCredentialIssuer CredentialIssuer,
    AwsCredentials? BucketAdmin = null,
    WorkspaceStorageResource? Resource = null)
{
    /// <summary>W's prefix inside the bucket, with its trailing '/'.</summary>
    public string Prefix => Workspace.Prefix;

    /// <summary>The limits in the WorkspaceStorage's status.quota (None: no limit).</summary>
    public Core.Model.QuotaLimits Quota { get; init; } = Core.Model.QuotaLimits.None;

    /// <summary>status.usage as the operator last measured it; null: not measured.</summary>
    public Core.Model.UsageFigures? Usage { get; init; }

    public override string ToString() =>
        $"WorkspaceStorageHandle {{ Workspace = {Workspace}, Endpoint = {Location.Endpoint}, Bucket = {Location.Bucket}, KeyId = {Key.AccessKeyId}, Access = {Access}, IsPublic = {IsPublic} }}";
}

/// <summary>Issues temporary credentials for one workspace (the narrow slice of <see cref="IStorageBackend"/> the API needs).</summary>
public interface ITemporaryCredentialIssuer
{
    Task<TemporaryCredentials> IssueAsync(WorkspaceId workspace, AccessLevel access, TimeSpan lifetime, CancellationToken cancellationToken);
}

/// <summary>Temporary credentials from a storage backend (RGW: STS AssumeRole with a session policy).</summary>
public sealed class BackendTemporaryCredentialIssuer(IStorageBackend backend) : ITemporaryCredentialIssuer
{
    public Task<TemporaryCredentials> IssueAsync(WorkspaceId workspace, AccessLevel access, TimeSpan lifetime, CancellationToken cancellationToken) =>
        backend.IssueTemporaryCredentialsAsync(workspace, access, lifetime, cancellationToken);
}

/// <summary>For workspaces whose backend cannot issue temporary credentials: generate_credential answers 501.</summary>
public sealed class NoTemporaryCredentialIssuer : ITemporaryCredentialIssuer
{
    public static NoTemporaryCredentialIssuer Instance { get; } = new();

    public Task<TemporaryCredentials> IssueAsync(WorkspaceId workspace, AccessLevel access, TimeSpan lifetime, CancellationToken cancellationToken) =>
        throw new Errors.ApiException(StatusCodes.Status501NotImplemented, "this workspace's storage backend cannot issue temporary credentials");
}

/// <summary>One bucket the API keeps bookkeeping in (TTL markers), with the admin key allowed to write under <c>etc/</c>.</summary>
public sealed record BucketBookkeeping(S3Location Location, AwsCredentials Admin)
{
    public override string ToString() => $"BucketBookkeeping {{ Endpoint = {Location.Endpoint}, Bucket = {Location.Bucket}, AdminKeyId = {Admin.AccessKeyId} }}";
}
