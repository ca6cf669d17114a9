using WorkspaceStorage.Core.Policies;

namespace WorkspaceStorage.Storage.S3;

/// <summary>The bucket itself: create, head, and its CORS configuration.</summary>
public sealed partial class S3ObjectClient
{
    /// <summary>
    /// Creates the bucket: Created, or the S3 error code when S3 refused (BucketAlreadyOwnedByYou, AccessDenied …) so the
    /// caller decides what counts as success. Authentication failures and 5xx throw.
    /// </summary>
    public async Task<(bool Created, string? ErrorCode)> CreateBucketAsync(CancellationToken cancellationToken = default)
    {
        var response = await SendControlAsync(HttpMethod.Put, endpointBase + bucketPath, "CreateBucket", isWrite: true, cancellationToken);
        if (response.IsSuccess)
        {
            return (true, null);
        }

        var (code, _) = S3Xml.ReadError(response.Body);
        return (false, code ?? StatusName(response.StatusCode));
    }

    /// <summary>True when the bucket exists and this key may use it, false on 404; other answers throw.</summary>
    public async Task<bool> HeadBucketAsync(CancellationToken cancellationToken = default)
    {
        var response = await SendControlAsync(HttpMethod.Head, endpointBase + bucketPath, "HeadBucket", isWrite: false, cancellationToken);
        if (response.StatusCode == 404)
        {
            return false;
        }

        EnsureSuccess(response, "HeadBucket", Location.Bucket);
        return true;
    }

    /// <summary>The bucket's CORS rules; empty when it has none (S3 answers 404 NoSuchCORSConfiguration).</summary>
    public async Task<IReadOnlyList<BucketCorsRule>> GetBucketCorsAsync(CancellationToken cancellationToken = default)
    {
        var response = await SendControlAsync(HttpMethod.Get, BucketUrl("cors"), "GetBucketCors", isWrite: false, cancellationToken);
        if (response.StatusCode == 404 && S3Xml.ReadError(response.Body).Code == "NoSuchCORSConfiguration")
        {
            return [];
        }

        EnsureSuccess(response, "GetBucketCors", Location.Bucket);
        return S3Xml.ReadCors(response.Body);
    }

    /// <summary>Replaces the bucket's CORS configuration with these rules (at least one: S3 refuses an empty one).</summary>
    public async Task PutBucketCorsAsync(IReadOnlyList<BucketCorsRule> rules, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(rules);
        var body = S3Xml.WriteCors(rules);
        var response = await SendControlAsync(HttpMethod.Put, BucketUrl("cors"), "PutBucketCors", isWrite: true, cancellationToken,
            body, "application/xml", [new("Content-MD5", ContentMd5(body))]);
        EnsureSuccess(response, "PutBucketCors", Location.Bucket);
    }

    /// <summary>Removes the bucket's CORS configuration (S3 answers 204 whether or not there was one).</summary>
    public async Task DeleteBucketCorsAsync(CancellationToken cancellationToken = default)
    {
        var response = await SendControlAsync(HttpMethod.Delete, BucketUrl("cors"), "DeleteBucketCors", isWrite: true, cancellationToken);
        EnsureSuccess(response, "DeleteBucketCors", Location.Bucket);
    }
}
