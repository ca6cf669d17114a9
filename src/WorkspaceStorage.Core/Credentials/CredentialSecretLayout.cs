using System.Security.Cryptography;
using System.Text;
using System.Text.Json;
using System.Text.Json.Serialization;
using WorkspaceStorage.Core.Model;
using WorkspaceStorage.Core.Signing;
using WorkspaceStorage.Core.Workspaces;

namespace WorkspaceStorage.Core.Credentials;

/// <summary>Path-style (<c>http://host/bucket/key</c>) or virtual-hosted (<c>http://bucket.host/key</c>) addressing.</summary>
public enum AddressingStyle
{
    Path,
    Virtual,
}

/// <summary>Everything the credential Secret says. <see cref="ToString"/> never prints the secret key.</summary>
/// <param name="PublicEndpoint">The S3 URL consumers use, e.g. <c>http://127.0.0.1:7480</c> (a trailing '/' is dropped).</param>
public sealed record CredentialSecretContent(
    string PublicEndpoint,
    string Region,
    string Bucket,
    WorkspaceId Workspace,
    AwsCredentials Credentials,
    IReadOnlySet<SecretKeySet> KeySets,
    AddressingStyle AddressingStyle);

/// <summary>
/// The data of a workspace's credential Secret, in the formats consumers already read, and the reverse: reading the
/// current key back. Pure: builds bytes, touches nothing.
/// </summary>
public static class CredentialSecretLayout
{
    // aws: the AWS SDKs' environment names, so `envFrom` works in any language.
    public const string AwsAccessKeyId = "AWS_ACCESS_KEY_ID";
    public const string AwsSecretAccessKey = "AWS_SECRET_ACCESS_KEY";
    public const string AwsEndpointUrl = "AWS_ENDPOINT_URL";
    public const string AwsRegion = "AWS_REGION";
    public const string AwsDefaultRegion = "AWS_DEFAULT_REGION";

    // s3: where the workspace lives.
    public const string S3Bucket = "S3_BUCKET";
    public const string S3Prefix = "S3_PREFIX";
    public const string S3Endpoint = "S3_ENDPOINT";
    public const string S3AddressingStyle = "S3_ADDRESSING_STYLE";

    // cosi: COSI v1alpha2 flat keys.
    public const string CosiEndpoint = "COSI_S3_ENDPOINT";
    public const string CosiBucketId = "COSI_S3_BUCKET_ID";
    public const string CosiRegion = "COSI_S3_REGION";
    public const string CosiAccessKeyId = "COSI_S3_ACCESS_KEY_ID";
    public const string CosiAccessSecretKey = "COSI_S3_ACCESS_SECRET_KEY";
    public const string CosiAddressingStyle = "COSI_S3_ADDRESSING_STYLE";

    // hypha: the JSON generate_credential returns.
    public const string HyphaCredentialJson = "credential.json";


    /// <summary>The Secret data for <paramref name="content"/>, keyed in ordinal order.</summary>
    public static SortedDictionary<string, byte[]> Build(CredentialSecretContent content)
    {
        ArgumentNullException.ThrowIfNull(content);
        ArgumentException.ThrowIfNullOrEmpty(content.Region);
        ArgumentException.ThrowIfNullOrEmpty(content.Bucket);
        ArgumentException.ThrowIfNullOrEmpty(content.Credentials.AccessKeyId);
        ArgumentException.ThrowIfNullOrEmpty(content.Credentials.SecretAccessKey);
        if (content.Credentials.SessionToken is not null)
        {
            throw new ArgumentException("the credential Secret holds long-lived keys, not session credentials", nameof(content));
        }

        if (content.KeySets.Count == 0)
        {
            throw new ArgumentException("at least one key set is needed", nameof(content));
        }

        var endpoint = content.PublicEndpoint.TrimEnd('/');
        ArgumentException.ThrowIfNullOrEmpty(endpoint, nameof(content));
        var prefix = content.Workspace.Prefix;
        var accessKey = content.Credentials.AccessKeyId;
        var secretKey = content.Credentials.SecretAccessKey;
        var data = new SortedDictionary<string, byte[]>(StringComparer.Ordinal);

        if (content.KeySets.Contains(SecretKeySet.Aws))
        {
            Put(data, AwsAccessKeyId, accessKey);
            Put(data, AwsSecretAccessKey, secretKey);
            Put(data, AwsEndpointUrl, endpoint);
            Put(data, AwsRegion, content.Region);
            Put(data, AwsDefaultRegion, content.Region);
        }

        if (content.KeySets.Contains(SecretKeySet.S3))
        {
            Put(data, S3Bucket, content.Bucket);
            Put(data, S3Prefix, prefix);
            Put(data, S3Endpoint, endpoint);
            Put(data, S3AddressingStyle, content.AddressingStyle == AddressingStyle.Path ? "path" : "virtual");
        }

        if (content.KeySets.Contains(SecretKeySet.Cosi))
        {
            Put(data, CosiEndpoint, endpoint);
            Put(data, CosiBucketId, content.Bucket);
            Put(data, CosiRegion, content.Region);
            Put(data, CosiAccessKeyId, accessKey);
            Put(data, CosiAccessSecretKey, secretKey);
            Put(data, CosiAddressingStyle, content.AddressingStyle == AddressingStyle.Path ? "Path" : "Virtual");
        }

        if (content.KeySets.Contains(SecretKeySet.Hypha))
        {
            var json = new HyphaCredential(endpoint, accessKey, secretKey, content.Region, content.Bucket, prefix);
            data[HyphaCredentialJson] = JsonSerializer.SerializeToUtf8Bytes(json, HyphaCredentialJsonContext.Default.HyphaCredential);
        }

        return data;
    }

    /// <summary>
    /// The key pair the Secret currently holds, from whichever key set is present (aws, then cosi, then hypha), or null
    /// when there is none or the sets disagree (a hand-edited Secret: the operator then writes a fresh one).
    /// </summary>
    public static AwsCredentials? ReadCredentials(IDictionary<string, byte[]>? data)
    {
        if (data is null)
        {
            return null;
        }

        var found = new List<AwsCredentials>();
        if (ReadPair(data, AwsAccessKeyId, AwsSecretAccessKey) is { } aws)
        {
            found.Add(aws);
        }

        if (ReadPair(data, CosiAccessKeyId, CosiAccessSecretKey) is { } cosi)
        {
            found.Add(cosi);
        }

        if (data.TryGetValue(HyphaCredentialJson, out var json) && ReadHypha(json) is { } hypha)
        {
            found.Add(hypha);
        }

        return found.Count > 0 && found.TrueForAll(c => c == found[0]) ? found[0] : null;
    }

    /// <summary>A user-provided key pair (bring your own keys) under the keys the user named; null when either is missing or empty.</summary>
    public static AwsCredentials? ReadCredentials(IDictionary<string, byte[]>? data, string accessKeyIdKey, string secretAccessKeyKey) =>
        data is null ? null : ReadPair(data, accessKeyIdKey, secretAccessKeyKey);

    /// <summary>
    /// SHA-256 over the data (keys in ordinal order, each key and value length-prefixed), lower-case hex. Stored in the
    /// Secret's content-hash annotation; compare with <see cref="SameContent"/> or this before writing.
    /// </summary>
    public static string ContentHash(IEnumerable<KeyValuePair<string, byte[]>> data)
    {
        ArgumentNullException.ThrowIfNull(data);
        using var hash = IncrementalHash.CreateHash(HashAlgorithmName.SHA256);
        Span<byte> length = stackalloc byte[4];
        foreach (var (key, value) in data.OrderBy(p => p.Key, StringComparer.Ordinal))
        {
            var keyBytes = Encoding.UTF8.GetBytes(key);
            System.Buffers.Binary.BinaryPrimitives.WriteInt32BigEndian(length, keyBytes.Length);
            hash.AppendData(length);
            hash.AppendData(keyBytes);
            var bytes = value ?? [];
            System.Buffers.Binary.BinaryPrimitives.WriteInt32BigEndian(length, bytes.Length);
            hash.AppendData(length);
            hash.AppendData(bytes);
        }

        return Convert.ToHexStringLower(hash.GetHashAndReset());
    }

    /// <summary>True when both hold exactly the same keys and bytes: the Secret needs no write.</summary>
    public static bool SameContent(IDictionary<string, byte[]>? current, IDictionary<string, byte[]> desired)
    {
        ArgumentNullException.ThrowIfNull(desired);
        if (current is null || current.Count != desired.Count)
        {
            return false;
        }

        foreach (var (key, value) in desired)
        {
            if (!current.TryGetValue(key, out var existing) || !(existing ?? []).AsSpan().SequenceEqual(value ?? []))
            {
                return false;
            }
        }

        return true;
    }

    private static void Put(SortedDictionary<string, byte[]> data, string key, string value) => data[key] = Encoding.UTF8.GetBytes(value);

    private static AwsCredentials? ReadPair(IDictionary<string, byte[]> data, string accessKeyIdKey, string secretAccessKeyKey)
    {
        if (!data.TryGetValue(accessKeyIdKey, out var id) || !data.TryGetValue(secretAccessKeyKey, out var secret))
        {
            return null;
        }

        var idText = Encoding.UTF8.GetString(id ?? []).Trim();
        var secretText = Encoding.UTF8.GetString(secret ?? []).Trim();
        return idText.Length > 0 && secretText.Length > 0 ? new AwsCredentials(idText, secretText) : null;
    }

    private static AwsCredentials? ReadHypha(byte[]? json)
    {
        try
        {
            var credential = JsonSerializer.Deserialize(json ?? [], HyphaCredentialJsonContext.Default.HyphaCredential);
            return credential is { AccessKeyId.Length: > 0, SecretAccessKey.Length: > 0 }
                ? new AwsCredentials(credential.AccessKeyId, credential.SecretAccessKey)
                : null;
        }
        catch (JsonException)
        {
            // Never echo the content: it holds the secret key.
            return null;
        }
    }

    /// <summary>Hypha's generate_credential result, field for field.</summary>
    internal sealed record HyphaCredential(
        [property: JsonPropertyName("endpoint_url")] string EndpointUrl,
        [property: JsonPropertyName("access_key_id")] string AccessKeyId,
        [property: JsonPropertyName("secret_access_key")] string SecretAccessKey,
        [property: JsonPropertyName("region_name")] string RegionName,
        [property: JsonPropertyName("bucket")] string Bucket,
        [property: JsonPropertyName("prefix")] string Prefix)
    {
        public override string ToString() => $"HyphaCredential {{ AccessKeyId = {AccessKeyId}, SecretAccessKey = *** }}";
    }
}

/// <summary>Source-generated JSON for <c>credential.json</c> (default options: the bytes stay what they were).</summary>
[JsonSerializable(typeof(CredentialSecretLayout.HyphaCredential))]
internal sealed partial class HyphaCredentialJsonContext : JsonSerializerContext;
