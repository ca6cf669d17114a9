using System.Collections.Concurrent;
using System.Globalization;
using System.Security.Cryptography;
using System.Text;

namespace WorkspaceStorage.Core.Signing;

/// <summary>
/// AWS Signature Version 4, the one implementation every part of the project uses: S3 data calls,
/// presigned URLs, the MinIO admin API, RGW Admin Ops, IAM and STS. S3 style: the path is signed as sent,
/// never normalised or escaped twice.
/// </summary>
public sealed class SigV4Signer
{
    public const string Algorithm = "AWS4-HMAC-SHA256";
    public const string UnsignedPayload = "UNSIGNED-PAYLOAD";
    public const string EmptyPayloadHash = "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855";
    public const string DateFormat = "yyyyMMdd'T'HHmmss'Z'";

    /// <summary>Longest validity SigV4 allows for a presigned URL.</summary>
    public static readonly TimeSpan MaxPresignExpiry = TimeSpan.FromDays(7);

    // The derived key changes once a day per (secret, region, service); deriving it is four HMACs,
    // so caching it makes presigning several times cheaper.
    private readonly ConcurrentDictionary<SigningKeyId, byte[]> signingKeys = new();

    /// <summary>Computes the Authorization header value. <paramref name="request"/> must already carry every header to sign (host, x-amz-date …).</summary>
    public string ComputeAuthorization(SigV4Request request, AwsCredentials credentials, SigV4Scope scope, DateTimeOffset time)
    {
        var (canonicalHeaders, signedHeaders) = CanonicalHeaders(request.Headers);
        var canonicalRequest = CanonicalRequest(request.Method, request.CanonicalPath, CanonicalQuery(request.Query), canonicalHeaders, signedHeaders, request.PayloadHash);
        var signature = Sign(canonicalRequest, credentials.SecretAccessKey, scope, time);
        return string.Create(CultureInfo.InvariantCulture,
            $"{Algorithm} Credential={credentials.AccessKeyId}/{CredentialScope(scope, time)}, SignedHeaders={signedHeaders}, Signature={signature}");
    }

    /// <summary>
    /// Builds a presigned URL (query-string authentication) that signs only the host header, as S3 clients do.
    /// </summary>
    /// <param name="baseUrl">scheme://host[:port], no trailing slash.</param>
    /// <param name="canonicalPath">The escaped path, e.g. "/bucket/ws-a/file%20name.txt".</param>
    /// <param name="extraQuery">Additional unescaped query parameters (partNumber, uploadId …).</param>
    public string Presign(string method, string baseUrl, string host, string canonicalPath, AwsCredentials credentials, SigV4Scope scope,
        DateTimeOffset time, TimeSpan expires, IReadOnlyList<KeyValuePair<string, string>>? extraQuery = null)
    {
        if (expires <= TimeSpan.Zero || expires > MaxPresignExpiry)
        {
            throw new ArgumentOutOfRangeException(nameof(expires), expires, "a presigned URL must expire within 1 s to 7 days");
        }

        var query = new List<KeyValuePair<string, string>>((extraQuery?.Count ?? 0) + 7)
        {
            new("X-Amz-Algorithm", Algorithm),
            new("X-Amz-Credential", $"{credentials.AccessKeyId}/{CredentialScope(scope, time)}"),
            new("X-Amz-Date", time.UtcDateTime.ToString(DateFormat, CultureInfo.InvariantCulture)),
            new("X-Amz-Expires", ((long)expires.TotalSeconds).ToString(CultureInfo.InvariantCulture)),
            new("X-Amz-SignedHeaders", "host"),
        };
        if (credentials.SessionToken is not null)
        {
            query.Add(new("X-Amz-Security-Token", credentials.SessionToken));
        }

        if (extraQuery is not null)
        {
            query.AddRange(extraQuery);
        }

        var canonicalQuery = CanonicalQuery(query);
        var canonicalRequest = CanonicalRequest(method, canonicalPath, canonicalQuery, $"host:{host}\n", "host", UnsignedPayload);
        var signature = Sign(canonicalRequest, credentials.SecretAccessKey, scope, time);
        return string.Concat(baseUrl, canonicalPath, "?", canonicalQuery, "&X-Amz-Signature=", signature);
    }

    /// <summary>Lower-case hex SHA-256, as x-amz-content-sha256 wants it.</summary>
    public static string HashHex(ReadOnlySpan<byte> payload) => Convert.ToHexStringLower(SHA256.HashData(payload));

    public static string CredentialScope(SigV4Scope scope, DateTimeOffset time) =>
        string.Concat(time.UtcDateTime.ToString("yyyyMMdd", CultureInfo.InvariantCulture), "/", scope.Region, "/", scope.Service, "/aws4_request");

    internal static string CanonicalQuery(IReadOnlyList<KeyValuePair<string, string>> query)
    {
        if (query.Count == 0)
        {
            return string.Empty;
        }

        var escaped = new KeyValuePair<string, string>[query.Count];
        for (var i = 0; i < query.Count; i++)
        {
            escaped[i] = new(AwsUriEncoding.Escape(query[i].Key), AwsUriEncoding.Escape(query[i].Value));
        }

        Array.Sort(escaped, static (a, b) =>
        {
            var byKey = string.CompareOrdinal(a.Key, b.Key);
            return byKey != 0 ? byKey : string.CompareOrdinal(a.Value, b.Value);
        });
        return string.Join('&', escaped.Select(static p => string.Concat(p.Key, "=", p.Value)));
    }

    internal static (string Canonical, string Signed) CanonicalHeaders(IReadOnlyList<KeyValuePair<string, string>> headers)
    {
        var grouped = new SortedDictionary<string, List<string>>(StringComparer.Ordinal);
        foreach (var (name, value) in headers)
        {
            var key = name.ToLowerInvariant();
            if (!grouped.TryGetValue(key, out var values))
            {
                grouped[key] = values = [];
            }

            values.Add(CollapseSpaces(value));
        }

        var canonical = new StringBuilder();
        foreach (var (name, values) in grouped)
        {
            canonical.Append(name).Append(':').AppendJoin(',', values).Append('\n');
        }

        return (canonical.ToString(), string.Join(';', grouped.Keys));
    }

    private static string CollapseSpaces(string value)
    {
        var trimmed = value.Trim();
        if (!trimmed.Contains("  ", StringComparison.Ordinal))
        {
            return trimmed;
        }

        var builder = new StringBuilder(trimmed.Length);
        var lastWasSpace = false;
        foreach (var c in trimmed)
        {
            if (c == ' ' && lastWasSpace)
            {
                continue;
            }

            builder.Append(c);
            lastWasSpace = c == ' ';
        }

        return builder.ToString();
    }

    private static string CanonicalRequest(string method, string path, string query, string canonicalHeaders, string signedHeaders, string payloadHash) =>
        string.Concat(method, "\n", path.Length == 0 ? "/" : path, "\n", query, "\n", canonicalHeaders, "\n", signedHeaders, "\n", payloadHash);

    private string Sign(string canonicalRequest, string secretKey, SigV4Scope scope, DateTimeOffset time)
    {
        var amzDate = time.UtcDateTime.ToString(DateFormat, CultureInfo.InvariantCulture);
        var stringToSign = string.Concat(Algorithm, "\n", amzDate, "\n", CredentialScope(scope, time), "\n",
            HashHex(Encoding.UTF8.GetBytes(canonicalRequest)));
        var key = SigningKey(secretKey, scope, amzDate[..8]);
        return Convert.ToHexStringLower(HMACSHA256.HashData(key, Encoding.UTF8.GetBytes(stringToSign)));
    }

    private byte[] SigningKey(string secretKey, SigV4Scope scope, string date)
    {
        var id = new SigningKeyId(secretKey, date, scope.Region, scope.Service);
        if (signingKeys.TryGetValue(id, out var cached))
        {
            return cached;
        }

        if (signingKeys.Count > 4096)
        {
            signingKeys.Clear(); // yesterday's keys: cheap to derive again, never worth growing without bound
        }

        var kDate = HMACSHA256.HashData(Encoding.UTF8.GetBytes("AWS4" + secretKey), Encoding.UTF8.GetBytes(date));
        var kRegion = HMACSHA256.HashData(kDate, Encoding.UTF8.GetBytes(scope.Region));
        var kService = HMACSHA256.HashData(kRegion, Encoding.UTF8.GetBytes(scope.Service));
        var kSigning = HMACSHA256.HashData(kService, "aws4_request"u8);
        signingKeys[id] = kSigning;
        return kSigning;
    }

    private sealed record SigningKeyId(string Secret, string Date, string Region, string Service)
    {
        public override string ToString() => $"SigningKeyId {{ Date = {Date}, Region = {Region}, Service = {Service} }}";
    }
}
