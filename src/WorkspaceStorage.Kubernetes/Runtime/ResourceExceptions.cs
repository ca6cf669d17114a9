namespace WorkspaceStorage.Kubernetes.Runtime;

/// <summary>
/// A cluster-store call failed. Messages carry the status code, the reason and the server's short status message,
/// never a request or response body (a Secret's data must not reach a log through an exception).
/// </summary>
public class ResourceClientException(string message, int? statusCode = null, Exception? inner = null) : Exception(message, inner)
{
    /// <summary>The HTTP status code when the store answered with one; null for transport failures and timeouts.</summary>
    public int? StatusCode { get; } = statusCode;

    /// <summary>True when retrying the same call later can succeed (429, 5xx, timeouts, transport errors).</summary>
    public virtual bool IsTransient => StatusCode is null or 429 or >= 500;
}

/// <summary>409: the object changed since it was read (stale resourceVersion). Re-read and try again.</summary>
public class ResourceConflictException(string message, int? statusCode = 409) : ResourceClientException(message, statusCode)
{
    public override bool IsTransient => true;
}

/// <summary>409 on create: an object with that name already exists.</summary>
public sealed class ResourceAlreadyExistsException(string message) : ResourceConflictException(message);

/// <summary>404: the object (or its namespace, or its resource type) does not exist.</summary>
public sealed class ResourceNotFoundException(string message) : ResourceClientException(message, 404)
{
    public override bool IsTransient => false;
}

/// <summary>
/// 410: the resourceVersion a watch started from is older than the store keeps. The watcher must list again
/// (and diff against its cache) before watching on.
/// </summary>
public sealed class ResourceGoneException(string message) : ResourceClientException(message, 410)
{
    public override bool IsTransient => false;
}

/// <summary>The store rejected the request itself (400, 401, 403, 422 …): retrying the same call will not help.</summary>
public sealed class ResourceRejectedException(string message, int statusCode) : ResourceClientException(message, statusCode)
{
    public override bool IsTransient => false;
}
