namespace WorkspaceStorage.Storage.Backends;

/// <summary>
/// Base of every error a backend raises. Messages name the operation and the server's error code, never a key.
/// <see cref="IsTransient"/> tells the caller whether retrying later can help.
/// </summary>
public class StorageBackendException(string message, bool isTransient, Exception? inner = null) : Exception(message, inner)
{
    public bool IsTransient { get; } = isTransient;

    /// <summary>The server's error code (e.g. "AccessDenied", "XMinioAdminNoSuchUser"), when it sent one.</summary>
    public string? ErrorCode { get; init; }

    /// <summary>HTTP status of the failing call, when there was a response.</summary>
    public int? StatusCode { get; init; }
}

/// <summary>The admin credentials were refused (wrong key, bad signature, missing permission).</summary>
public sealed class BackendAuthenticationException(string message) : StorageBackendException(message, isTransient: false);

/// <summary>The backend could not be reached, timed out, or answered 5xx after every retry.</summary>
public sealed class BackendUnavailableException(string message, Exception? inner = null) : StorageBackendException(message, isTransient: true, inner);

/// <summary>The backend refused the request as invalid (4xx other than authentication). Retrying the same request will not help.</summary>
public sealed class BackendRequestRejectedException(string message) : StorageBackendException(message, isTransient: false);

/// <summary>A request that breaks a backend's own limits (name length, policy size …) was refused before any call.</summary>
public sealed class BackendValidationException(string field, string rule)
    : StorageBackendException($"{field} {rule}", isTransient: false)
{
    public string Field { get; } = field;

    public string Rule { get; } = rule;
}
