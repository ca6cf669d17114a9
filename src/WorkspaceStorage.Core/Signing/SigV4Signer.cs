using System.Buffers;
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
    /// <remarks>
    /// The API presigns on every file request, so this path avoids LINQ, sorts a handful of pairs in place and
    /// hashes in stack buffers: the URL itself, the escaped query and a small pair array are its only allocations.
    /// </remarks>
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

        var utc = time.UtcDateTime;
        var amzDate = FormatAmzDate(utc);
        var credentialScope = string.Concat([amzDate[..8], "/", scope.Region, "/", scope.Service, "/aws4_request"]);
        var extraCount = extraQuery?.Count ?? 0;
        var query = new KeyValuePair<string, string>[5 + (credentials.SessionToken is null ? 0 : 1) + extraCount];
        query[0] = new("X-Amz-Algorithm", Algorithm);
        query[1] = new("X-Amz-Credential", AwsUriEncoding.Escape(string.Concat(credentials.AccessKeyId, "/", credentialScope)));
        query[2] = new("X-Amz-Date", amzDate);
        query[3] = new("X-Amz-Expires", ((long)expires.TotalSeconds).ToString(CultureInfo.InvariantCulture));
        query[4] = new("X-Amz-SignedHeaders", "host");
        var next = 5;
        if (credentials.SessionToken is not null)
        {
            query[next++] = new("X-Amz-Security-Token", AwsUriEncoding.Escape(credentials.SessionToken));
        }

        for (var i = 0; i < extraCount; i++)
        {
            var pair = extraQuery![i];
            query[next++] = new(AwsUriEncoding.Escape(pair.Key), AwsUriEncoding.Escape(pair.Value));
        }

        var canonicalQuery = JoinSorted(query);
        Span<char> signature = stackalloc char[64];
        var path = canonicalPath.Length == 0 ? "/" : canonicalPath;
        var buffer = ArrayPool<byte>.Shared.Rent(Encoding.UTF8.GetMaxByteCount(
            method.Length + path.Length + canonicalQuery.Length + host.Length + UnsignedPayload.Length + 16));
        try
        {
            // The canonical request goes straight into bytes: it is only ever hashed.
            var at = Encoding.UTF8.GetBytes(method, buffer);
            buffer[at++] = (byte)'\n';
            at += Encoding.UTF8.GetBytes(path, buffer.AsSpan(at));
            buffer[at++] = (byte)'\n';
            at += Encoding.UTF8.GetBytes(canonicalQuery, buffer.AsSpan(at));
            "\nhost:"u8.CopyTo(buffer.AsSpan(at));
            at += 6;
            at += Encoding.UTF8.GetBytes(host, buffer.AsSpan(at));
            "\n\nhost\n"u8.CopyTo(buffer.AsSpan(at));
            at += 7;
            at += Encoding.UTF8.GetBytes(UnsignedPayload, buffer.AsSpan(at));
            Sign(buffer.AsSpan(0, at), credentials.SecretAccessKey, scope, utc, amzDate, credentialScope, signature);
        }
        finally
        {
            ArrayPool<byte>.Shared.Return(buffer);
        }

        return string.Concat([baseUrl, canonicalPath, "?", canonicalQuery, "&X-Amz-Signature=", new string(signature)]);
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

        return JoinSorted(escaped);
    }

    /// <summary>Sorts escaped pairs by key then value (ordinal, as SigV4 wants) and joins them as k=v&amp;k=v.</summary>
    private static string JoinSorted(KeyValuePair<string, string>[] pairs)
    {
        // Insertion sort: queries hold a handful of pairs, and this needs no comparer allocation.
        for (var i = 1; i < pairs.Length; i++)
        {
            var current = pairs[i];
            var j = i - 1;
            while (j >= 0 && ComparePairs(pairs[j], current) > 0)
            {
                pairs[j + 1] = pairs[j];
                j--;
            }

            pairs[j + 1] = current;
        }

        var length = pairs.Length - 1;
        foreach (var (key, value) in pairs)
        {
            length += key.Length + 1 + value.Length;
        }

        return string.Create(length, pairs, static (span, items) =>
        {
            var at = 0;
            for (var i = 0; i < items.Length; i++)
            {
                if (i > 0)
                {
                    span[at++] = '&';
                }

                items[i].Key.AsSpan().CopyTo(span[at..]);
                at += items[i].Key.Length;
                span[at++] = '=';
                items[i].Value.AsSpan().CopyTo(span[at..]);
                at += items[i].Value.Length;
            }
        });
    }

    private static int ComparePairs(KeyValuePair<string, string> a, KeyValuePair<string, string> b)
    {
        var byKey = string.CompareOrdinal(a.Key, b.Key);
        return byKey != 0 ? byKey : string.CompareOrdinal(a.Value, b.Value);
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
        var utc = time.UtcDateTime;
        Span<char> signature = stackalloc char[64];
        var requestBytes = ArrayPool<byte>.Shared.Rent(Encoding.UTF8.GetMaxByteCount(canonicalRequest.Length));
        try
        {
            var written = Encoding.UTF8.GetBytes(canonicalRequest, requestBytes);
            Sign(requestBytes.AsSpan(0, written), secretKey, scope, utc, FormatAmzDate(utc), CredentialScope(scope, time), signature);
        }
        finally
        {
            ArrayPool<byte>.Shared.Return(requestBytes);
        }

        return new string(signature);
    }

    /// <summary>Writes the 64 hex characters of the signature; hashing works in stack or pooled buffers.</summary>
    private void Sign(ReadOnlySpan<byte> canonicalRequest, string secretKey, SigV4Scope scope, DateTime utc, string amzDate, string credentialScope,
        Span<char> signature)
    {
        Span<byte> hash = stackalloc byte[32];
        SHA256.HashData(canonicalRequest, hash);

        Span<char> hashHex = stackalloc char[64];
        Convert.TryToHexStringLower(hash, hashHex, out _);
        var stringToSign = ArrayPool<byte>.Shared.Rent(Algorithm.Length + amzDate.Length + Encoding.UTF8.GetMaxByteCount(credentialScope.Length) + 70);
        try
        {
            var at = Encoding.UTF8.GetBytes(Algorithm, stringToSign);
            stringToSign[at++] = (byte)'\n';
            at += Encoding.UTF8.GetBytes(amzDate, stringToSign.AsSpan(at));
            stringToSign[at++] = (byte)'\n';
            at += Encoding.UTF8.GetBytes(credentialScope, stringToSign.AsSpan(at));
            stringToSign[at++] = (byte)'\n';
            at += Encoding.UTF8.GetBytes(hashHex, stringToSign.AsSpan(at));
            HMACSHA256.HashData(SigningKey(secretKey, scope, utc), stringToSign.AsSpan(0, at), hash);
        }
        finally
        {
            ArrayPool<byte>.Shared.Return(stringToSign);
        }

        Convert.TryToHexStringLower(hash, signature, out _);
    }

    /// <summary>yyyyMMdd'T'HHmmss'Z' without the cost of a custom DateTime format string.</summary>
    private static string FormatAmzDate(DateTime utc) => string.Create(16, utc, static (span, t) =>
    {
        Digits(span, t.Year, 4);
        Digits(span[4..], t.Month, 2);
        Digits(span[6..], t.Day, 2);
        span[8] = 'T';
        Digits(span[9..], t.Hour, 2);
        Digits(span[11..], t.Minute, 2);
        Digits(span[13..], t.Second, 2);
        span[15] = 'Z';
    });

    private static void Digits(Span<char> span, int value, int count)
    {
        for (var i = count - 1; i >= 0; i--)
        {
            span[i] = (char)('0' + value % 10);
            value /= 10;
        }
    }

    private byte[] SigningKey(string secretKey, SigV4Scope scope, DateTime utc)
    {
        var id = new SigningKeyId(secretKey, utc.Year * 10000 + utc.Month * 100 + utc.Day, scope.Region, scope.Service);
        if (signingKeys.TryGetValue(id, out var cached))
        {
            return cached;
        }

        if (signingKeys.Count > 4096)
        {
            signingKeys.Clear(); // yesterday's keys: cheap to derive again, never worth growing without bound
        }

        var date = utc.ToString("yyyyMMdd", CultureInfo.InvariantCulture);
        var kDate = HMACSHA256.HashData(Encoding.UTF8.GetBytes("AWS4" + secretKey), Encoding.UTF8.GetBytes(date));
        var kRegion = HMACSHA256.HashData(kDate, Encoding.UTF8.GetBytes(scope.Region));
        var kService = HMACSHA256.HashData(kRegion, Encoding.UTF8.GetBytes(scope.Service));
        var kSigning = HMACSHA256.HashData(kService, "aws4_request"u8);
        signingKeys[id] = kSigning;
        return kSigning;
    }

    /// <summary>A struct key: looking a signing key up allocates nothing. ToString leaves the secret out.</summary>
    private readonly record struct SigningKeyId(string Secret, int Date, string Region, string Service)
    {
        public override string ToString() => $"SigningKeyId {{ Date = {Date}, Region = {Region}, Service = {Service} }}";
    }
}
