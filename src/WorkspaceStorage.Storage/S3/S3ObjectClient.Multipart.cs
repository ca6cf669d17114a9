using System.Globalization;
using System.Net;
using System.Net.Http.Headers;
using System.Text;
using WorkspaceStorage.Storage.Backends;

namespace WorkspaceStorage.Storage.S3;

/// <summary>Multipart uploads: create, complete, abort, list parts and uploads.</summary>
public sealed partial class S3ObjectClient
{
    /// <summary>Starts a multipart upload and returns its upload id.</summary>
    public async Task<string> CreateMultipartUploadAsync(string key, string? contentType = null, CancellationToken cancellationToken = default)
    {
        ValidateKey(key);
        if (contentType is not null && !MediaTypeHeaderValue.TryParse(contentType, out _))
        {
            throw new BackendValidationException("contentType", "must be a media type such as application/octet-stream");
        }

        var response = await SendControlAsync(HttpMethod.Post, ObjectUrl(key, "uploads"), "CreateMultipartUpload", isWrite: true,
            cancellationToken, contentType: contentType);
        EnsureSuccess(response, "CreateMultipartUpload", key);
        return S3Xml.ReadUploadId(response.Body);
    }

    /// <summary>Joins the uploaded parts into the object. Parts are sent in ascending order; duplicates are refused.</summary>
    public async Task<S3CompletedUpload> CompleteMultipartUploadAsync(string key, string uploadId, IEnumerable<S3CompletedPart> parts,
        CancellationToken cancellationToken = default)
    {
        ValidateKey(key);
        ValidateUploadId(uploadId);
        ArgumentNullException.ThrowIfNull(parts);
        var ordered = parts.OrderBy(p => p.PartNumber).ToList();
        if (ordered.Count == 0)
        {
            throw new BackendValidationException("parts", "must name at least one part");
        }

        for (var i = 0; i < ordered.Count; i++)
        {
            ValidatePartNumber(ordered[i].PartNumber, "parts.partNumber");
            if (string.IsNullOrWhiteSpace(ordered[i].ETag))
            {
                throw new BackendValidationException("parts.etag", "must not be empty");
            }

            if (i > 0 && ordered[i].PartNumber == ordered[i - 1].PartNumber)
            {
                throw new BackendValidationException("parts.partNumber", "must not repeat");
            }

            ordered[i] = ordered[i] with { ETag = QuoteETag(ordered[i].ETag) };
        }

        var response = await SendControlAsync(HttpMethod.Post, ObjectUrl(key, UploadIdQuery(uploadId)), "CompleteMultipartUpload",
            isWrite: true, cancellationToken, S3Xml.WriteComplete(ordered), "application/xml");
        EnsureSuccess(response, "CompleteMultipartUpload", key);

        // S3 may answer 200 and still fail: the error then comes in the body.
        var root = S3Xml.Parse(response.Body);
        if (root.Name.LocalName == "Error")
        {
            throw Fail(HttpStatusCode.OK, response.Body, "CompleteMultipartUpload", key);
        }

        var etag = S3Xml.Value(root, "ETag");
        if (string.IsNullOrEmpty(etag))
        {
            // RGW Pacific sends an empty <ETag/>; the object's own metadata has it.
            etag = (await HeadAsync(key, cancellationToken))?.ETag ?? string.Empty;
        }

        return new S3CompletedUpload(key, etag, S3Xml.Value(root, "Location"));
    }

    /// <summary>Aborts an upload and frees its parts. False when no such upload exists (already completed or aborted).</summary>
    public async Task<bool> AbortMultipartUploadAsync(string key, string uploadId, CancellationToken cancellationToken = default)
    {
        ValidateKey(key);
        ValidateUploadId(uploadId);
        var response = await SendControlAsync(HttpMethod.Delete, ObjectUrl(key, UploadIdQuery(uploadId)), "AbortMultipartUpload",
            isWrite: true, cancellationToken);
        if (response.StatusCode == 404)
        {
            return false;
        }

        EnsureSuccess(response, "AbortMultipartUpload", key);
        return true;
    }

    /// <summary>
    /// The parts uploaded so far, or null when <paramref name="uploadId"/> is not an upload of <paramref name="key"/>
    /// (S3 ties an upload id to its key, so this also checks that an upload belongs to a key).
    /// </summary>
    public async Task<IReadOnlyList<S3UploadedPart>?> ListPartsAsync(string key, string uploadId, CancellationToken cancellationToken = default)
    {
        ValidateKey(key);
        ValidateUploadId(uploadId);
        var parts = new List<S3UploadedPart>();
        int? marker = null;
        do
        {
            var query = UploadIdQuery(uploadId);
            if (marker is { } m)
            {
                query += "&part-number-marker=" + m.ToString(CultureInfo.InvariantCulture);
            }

            var response = await SendControlAsync(HttpMethod.Get, ObjectUrl(key, query), "ListParts", isWrite: false, cancellationToken);
            if (response.StatusCode == 404 && S3Xml.ReadError(response.Body).Code is null or "NoSuchUpload" or "NoSuchKey")
            {
                return null;
            }

            EnsureSuccess(response, "ListParts", key);
            var (page, next) = S3Xml.ReadPartsPage(response.Body);
            parts.AddRange(page);
            marker = next;
        }
        while (marker is not null);

        return parts;
    }

    /// <summary>Every multipart upload in progress whose key starts with <paramref name="prefix"/>.</summary>
    public async Task<IReadOnlyList<S3MultipartUpload>> ListMultipartUploadsAsync(string prefix, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(prefix);
        var uploads = new List<S3MultipartUpload>();
        string? keyMarker = null;
        string? uploadIdMarker = null;
        do
        {
            var query = new StringBuilder("uploads&encoding-type=url");
            AppendQuery(query, "prefix", prefix);
            if (keyMarker is not null)
            {
                AppendQuery(query, "key-marker", keyMarker);
                if (uploadIdMarker is not null)
                {
                    AppendQuery(query, "upload-id-marker", uploadIdMarker);
                }
            }

            var response = await SendControlAsync(HttpMethod.Get, BucketUrl(query.ToString()), "ListMultipartUploads", isWrite: false,
                cancellationToken);
            EnsureSuccess(response, "ListMultipartUploads", prefix);
            var (page, nextKey, nextUploadId) = S3Xml.ReadUploadsPage(response.Body);
            uploads.AddRange(page);
            (keyMarker, uploadIdMarker) = (nextKey, nextUploadId);
        }
        while (keyMarker is not null);

        return uploads;
    }
}
