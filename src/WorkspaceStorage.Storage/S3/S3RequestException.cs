using WorkspaceStorage.Storage.Backends;

namespace WorkspaceStorage.Storage.S3;

/// <summary>
/// S3 refused a data-plane request with a 4xx (AccessDenied, NoSuchBucket, NoSuchUpload, EntityTooSmall …).
/// <see cref="StorageBackendException.ErrorCode"/> carries S3's Code. The message names the operation, the key and the code, never a credential.
/// </summary>
public sealed class S3RequestException(string message) : StorageBackendException(message, isTransient: false)
{
    /// <summary>S3's own message (from the XML error body), when it sent one; holds no credential.</summary>
    public string? ServerMessage { get; init; }
}
