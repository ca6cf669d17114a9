namespace WorkspaceStorage.Storage.S3;

/// <summary>One object in a listing.</summary>
/// <param name="ETag">As S3 sends it, quotes included.</param>
public sealed record S3ObjectInfo(string Key, long Size, DateTimeOffset LastModified, string ETag);

/// <summary>One page of ListObjectsV2.</summary>
/// <param name="CommonPrefixes">"Directories" when a delimiter was given, each ending in the delimiter.</param>
/// <param name="NextContinuationToken">Pass it back to get the next page; null on the last page.</param>
public sealed record S3ListPage(
    IReadOnlyList<S3ObjectInfo> Objects,
    IReadOnlyList<string> CommonPrefixes,
    string? NextContinuationToken);

/// <summary>What HeadObject tells about an object.</summary>
public sealed record S3ObjectMetadata(
    long ContentLength,
    string? ETag,
    DateTimeOffset? LastModified,
    string? ContentType);

/// <summary>One uploaded part of a multipart upload, as the client reports it when completing.</summary>
public sealed record S3CompletedPart(int PartNumber, string ETag);

/// <summary>One part S3 holds for a multipart upload.</summary>
public sealed record S3UploadedPart(int PartNumber, string ETag, long Size, DateTimeOffset LastModified);

/// <summary>A multipart upload in progress.</summary>
public sealed record S3MultipartUpload(string Key, string UploadId, DateTimeOffset? Initiated);

/// <summary>The object a completed multipart upload produced.</summary>
public sealed record S3CompletedUpload(string Key, string ETag, string? Location);

/// <summary>One key a multi-object delete could not remove.</summary>
public sealed record S3DeleteError(string Key, string Code, string Message);

/// <summary>Outcome of <c>S3ObjectClient.DeleteManyAsync</c>: S3 deletes missing keys "successfully" too.</summary>
public sealed record S3DeleteResult(int Deleted, IReadOnlyList<S3DeleteError> Errors);
