using WorkspaceStorage.Core.Policies;
using WorkspaceStorage.Storage.Backends;

namespace WorkspaceStorage.Storage.S3;

/// <summary>Bucket chores every backend needs, done over plain S3 with the admin's credentials.</summary>
public interface IAdminBucketOperations
{
    /// <summary>
    /// Creates the shared bucket. "Already exists / owned by you / name unavailable" is success (Unchanged);
    /// when creation is denied, falls back to HeadBucket so a key that may not create buckets still works.
    /// </summary>
    Task<EnsureOutcome> EnsureBucketAsync(CancellationToken cancellationToken);

    /// <summary>
    /// Makes <paramref name="rule"/> the bucket's only CORS rule: reads the configuration, and writes only when it
    /// differs (Unchanged when it already says exactly this; Created when there was none; Updated when it differed).
    /// </summary>
    Task<EnsureOutcome> EnsureCorsAsync(BucketCorsRule rule, CancellationToken cancellationToken);

    /// <summary>Deletes every object (and aborts every multipart upload) whose key starts with <paramref name="prefix"/>. Returns how many objects went.</summary>
    /// <param name="prefix">Must end in '/' and be non-empty: deleting "" or "W" (which would also match "Wx/") is refused.</param>
    Task<int> DeletePrefixAsync(string prefix, CancellationToken cancellationToken);
}
