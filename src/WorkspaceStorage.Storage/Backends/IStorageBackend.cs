using WorkspaceStorage.Core.Policies;
using WorkspaceStorage.Core.Signing;
using WorkspaceStorage.Core.Workspaces;

namespace WorkspaceStorage.Storage.Backends;

/// <summary>
/// Gives workspace W an identity that can reach <c>bucket/W/</c> and nothing else. One implementation per
/// admin protocol (MinIO admin API, Ceph RGW Admin Ops + IAM + STS, …). Every operation is idempotent,
/// reads before it writes, reports whether it changed anything, and is safe to repeat after a crash.
/// </summary>
public interface IStorageBackend
{
    /// <summary>The backend type as written in a StorageBackend resource: "minio", "ceph-rgw", "aws".</summary>
    string Type { get; }

    /// <summary>Where the shared bucket lives, for S3 data calls and for credentials handed to clients.</summary>
    S3Location Location { get; }

    /// <summary>Creates the shared bucket, or confirms it exists (falls back to HeadBucket when creation is denied).</summary>
    Task<EnsureOutcome> EnsureBucketAsync(CancellationToken cancellationToken);

    /// <summary>Keeps <paramref name="rule"/> (known by its id) among the shared bucket's CORS rules, writing only when the bucket says otherwise; other rules stay as they are.</summary>
    Task<EnsureOutcome> EnsureBucketCorsAsync(BucketCorsRule rule, CancellationToken cancellationToken);

    /// <summary>Removes the shared bucket's CORS rule with id <paramref name="ruleId"/> and no other; absent: Unchanged, no write.</summary>
    Task<EnsureOutcome> RemoveBucketCorsAsync(string ruleId, CancellationToken cancellationToken);

    /// <summary>
    /// Creates or repairs W's identity and its prefix policy for <paramref name="access"/>. Created means this call
    /// made the identity, so it holds no long-lived key yet (callers rely on that to skip a sweep for stray keys).
    /// </summary>
    Task<EnsureOutcome> EnsureIdentityAsync(WorkspaceId workspace, AccessLevel access, CancellationToken cancellationToken);

    /// <summary>
    /// Makes <paramref name="key"/> a long-lived key of W's identity (the caller generated it, or the user brought it).
    /// Already present with the same secret: Unchanged. Used for first keys, rotation's first step and bring-your-own keys.
    /// </summary>
    Task<EnsureOutcome> EnsureKeyAsync(WorkspaceId workspace, AwsCredentials key, CancellationToken cancellationToken);

    /// <summary>Access key ids of W's long-lived keys (temporary credentials excluded). Empty when W has no identity.</summary>
    Task<IReadOnlyList<string>> ListKeysAsync(WorkspaceId workspace, CancellationToken cancellationToken);

    /// <summary>Revokes one long-lived key of W (rotation's second step). Absent already: Unchanged.</summary>
    Task<EnsureOutcome> RevokeKeyAsync(WorkspaceId workspace, string accessKeyId, CancellationToken cancellationToken);

    /// <summary>
    /// Issues credentials that expire, confined to W's prefix and to <paramref name="access"/>, never wider than W's identity.
    /// Each call returns fresh credentials and leaves earlier ones valid until they expire.
    /// </summary>
    Task<TemporaryCredentials> IssueTemporaryCredentialsAsync(WorkspaceId workspace, AccessLevel access, TimeSpan lifetime,
        CancellationToken cancellationToken);

    /// <summary>Removes W's identity, keys and policies; with <see cref="DataDeletion.Delete"/> also every object under W/.</summary>
    Task<EnsureOutcome> DeleteWorkspaceAsync(WorkspaceId workspace, DataDeletion data, CancellationToken cancellationToken);

    /// <summary>Checks the admin endpoint answers and the admin credentials are accepted.</summary>
    Task<BackendHealth> CheckHealthAsync(CancellationToken cancellationToken);

    /// <summary>
    /// What W holds under its prefix: a ListObjectsV2 of <c>W/</c> with the admin's key, at most <paramref name="maxPages"/>
    /// pages of 1000 keys (Complete false when capped). The same on every backend: RGW's own user stats cannot be used,
    /// because RGW charges usage to the bucket's owner (the admin), not to the workspace user that wrote the objects.
    /// </summary>
    Task<WorkspaceStorage.Core.Model.UsageFigures> MeasureUsageAsync(WorkspaceId workspace, int maxPages, CancellationToken cancellationToken);
}

/// <summary>
/// A backend whose server makes every long-lived key itself and cannot import one (AWS IAM: CreateAccessKey chooses
/// the secret). For these the operator asks for a key, then records it in the Secret, instead of recording a key it made
/// and handing it over; <see cref="IStorageBackend.EnsureKeyAsync"/> then only confirms a key the server already holds.
/// </summary>
public interface IServerIssuedKeys
{
    /// <summary>
    /// Revokes every key of W not in <paramref name="keep"/> (a key made by an interrupted earlier call, a stray), so the
    /// server's per-identity limit is never hit, then has the server make a new key, and waits (bounded) until the server
    /// accepts it. A crash after the server made the key leaves a key no Secret names: the next call revokes it first.
    /// </summary>
    Task<AwsCredentials> CreateKeyAsync(WorkspaceId workspace, IReadOnlyCollection<string> keep, CancellationToken cancellationToken);
}

/// <summary>What an idempotent operation did.</summary>
public enum EnsureOutcome
{
    Unchanged,
    Created,
    Updated,
    Deleted,
}

/// <summary>Whether deleting a workspace also deletes the objects under its prefix.</summary>
public enum DataDeletion
{
    Retain,
    Delete,
}

/// <summary>Credentials that stop working at <see cref="Expiration"/>.</summary>
public sealed record TemporaryCredentials(AwsCredentials Credentials, DateTimeOffset Expiration);

/// <summary>The outcome of a health probe; <see cref="Detail"/> is safe to show (never holds a secret).</summary>
public sealed record BackendHealth(bool Healthy, string Detail);

/// <summary>The S3 side of a backend.</summary>
/// <param name="Endpoint">URL the operator and API use, e.g. http://127.0.0.1:7480.</param>
/// <param name="PublicEndpoint">URL handed to clients (credentials, presigned URLs); defaults to <paramref name="Endpoint"/>.</param>
public sealed record S3Location(Uri Endpoint, Uri PublicEndpoint, string Region, string Bucket, bool PathStyle = true);
