using WorkspaceStorage.Storage.Backends;

namespace WorkspaceStorage.Storage.Minio;

/// <summary>
/// The MinIO admin API refused a request with a 4xx other than authentication. <see cref="StorageBackendException.ErrorCode"/>
/// holds MinIO's code (XMinioAdminNoSuchUser, XMinioIAMPolicyInUse …); the message never holds request data.
/// </summary>
public sealed class MinioAdminException : StorageBackendException
{
    public const string VersionMismatch = "XMinioAdminVersionMismatch";
    public const string PolicyChangeAlreadyApplied = "XMinioAdminPolicyChangeAlreadyApplied";
    public const string PolicyInUse = "XMinioIAMPolicyInUse";

    private static readonly HashSet<string> NotFoundCodes = new(StringComparer.Ordinal)
    {
        "XMinioAdminNoSuchUser", "XMinioAdminNoSuchPolicy", "XMinioAdminNoSuchGroup", "XMinioAdminServiceAccountNotFound",
        "XMinioAdminNoSuchServiceAccount", "XMinioInvalidIAMCredentials",
    };

    public MinioAdminException(string operation, int statusCode, string? errorCode)
        : base($"minio {operation}: HTTP {statusCode} {errorCode ?? "(no error code)"}", isTransient: false)
    {
        Operation = operation;
        StatusCode = statusCode;
        ErrorCode = errorCode;
    }

    public string Operation { get; }

    /// <summary>The user, policy, group or service account named in the request does not exist.</summary>
    public bool IsNotFound => StatusCode == 404 && (ErrorCode is null || NotFoundCodes.Contains(ErrorCode));
}
