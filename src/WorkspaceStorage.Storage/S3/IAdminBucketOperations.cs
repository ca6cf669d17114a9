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
    /// Keeps <paramref name="rule"/> among the bucket's CORS rules, known by its id: reads the configuration, and writes
    /// only when the rule with that id is missing (Created) or differs (Updated); every other rule is written back as read.
    /// </summary>
    Task<EnsureOutcome> EnsureCorsAsync(BucketCorsRule rule, CancellationToken cancellationToken);

    /// <summary>Removes the CORS rule with id <paramref name="ruleId"/> (Deleted), leaving every other rule; absent: Unchanged, no write.</summary>
    Task<EnsureOutcome> RemoveCorsAsync(string ruleId, CancellationToken cancellationToken);

    /// <summary>Deletes every object (and aborts every multipart upload) whose key starts with <paramref name="prefix"/>. Returns how many objects went.</summary>
    /// <param name="prefix">Must end in '/' and be non-empty: deleting "" or "W" (which would also match "Wx/") is refused.</param>
    Task<int> DeletePrefixAsync(string prefix, CancellationToken cancellationToken);

    /// <summary>
    /// Bytes and objects under <paramref name="prefix"/> by ListObjectsV2 (1000 keys a page), stopping after
    /// <paramref name="maxPages"/> pages (then the figures are a lower bound: Complete is false).
    /// </summary>
    /// <param name="prefix">Must end in '/' and be non-empty, as for <see cref="DeletePrefixAsync"/>.</param>
    Task<WorkspaceStorage.Core.Model.UsageFigures> MeasurePrefixAsync(string prefix, int maxPages, CancellationToken cancellationToken);
}
