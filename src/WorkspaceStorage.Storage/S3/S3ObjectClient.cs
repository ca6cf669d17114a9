using System.Diagnostics;
using System.Globalization;
using System.Net;
using System.Net.Http.Headers;
using System.Runtime.CompilerServices;
using System.Security.Cryptography;
using System.Text;
using WorkspaceStorage.Core.Signing;
using WorkspaceStorage.Storage.Backends;
using WorkspaceStorage.Storage.Http;

namespace WorkspaceStorage.Storage.S3;

/// <summary>
/// S3 data-plane calls against one bucket, with one set of credentials, path-style (<c>{endpoint}/{bucket}/{key}</c>).
/// Small control calls go through <see cref="SignedHttpSender"/> (retries, timeouts, observer); GET/PUT/HEAD stream
/// with UNSIGNED-PAYLOAD, a timeout on the response headers only and nothing buffered. Presigned URLs point at the
/// public endpoint and are signed with this client's own credentials, so S3 itself enforces what that key may reach.
/// Create instances with <see cref="S3ClientFactory"/>; they are cheap and thread-safe.
/// </summary>
public sealed class S3ObjectClient
{
    public const string BackendType = "s3";

    /// <summary>S3's limit on a key's UTF-8 length.</summary>
    public const int MaxKeyBytes = 1024;

    /// <summary>S3's limit on keys per multi-object delete.</summary>
    public const int MaxDeleteBatch = 1000;

    public const int MaxPartNumber = 10000;

    private static readonly HashSet<string> AuthenticationCodes = new(StringComparer.Ordinal)
    {
        "InvalidAccessKeyId", "SignatureDoesNotMatch", "InvalidClientTokenId", "XMinioInvalidIAMCredentials",
    };

    private readonly HttpClient http;
    private readonly SigV4Signer signer;
    private readonly SignedHttpSender sender;
    private readonly AwsCredentials credentials;
    private readonly S3ClientOptions options;
    private readonly IBackendCallObserver observer;
    private readonly TimeProvider clock;
    private readonly SigV4Scope scope;

    // Precomputed once per client so presigning only escapes the key, formats the time and signs.
    private readonly string endpointBase;     // scheme://authority of the internal endpoint
    private readonly string bucketPath;       // [/path-prefix]/bucket (escaped)
    private readonly string publicBase;       // scheme://authority of the public endpoint
    private readonly string publicHost;       // host[:port] signed into presigned URLs
    private readonly string publicBucketPath; // [/path-prefix]/bucket of the public endpoint

    internal S3ObjectClient(HttpClient http, SigV4Signer signer, SignedHttpSender sender, S3Location location, AwsCredentials credentials,
        S3ClientOptions options, IBackendCallObserver observer, TimeProvider clock)
    {
        ArgumentNullException.ThrowIfNull(location);
        ArgumentNullException.ThrowIfNull(credentials);
        if (string.IsNullOrEmpty(location.Bucket))
        {
            throw new BackendValidationException("bucket", "must not be empty");
        }

        if (!location.PathStyle)
        {
            throw new BackendValidationException("pathStyle", "must be true: the S3 client only builds path-style URLs");
        }

        this.http = http;
        this.signer = signer;
        this.sender = sender;
        this.credentials = credentials;
        this.options = options;
        this.observer = observer;
        this.clock = clock;
        Location = location;
        scope = new SigV4Scope(location.Region, "s3");
        var escapedBucket = "/" + AwsUriEncoding.Escape(location.Bucket);
        (endpointBase, bucketPath) = (Origin(location.Endpoint), PathPrefix(location.Endpoint) + escapedBucket);
        (publicBase, publicBucketPath) = (Origin(location.PublicEndpoint), PathPrefix(location.PublicEndpoint) + escapedBucket);
        publicHost = HostHeader(location.PublicEndpoint);
    }

    public S3Location Location { get; }

    /// <summary>The access key id this client signs with (never the secret).</summary>
    public string AccessKeyId => credentials.AccessKeyId;

    // ---------------------------------------------------------------- presigning

    /// <summary>
    /// A presigned URL for <paramref name="method"/> on <paramref name="key"/>, on the public endpoint. No I/O.
    /// </summary>
    /// <param name="extraQuery">Unescaped parameters signed into the URL (partNumber, uploadId, response-content-disposition …).</param>
    public string Presign(HttpMethod method, string key, TimeSpan expiry, IReadOnlyList<KeyValuePair<string, string>>? extraQuery = null)
    {
        ArgumentNullException.ThrowIfNull(method);
        ValidateKey(key);
        ValidateExpiry(expiry);
        var path = string.Concat(publicBucketPath, "/", AwsUriEncoding.Escape(key, keepSlash: true));
        return signer.Presign(method.Method, publicBase, publicHost, path, credentials, scope, clock.GetUtcNow(), expiry, extraQuery);
    }

    /// <summary>A presigned PUT for one part of a multipart upload.</summary>
    public string PresignUploadPart(string key, string uploadId, int partNumber, TimeSpan expiry)
    {
        ValidateUploadId(uploadId);
        ValidatePartNumber(partNumber, "partNumber");
        return Presign(HttpMethod.Put, key, expiry,
        [
            new("partNumber", partNumber.ToString(CultureInfo.InvariantCulture)),
            new("uploadId", uploadId),
        ]);
    }

    // ---------------------------------------------------------------- listing

    /// <summary>One page of ListObjectsV2 under <paramref name="prefix"/>.</summary>
    /// <param name="delimiter">Usually "/": keys below the next delimiter fold into <see cref="S3ListPage.CommonPrefixes"/>.</param>
    /// <param name="maxKeys">1 to 1000; S3's default (1000) when null.</param>
    public async Task<S3ListPage> ListAsync(string prefix, string? delimiter = null, string? continuationToken = null, int? maxKeys = null,
        CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(prefix);
        if (maxKeys is < 1 or > 1000)
        {
            throw new BackendValidationException("maxKeys", "must be between 1 and 1000");
        }

        var query = new StringBuilder("list-type=2&encoding-type=url");
        AppendQuery(query, "prefix", prefix);
        if (!string.IsNullOrEmpty(delimiter))
        {
            AppendQuery(query, "delimiter", delimiter);
        }

        if (continuationToken is not null)
        {
            AppendQuery(query, "continuation-token", continuationToken);
        }

        if (maxKeys is { } max)
        {
            AppendQuery(query, "max-keys", max.ToString(CultureInfo.InvariantCulture));
        }

        var response = await SendControlAsync(HttpMethod.Get, BucketUrl(query.ToString()), "ListObjectsV2", isWrite: false, cancellationToken);
        EnsureSuccess(response, "ListObjectsV2", prefix);
        return S3Xml.ReadListPage(response.Body);
    }

    /// <summary>Every page under <paramref name="prefix"/>, fetched as the caller walks them.</summary>
    /// <param name="pageSize">Keys per request, 1 to 1000 (S3's default when null).</param>
    public async IAsyncEnumerable<S3ListPage> ListAllAsync(string prefix, string? delimiter = null, int? pageSize = null,
        [EnumeratorCancellation] CancellationToken cancellationToken = default)
    {
        string? token = null;
        do
        {
            var page = await ListAsync(prefix, delimiter, token, pageSize, cancellationToken);
            yield return page;
            token = page.NextContinuationToken;
        }
        while (token is not null);
    }

    // ---------------------------------------------------------------- single objects

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
    /// Deletes <paramref name="keys"/> with multi-object deletes of at most <paramref name="batchSize"/> keys each.
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

    // ---------------------------------------------------------------- multipart

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

    // ---------------------------------------------------------------- bucket

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

    // ---------------------------------------------------------------- plumbing

    internal static void ValidateKey(string key)
    {
        if (string.IsNullOrEmpty(key))
        {
            throw new BackendValidationException("key", "must not be empty");
        }

        if (key.Length > MaxKeyBytes / 3 && Encoding.UTF8.GetByteCount(key) > MaxKeyBytes)
        {
            throw new BackendValidationException("key", "must be at most 1024 bytes in UTF-8");
        }
    }

    private static void ValidateExpiry(TimeSpan expiry)
    {
        if (expiry < TimeSpan.FromSeconds(1) || expiry > SigV4Signer.MaxPresignExpiry)
        {
            throw new BackendValidationException("expiry", "must be between 1 second and 7 days");
        }
    }

    private static void ValidateUploadId(string uploadId)
    {
        if (string.IsNullOrEmpty(uploadId))
        {
            throw new BackendValidationException("uploadId", "must not be empty");
        }
    }

    private static void ValidatePartNumber(int partNumber, string field)
    {
        if (partNumber is < 1 or > MaxPartNumber)
        {
            throw new BackendValidationException(field, "must be between 1 and 10000");
        }
    }

    private static string QuoteETag(string etag)
    {
        var trimmed = etag.Trim();
        return trimmed.StartsWith('"') ? trimmed : string.Concat("\"", trimmed, "\"");
    }

    private static string UploadIdQuery(string uploadId) => "uploadId=" + AwsUriEncoding.Escape(uploadId);

    private static void AppendQuery(StringBuilder query, string name, string value) =>
        query.Append('&').Append(name).Append('=').Append(AwsUriEncoding.Escape(value));

    private static string Origin(Uri endpoint) => endpoint.GetLeftPart(UriPartial.Authority);

    private static string PathPrefix(Uri endpoint) => endpoint.AbsolutePath.TrimEnd('/');

    private static string HostHeader(Uri endpoint) => endpoint.IsDefaultPort ? endpoint.Host : $"{endpoint.Host}:{endpoint.Port}";

    private static string StatusName(int status) => status switch
    {
        403 => "AccessDenied",
        404 => "NotFound",
        _ => status.ToString(CultureInfo.InvariantCulture),
    };

    private static string? ETagOf(HttpResponseMessage response) =>
        response.Headers.ETag?.ToString() ?? (response.Headers.TryGetValues("ETag", out var values) ? values.FirstOrDefault() : null);

    private string BucketUrl(string query) => string.Concat(endpointBase, bucketPath, "?", query);

    private string ObjectUrl(string key, string? query) => query is null
        ? string.Concat(endpointBase, bucketPath, "/", AwsUriEncoding.Escape(key, keepSlash: true))
        : string.Concat(endpointBase, bucketPath, "/", AwsUriEncoding.Escape(key, keepSlash: true), "?", query);

    private Uri ObjectUri(string key) => HttpRequestSigning.UnescapedUri(ObjectUrl(key, null));

    private async Task<int> DeleteBatchAsync(List<string> batch, List<S3DeleteError> errors, CancellationToken cancellationToken)
    {
        var body = S3Xml.WriteDelete(batch);
#pragma warning disable CA5351 // S3 demands Content-MD5 on multi-object delete: an integrity check of the body, not security
        var md5 = Convert.ToBase64String(MD5.HashData(body));
#pragma warning restore CA5351
        var response = await SendControlAsync(HttpMethod.Post, BucketUrl("delete"), "DeleteObjects", isWrite: true, cancellationToken,
            body, "application/xml", [new("Content-MD5", md5)]);
        EnsureSuccess(response, "DeleteObjects", batch[0]);
        var failed = S3Xml.ReadDeleteErrors(response.Body);
        errors.AddRange(failed);
        return batch.Count - failed.Count;
    }

    private Task<SignedResponse> SendControlAsync(HttpMethod method, string url, string operation, bool isWrite,
        CancellationToken cancellationToken, byte[]? body = null, string? contentType = null,
        IReadOnlyList<KeyValuePair<string, string>>? headers = null) =>
        sender.SendAsync(new SignedRequest(method, url, credentials, scope, operation, isWrite, body, contentType, headers), cancellationToken);

    private void EnsureSuccess(SignedResponse response, string operation, string subject)
    {
        if (!response.IsSuccess)
        {
            throw Fail((HttpStatusCode)response.StatusCode, response.Body, operation, subject);
        }
    }

    private async Task<Exception> FailAsync(HttpResponseMessage response, string operation, string subject, CancellationToken cancellationToken)
    {
        byte[] body;
        try
        {
            body = await response.Content.ReadAsByteArrayAsync(cancellationToken);
        }
        catch (HttpRequestException)
        {
            body = [];
        }

        return Fail(response.StatusCode, body, operation, subject);
    }

    private static StorageBackendException Fail(HttpStatusCode status, byte[] body, string operation, string subject)
    {
        var (code, serverMessage) = S3Xml.ReadError(body);
        var statusNumber = (int)status;
        code ??= StatusName(statusNumber);
        var what = subject.Length == 0 ? operation : $"{operation} {subject}";
        if (statusNumber is 401 or 403 && AuthenticationCodes.Contains(code))
        {
            return new BackendAuthenticationException($"S3 {what}: the credentials were refused ({code})")
            {
                StatusCode = statusNumber,
                ErrorCode = code,
            };
        }

        if (statusNumber >= 500 || statusNumber == 429 || code == "SlowDown")
        {
            return new BackendUnavailableException($"S3 {what}: HTTP {statusNumber} {code}") { StatusCode = statusNumber, ErrorCode = code };
        }

        return new S3RequestException($"S3 {what}: HTTP {statusNumber} {code}")
        {
            StatusCode = statusNumber,
            ErrorCode = code,
            ServerMessage = serverMessage,
        };
    }

    /// <summary>
    /// Sends one streaming request, signed with UNSIGNED-PAYLOAD, and returns as soon as the response headers are in.
    /// The timeout covers connecting and waiting for headers (and upload stalls), never the response body.
    /// Connection failures, timeouts and 5xx/429 are retried when <paramref name="canRetry"/>.
    /// </summary>
    private async Task<HttpResponseMessage> SendStreamingAsync(Func<HttpRequestMessage> build, string operation, bool isWrite, bool canRetry,
        CancellationToken cancellationToken, Func<Action<TimeSpan>, HttpContent>? content = null)
    {
        var attempts = canRetry ? options.Retry.MaxAttempts : 1;
        Exception? lastError = null;
        var random = Random.Shared;
        for (var attempt = 1; attempt <= attempts; attempt++)
        {
            if (attempt > 1)
            {
                await Task.Delay(options.Retry.DelayBefore(attempt, random), clock, cancellationToken);
            }

            var started = Stopwatch.GetTimestamp();
            using var timeout = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
            timeout.CancelAfter(options.ResponseHeadersTimeout);
            using var message = build();
            if (content is not null)
            {
                message.Content = content(delay =>
                {
                    try
                    {
                        timeout.CancelAfter(delay);
                    }
                    catch (ObjectDisposedException)
                    {
                        // S3 answered before the body was sent (e.g. 403); nothing left to time.
                    }
                });
            }

            signer.Sign(message, credentials, scope, SigV4Signer.UnsignedPayload, clock.GetUtcNow());
            HttpResponseMessage response;
            try
            {
                response = await http.SendAsync(message, HttpCompletionOption.ResponseHeadersRead, timeout.Token);
            }
            catch (OperationCanceledException) when (!cancellationToken.IsCancellationRequested)
            {
                Report(operation, isWrite, started, "Timeout");
                lastError = new BackendUnavailableException($"S3 {operation}: no progress within the timeout");
                continue;
            }
            catch (Exception ex) when ((ex as InvalidDataException ?? FindInner<InvalidDataException>(ex)) is { } shortBody)
            {
                Report(operation, isWrite, started, "ShortBody");
                throw new BackendValidationException("contentLength", $"must match the body: {shortBody.Message}");
            }
            catch (HttpRequestException ex)
            {
                Report(operation, isWrite, started, "ConnectionError");
                lastError = new BackendUnavailableException($"S3 {operation}: {ex.Message}", ex);
                continue;
            }

            var status = (int)response.StatusCode;
            if (status >= 500 || status == 429)
            {
                Report(operation, isWrite, started, status.ToString(CultureInfo.InvariantCulture));
                lastError = await FailAsync(response, operation, string.Empty, timeout.Token);
                response.Dispose();
                continue;
            }

            Report(operation, isWrite, started, status >= 400 && status != 404 && status != 416 ? StatusName(status) : null);
            return response;
        }

        throw lastError ?? new BackendUnavailableException($"S3 {operation}: failed");
    }

    private static T? FindInner<T>(Exception exception)
        where T : Exception
    {
        for (var current = exception.InnerException; current is not null; current = current.InnerException)
        {
            if (current is T found)
            {
                return found;
            }
        }

        return null;
    }

    private void Report(string operation, bool isWrite, long started, string? error) =>
        observer.OnCall(new BackendCall(BackendType, operation, isWrite, Stopwatch.GetElapsedTime(started), error));
}
