using System.Security.Cryptography;
using System.Text;
using System.Text.Json;
using System.Text.Json.Serialization;
using WorkspaceStorage.Api.Errors;
using WorkspaceStorage.Api.Workspaces;
using WorkspaceStorage.Core.Workspaces;
using WorkspaceStorage.Storage.S3;

namespace WorkspaceStorage.Api.Ttl;

/// <summary>
/// A pending deletion: <see cref="Key"/> goes <see cref="TtlSeconds"/> after its upload completed (the object's
/// LastModified), for any upload made through URLs issued at <see cref="IssuedAt"/> and valid until <see cref="UploadDeadline"/>.
/// </summary>
public sealed record TtlMarker(
    [property: JsonPropertyName("workspace")] string Workspace,
    [property: JsonPropertyName("key")] string Key,
    [property: JsonPropertyName("ttl_seconds")] int TtlSeconds,
    [property: JsonPropertyName("issued_at")] DateTimeOffset IssuedAt,
    [property: JsonPropertyName("upload_deadline")] DateTimeOffset UploadDeadline);

/// <summary>
/// TTL deadlines kept durably as small JSON objects under <c>etc/wso-ttl/</c> in the workspace's bucket, written with
/// the backend's admin key (no workspace identity can reach <c>etc/</c>, and no workspace id can be <c>etc</c>). They
/// live as long as the data they govern, so an API restart or another replica picks them up.
/// </summary>
public sealed class TtlMarkerStore(S3ClientFactory clients, TimeProvider clock)
{
    public const string MarkerPrefix = "etc/wso-ttl/";

    /// <summary>Refuses a ttl before anything is issued when this workspace has no bookkeeping key.</summary>
    public static void EnsureSupported(WorkspaceStorageHandle handle)
    {
        if (handle.BucketAdmin is null)
        {
            throw new ApiArgumentException("ttl", "is not available for this workspace (the API has no bookkeeping key for its bucket)");
        }
    }

    /// <summary>Records that <paramref name="key"/> expires <paramref name="ttlSeconds"/> after an upload through URLs valid for <paramref name="uploadWindow"/>.</summary>
    public async Task RecordAsync(WorkspaceStorageHandle handle, string key, int ttlSeconds, TimeSpan uploadWindow, CancellationToken cancellationToken)
    {
        EnsureSupported(handle);
        var now = clock.GetUtcNow();
        var marker = new TtlMarker(handle.Workspace.Value, key, ttlSeconds, now, now + uploadWindow);
        var bytes = JsonSerializer.SerializeToUtf8Bytes(marker, TtlMarkerJsonContext.Default.TtlMarker);
        var admin = clients.Create(handle.Location, handle.BucketAdmin!);
        using var body = new MemoryStream(bytes, writable: false);
        await admin.PutAsync(MarkerKey(key), body, bytes.Length, "application/json", cancellationToken);
    }

    /// <summary>One marker per object key: a later ttl for the same key replaces the earlier one.</summary>
    public static string MarkerKey(string objectKey) =>
        MarkerPrefix + Convert.ToHexStringLower(SHA256.HashData(Encoding.UTF8.GetBytes(objectKey)))[..40] + ".json";

    internal static TtlMarker? Parse(byte[] bytes)
    {
        try
        {
            var marker = JsonSerializer.Deserialize(bytes, TtlMarkerJsonContext.Default.TtlMarker);
            return marker is not null && WorkspaceId.TryParse(marker.Workspace, out var id, out _)
                && marker.Key.StartsWith(id.Prefix, StringComparison.Ordinal) && marker.Key.Length > id.Prefix.Length
                ? marker
                : null;
        }
        catch (JsonException)
        {
            return null;
        }
    }
}

/// <summary>Source-generated JSON for the markers (default options: the bytes stay what they were).</summary>
[JsonSerializable(typeof(TtlMarker))]
internal sealed partial class TtlMarkerJsonContext : JsonSerializerContext;
