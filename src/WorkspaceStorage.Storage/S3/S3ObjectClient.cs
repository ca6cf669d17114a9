using System.Diagnostics;
using System.Globalization;
using System.Net;
using System.Security.Cryptography;
using System.Text;
using Polly;
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
public sealed partial class S3ObjectClient
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
    private readonly ResiliencePipeline streamingRetry;

    // Precomputed once per client so presigning only escapes the key, formats the time and signs.
    private readonly string endpointBase;     // scheme://authority of the internal endpoint
    private readonly string bucketPath;       // [/path-prefix]/bucket (escaped)
    private readonly string publicBase;       // scheme://authority of the public endpoint
    private readonly string publicHost;       // host[:port] signed into presigned URLs
    private readonly string publicBucketPath; // [/path-prefix]/bucket of the public endpoint

    internal S3ObjectClient(HttpClient http, SigV4Signer signer, SignedHttpSender sender, ResiliencePipeline streamingRetry, S3Location location,
        AwsCredentials credentials, S3ClientOptions options, IBackendCallObserver observer, TimeProvider clock)
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
        this.streamingRetry = streamingRetry;
        var escapedBucket = "/" + AwsUriEncoding.Escape(location.Bucket);
        (endpointBase, bucketPath) = (Origin(location.Endpoint), PathPrefix(location.Endpoint) + escapedBucket);
        (publicBase, publicBucketPath) = (Origin(location.PublicEndpoint), PathPrefix(location.PublicEndpoint) + escapedBucket);
        publicHost = HostHeader(location.PublicEndpoint);
    }

    public S3Location Location { get; }

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

    /// <summary>Content-MD5 of a body: S3 demands it on multi-object delete and PutBucketCors.</summary>
    private static string ContentMd5(byte[] body)
    {
#pragma warning disable CA5351 // an integrity check of the body that S3 requires, not security
        return Convert.ToBase64String(MD5.HashData(body));
#pragma warning restore CA5351
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
    private Task<HttpResponseMessage> SendStreamingAsync(Func<HttpRequestMessage> build, string operation, bool isWrite, bool canRetry,
        CancellationToken cancellationToken, Func<Action<TimeSpan>, HttpContent>? content = null) =>
        (canRetry ? streamingRetry : ResiliencePipeline.Empty).ExecuteAsync(
            token => StreamingAttemptAsync(build, operation, isWrite, content, token), cancellationToken).AsTask();

    /// <summary>One streaming attempt; transient failures throw <see cref="BackendUnavailableException"/>.</summary>
    private async ValueTask<HttpResponseMessage> StreamingAttemptAsync(Func<HttpRequestMessage> build, string operation, bool isWrite,
        Func<Action<TimeSpan>, HttpContent>? content, CancellationToken cancellationToken)
    {
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
            throw new BackendUnavailableException($"S3 {operation}: no progress within the timeout");
        }
        catch (Exception ex) when ((ex as InvalidDataException ?? FindInner<InvalidDataException>(ex)) is { } shortBody)
        {
            Report(operation, isWrite, started, "ShortBody");
            throw new BackendValidationException("contentLength", $"must match the body: {shortBody.Message}");
        }
        catch (HttpRequestException ex)
        {
            Report(operation, isWrite, started, "ConnectionError");
            throw new BackendUnavailableException($"S3 {operation}: {ex.Message}", ex);
        }

        var status = (int)response.StatusCode;
        if (status >= 500 || status == 429)
        {
            Report(operation, isWrite, started, status.ToString(CultureInfo.InvariantCulture));
            using (response)
            {
                throw await FailAsync(response, operation, string.Empty, timeout.Token);
            }
        }

        Report(operation, isWrite, started, status >= 400 && status != 404 && status != 416 ? StatusName(status) : null);
        return response;
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
