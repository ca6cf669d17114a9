using System.Globalization;
using System.Text;
using System.Text.Json;
using WorkspaceStorage.Core.Signing;
using WorkspaceStorage.Storage.Backends;
using WorkspaceStorage.Storage.Http;

namespace WorkspaceStorage.Storage.Minio;

/// <summary>
/// The MinIO admin API (/minio/admin/v3) as served by MinIO, AIStor, pgsty/silo and RustFS: users, canned policies,
/// policy mappings, groups and service accounts. Requests are SigV4-signed (service "s3") with the admin key and sent
/// through <see cref="SignedHttpSender"/> (timeouts, retries, call observer). Payloads that carry secrets travel
/// encrypted with <see cref="MinioPayloadCipher"/>, keyed with the admin secret.
/// </summary>
/// <remarks>
/// Lookups return null for "does not exist" so callers can read before they write; removals return false when the
/// thing was already gone. Other refusals raise <see cref="MinioAdminException"/> (401/403: <see cref="BackendAuthenticationException"/>).
/// One file per admin area, as madmin-go keeps them: this one signs, sends, decrypts and reads errors;
/// MinioAdminClient.Users.cs, .Policies.cs (canned policies and their mappings), .Groups.cs, .ServiceAccounts.cs and
/// .ServerInfo.cs (server info and the liveness probe) hold the operations.
/// </remarks>
public sealed partial class MinioAdminClient
{
    public const string BackendType = "minio";
    public const string AdminPathPrefix = "/minio/admin/v3/";
    public const string LivenessPath = "/minio/health/live";
    private const string OctetStream = "application/octet-stream";

    private readonly HttpClient http;
    private readonly MinioAdminOptions options;
    private readonly IBackendCallObserver observer;
    private readonly SignedHttpSender sender;
    private readonly SigV4Scope scope;
    private readonly string baseUrl;

    public MinioAdminClient(HttpClient http, MinioAdminOptions options, IBackendCallObserver? observer = null,
        TimeProvider? time = null, SigV4Signer? signer = null)
    {
        ArgumentNullException.ThrowIfNull(http);
        ArgumentNullException.ThrowIfNull(options);
        options.Retry.Validate();
        if (!options.Endpoint.IsAbsoluteUri || options.Endpoint.Scheme is not ("http" or "https"))
        {
            throw new ArgumentException("endpoint must be an absolute http or https URL", nameof(options));
        }

        if (options.Endpoint.UserInfo.Length > 0)
        {
            // It would end up in health details and error messages; the admin key belongs in AdminCredentials.
            throw new ArgumentException("endpoint must not carry user information; pass the admin key as AdminCredentials", nameof(options));
        }

        this.http = http;
        this.options = options;
        this.observer = observer ?? NullBackendCallObserver.Instance;
        sender = new SignedHttpSender(http, signer ?? new SigV4Signer(), options.Retry, this.observer, BackendType, time);
        scope = new SigV4Scope(options.Region, "s3");
        baseUrl = options.Endpoint.GetLeftPart(UriPartial.Authority);
    }

    public Uri Endpoint => options.Endpoint;

    // Plumbing shared by every area.

    private Task<SignedResponse> SendAsync(HttpMethod method, string command, IReadOnlyList<KeyValuePair<string, string>> query, byte[]? body,
        bool isWrite, CancellationToken cancellationToken, AwsCredentials? credentials = null, string? operation = null)
    {
        var url = new StringBuilder(baseUrl).Append(AdminPathPrefix).Append(command);
        for (var i = 0; i < query.Count; i++)
        {
            url.Append(i == 0 ? '?' : '&').Append(AwsUriEncoding.Escape(query[i].Key)).Append('=').Append(AwsUriEncoding.Escape(query[i].Value));
        }

        // An empty body still goes out so that Content-Type is always present (idp/builtin/* refuse requests without it).
        var request = new SignedRequest(method, url.ToString(), credentials ?? options.AdminCredentials, scope, operation ?? command, isWrite,
            body ?? [], OctetStream);
        return sender.SendAsync(request, cancellationToken);
    }

    private byte[] Encrypt(byte[] plaintext)
    {
        try
        {
            return MinioPayloadCipher.Encrypt(options.AdminCredentials.SecretAccessKey, plaintext);
        }
        finally
        {
            Array.Clear(plaintext);
        }
    }

    private byte[] Decrypt(byte[] ciphertext) => MinioPayloadCipher.Decrypt(options.AdminCredentials.SecretAccessKey, ciphertext);

    private static void EnsureSuccess(string operation, SignedResponse response)
    {
        if (!response.IsSuccess)
        {
            throw Failure(operation, response);
        }
    }

    private static bool IsAbsent(string operation, SignedResponse response)
    {
        if (response.IsSuccess)
        {
            return false;
        }

        var failure = Failure(operation, response);
        return failure is MinioAdminException { IsNotFound: true } ? true : throw failure;
    }

    private static bool SucceededOrAbsent(string operation, SignedResponse response) => !IsAbsent(operation, response);

    private static StorageBackendException Failure(string operation, SignedResponse response)
    {
        var code = BackendErrorCode.TryRead(response.Body);
        if (response.StatusCode is 401 or 403 && code is not MinioAdminException.PolicyInUse)
        {
            return new BackendAuthenticationException($"minio {operation}: the admin credentials were refused ({code ?? response.StatusCode.ToString(CultureInfo.InvariantCulture)})")
            {
                StatusCode = response.StatusCode,
                ErrorCode = code,
            };
        }

        return new MinioAdminException(operation, response.StatusCode, code);
    }

    private static JsonDocument Parse(string operation, byte[] body)
    {
        try
        {
            return JsonDocument.Parse(body.Length == 0 ? "{}"u8.ToArray() : body);
        }
        catch (JsonException)
        {
            throw new StorageBackendException($"minio {operation}: the answer is not JSON ({body.Length} bytes)", isTransient: false);
        }
    }

    private static byte[] Json(Action<Utf8JsonWriter> write)
    {
        using var buffer = new MemoryStream();
        using (var writer = new Utf8JsonWriter(buffer))
        {
            writer.WriteStartObject();
            write(writer);
            writer.WriteEndObject();
        }

        return buffer.ToArray();
    }

    private static void WriteIfSet(Utf8JsonWriter writer, string name, string? value)
    {
        if (value is not null)
        {
            writer.WriteString(name, value);
        }
    }

    private static string Rfc3339(DateTimeOffset time) => time.UtcDateTime.ToString("yyyy-MM-dd'T'HH:mm:ss'Z'", CultureInfo.InvariantCulture);
}
