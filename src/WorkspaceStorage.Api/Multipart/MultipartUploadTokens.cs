using System.Security.Cryptography;
using System.Text;
using System.Text.Json;
using System.Text.Json.Serialization;
using Microsoft.Extensions.Options;
using WorkspaceStorage.Api.Auth;
using WorkspaceStorage.Api.Workspaces;
using WorkspaceStorage.Core.Workspaces;

namespace WorkspaceStorage.Api.Multipart;

/// <summary>What an upload token says: which workspace started the upload, for which key, and S3's upload id.</summary>
public sealed record MultipartUploadTicket(string Workspace, string Key, string UploadId);

/// <summary>
/// The <c>upload_id</c> handed to clients is S3's upload id wrapped with the workspace and key and an HMAC, so
/// completion needs no server-side state (it survives restarts and works across replicas) and an upload started
/// in one workspace can never be completed from another: the workspace is part of what is signed.
/// </summary>
public sealed class MultipartUploadTokens
{
    private const string Version = "u1";
    private readonly byte[] key;

    public MultipartUploadTokens(IOptions<StorageOptions> storage, IOptions<HyphaAuthOptions> hypha)
    {
        var configured = storage.Value.UploadTokenKey;
        var material = !string.IsNullOrEmpty(configured)
            ? Encoding.UTF8.GetBytes(configured)
            : Encoding.UTF8.GetBytes(hypha.Value.JwtSecret ?? throw new InvalidOperationException("Hypha:JwtSecret is required"));
        // A key of its own, so an upload token can never pass as anything signed with the JWT secret (and vice versa).
        key = HKDF.DeriveKey(HashAlgorithmName.SHA256, material, 32, salt: [], info: Encoding.UTF8.GetBytes("wso multipart upload token v1"));
    }

    public MultipartUploadTokens(byte[] key) => this.key = key;

    public string Issue(WorkspaceId workspace, string objectKey, string uploadId)
    {
        var payload = JsonSerializer.SerializeToUtf8Bytes(new Payload(workspace.Value, objectKey, uploadId), UploadTokenJsonContext.Default.Payload);
        var body = Base64Url(payload);
        return string.Concat(Version, ".", body, ".", Base64Url(Sign(body)));
    }

    /// <summary>The ticket, or null when the token is malformed, forged, or was issued for another workspace.</summary>
    public MultipartUploadTicket? Open(WorkspaceId workspace, string? token)
    {
        if (string.IsNullOrEmpty(token) || token.Length > 8192)
        {
            return null;
        }

        var parts = token.Split('.');
        if (parts.Length != 3 || parts[0] != Version)
        {
            return null;
        }

        byte[] signature, payload;
        try
        {
            signature = FromBase64Url(parts[2]);
            payload = FromBase64Url(parts[1]);
        }
        catch (FormatException)
        {
            return null;
        }

        if (!CryptographicOperations.FixedTimeEquals(signature, Sign(parts[1])))
        {
            return null;
        }

        var decoded = JsonSerializer.Deserialize(payload, UploadTokenJsonContext.Default.Payload);
        if (decoded is null || decoded.W != workspace.Value || !decoded.K.StartsWith(workspace.Prefix, StringComparison.Ordinal))
        {
            return null;
        }

        return new MultipartUploadTicket(decoded.W, decoded.K, decoded.U);
    }

    private byte[] Sign(string body) => HMACSHA256.HashData(key, Encoding.ASCII.GetBytes(Version + "." + body));

    private static string Base64Url(byte[] bytes) => Convert.ToBase64String(bytes).TrimEnd('=').Replace('+', '-').Replace('/', '_');

    private static byte[] FromBase64Url(string text)
    {
        var padded = text.Replace('-', '+').Replace('_', '/');
        padded += (padded.Length % 4) switch { 2 => "==", 3 => "=", 0 => string.Empty, _ => throw new FormatException("bad length") };
        return Convert.FromBase64String(padded);
    }

    internal sealed record Payload(
        [property: JsonPropertyName("w")] string W,
        [property: JsonPropertyName("k")] string K,
        [property: JsonPropertyName("u")] string U);
}

/// <summary>Source-generated JSON for the token's payload (default options, which never ignore a property: the bytes stay what they were).</summary>
[JsonSerializable(typeof(MultipartUploadTokens.Payload))]
internal sealed partial class UploadTokenJsonContext : JsonSerializerContext;
