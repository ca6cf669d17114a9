using System.Net;
using System.Net.Http.Headers;
using WorkspaceStorage.Storage.Backends;

namespace WorkspaceStorage.Storage.S3;

/// <summary>Single objects: HEAD, streamed GET and PUT, DELETE and multi-object DELETE.</summary>
public sealed partial class S3ObjectClient
{
    /// <summary>The object's metadata, or null when it does not exist.</summary>
    public async Task<S3ObjectMetadata?> HeadAsync(string key, CancellationToken cancellationToken = default)
    {
        ValidateKey(key);
        using var response = await SendStreamingAsync(() => new HttpRequestMessage(HttpMethod.Head, ObjectUri(key)), "HeadObject", false,
            canRetry: true, cancellationToken);
        if (response.StatusCode == HttpStatusCode.NotFound)
        {
            return null;
        }

        if (!response.IsSuccessStatusCode)
        {
            throw await FailAsync(response, "HeadObject", key, cancellationToken);
        }

        var content = response.Content.Headers;
        return new S3ObjectMetadata(content.ContentLength ?? 0, ETagOf(response), content.LastModified, content.ContentType?.ToString());
    }

    /// <summary>
    /// Starts a GET and returns once the headers are in: 200/206 with the body still streaming, or NotFound /
    /// RangeNotSatisfiable without a body. Any other refusal throws. Always dispose the result.
    /// </summary>
    public async Task<S3GetResult> GetAsync(string key, S3ByteRange? range = null, CancellationToken cancellationToken = default)
    {
        ValidateKey(key);
        var rangeHeader = range?.ToString();
        var response = await SendStreamingAsync(() =>
        {
            var message = new HttpRequestMessage(HttpMethod.Get, ObjectUri(key));
            if (rangeHeader is not null)
            {
                message.Headers.TryAddWithoutValidation("Range", rangeHeader);
            }

            return message;
        }, "GetObject", false, canRetry: true, cancellationToken);

        try
        {
            switch (response.StatusCode)
            {
                case HttpStatusCode.OK:
                case HttpStatusCode.PartialContent:
                    var body = await response.Content.ReadAsStreamAsync(cancellationToken);
                    return new S3GetResult(response.StatusCode == HttpStatusCode.OK ? S3GetStatus.Ok : S3GetStatus.PartialContent, response, body);
                case HttpStatusCode.RequestedRangeNotSatisfiable:
                    var unsatisfiable = new S3GetResult(S3GetStatus.RangeNotSatisfiable, response, Stream.Null);
                    response.Dispose();
                    return unsatisfiable;
                case HttpStatusCode.NotFound:
                    var errorBody = await response.Content.ReadAsByteArrayAsync(cancellationToken);
                    var (code, _) = S3Xml.ReadError(errorBody);
                    if (code is not null and not "NoSuchKey")
                    {
                        throw Fail(response.StatusCode, errorBody, "GetObject", key); // NoSuchBucket is a configuration error, not a missing file
                    }

                    var missing = new S3GetResult(S3GetStatus.NotFound, response, Stream.Null);
                    response.Dispose();
                    return missing;
                default:
                    throw await FailAsync(response, "GetObject", key, cancellationToken);
            }
        }
        catch
        {
            response.Dispose();
            throw;
        }
    }

    /// <summary>
    /// Streams exactly <paramref name="contentLength"/> bytes of <paramref name="body"/> into <paramref name="key"/> and returns the ETag.
    /// Retried only when the body is seekable (a consumed stream cannot be sent again).
    /// </summary>
    public async Task<string> PutAsync(string key, Stream body, long contentLength, string? contentType = null,
        CancellationToken cancellationToken = default)
    {
        ValidateKey(key);
        ArgumentNullException.ThrowIfNull(body);
        if (contentLength < 0)
        {
            throw new BackendValidationException("contentLength", "must not be negative");
        }

        MediaTypeHeaderValue? mediaType = null;
        if (contentType is not null && !MediaTypeHeaderValue.TryParse(contentType, out mediaType))
        {
            throw new BackendValidationException("contentType", "must be a media type such as application/octet-stream");
        }

        var start = body.CanSeek ? body.Position : 0;
        using var response = await SendStreamingAsync(() =>
        {
            if (body.CanSeek)
            {
                body.Position = start;
            }

            return new HttpRequestMessage(HttpMethod.Put, ObjectUri(key));
        }, "PutObject", true, canRetry: body.CanSeek, cancellationToken, (arm) =>
        {
            var content = new StreamingUploadContent(body, contentLength, arm, options.UploadIdleTimeout, options.ResponseHeadersTimeout);
            if (mediaType is not null)
            {
                content.Headers.ContentType = mediaType;
            }

            return content;
        });

        if (!response.IsSuccessStatusCode)
        {
            throw await FailAsync(response, "PutObject", key, cancellationToken);
        }

        return ETagOf(response) ?? string.Empty;
    }

    /// <summary>Deletes one object. S3 answers 204 whether or not it existed.</summary>
    public async Task DeleteAsync(string key, CancellationToken cancellationToken = default)
    {
        ValidateKey(key);
        var response = await SendControlAsync(HttpMethod.Delete, ObjectUrl(key, null), "DeleteObject", isWrite: true, cancellationToken);
        EnsureSuccess(response, "DeleteObject", key);
    }

    /// <summary>
    /// Deletes <paramref name="keys"/> with multi-object deletes of at most 1,000 keys each (S3's limit).
    /// Keys S3 could not delete come back in <see cref="S3DeleteResult.Errors"/>; the rest count as deleted.
    /// </summary>
    public Task<S3DeleteResult> DeleteManyAsync(IEnumerable<string> keys, CancellationToken cancellationToken = default) =>
        DeleteManyAsync(keys, MaxDeleteBatch, cancellationToken);

    /// <inheritdoc cref="DeleteManyAsync(IEnumerable{string}, CancellationToken)"/>
    public async Task<S3DeleteResult> DeleteManyAsync(IEnumerable<string> keys, int batchSize, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(keys);
        if (batchSize is < 1 or > MaxDeleteBatch)
        {
            throw new BackendValidationException("batchSize", "must be between 1 and 1000");
        }

        var deleted = 0;
        var errors = new List<S3DeleteError>();
        var batch = new List<string>(batchSize);
        foreach (var key in keys)
        {
            ValidateKey(key);
            batch.Add(key);
            if (batch.Count == batchSize)
            {
                deleted += await DeleteBatchAsync(batch, errors, cancellationToken);
                batch.Clear();
            }
        }

        if (batch.Count > 0)
        {
            deleted += await DeleteBatchAsync(batch, errors, cancellationToken);
        }

        return new S3DeleteResult(deleted, errors);
    }

    private async Task<int> DeleteBatchAsync(List<string> batch, List<S3DeleteError> errors, CancellationToken cancellationToken)
    {
        var body = S3Xml.WriteDelete(batch);
        var response = await SendControlAsync(HttpMethod.Post, BucketUrl("delete"), "DeleteObjects", isWrite: true, cancellationToken,
            body, "application/xml", [new("Content-MD5", ContentMd5(body))]);
        EnsureSuccess(response, "DeleteObjects", batch[0]);
        var failed = S3Xml.ReadDeleteErrors(response.Body);
        errors.AddRange(failed);
        return batch.Count - failed.Count;
    }
}
