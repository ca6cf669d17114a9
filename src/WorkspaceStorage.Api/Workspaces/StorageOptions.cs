using WorkspaceStorage.Core.Credentials;
using WorkspaceStorage.Core.Model;
using Microsoft.Extensions.Options;

namespace WorkspaceStorage.Api.Workspaces;

/// <summary>Settings of the storage routes. Bound from the <c>Storage</c> configuration section.</summary>
public sealed class StorageOptions
{
    public const string SectionName = "Storage";

    /// <summary>Lifetime of credentials from generate_credential (RGW raises anything under 15 min to 15 min).</summary>
    public TimeSpan CredentialLifetime { get; set; } = TimeSpan.FromHours(1);

    /// <summary>PUT /files bodies without Content-Length are spooled to a temporary file up to this size (413 beyond).</summary>
    public long ChunkedUploadLimitBytes { get; set; } = 5L * 1024 * 1024 * 1024;

    /// <summary>
    /// How <c>GET /{workspace}/files/{path}</c> serves a file. <see cref="FileDownloadMode.Relay"/> (the default) streams
    /// it through this API, as Hypha does. <see cref="FileDownloadMode.Redirect"/> answers 307 to a presigned GET signed
    /// with the workspace's own key, valid for <see cref="FileDownloadUrlLifetime"/>: the bytes then go straight from S3
    /// to the client (full S3 speed, no API CPU), at the cost of S3's own 404 body for a missing file.
    /// </summary>
    public FileDownloadMode FileDownloadMode { get; set; } = FileDownloadMode.Relay;

    /// <summary>Lifetime of the presigned URL a redirected download points at.</summary>
    public TimeSpan FileDownloadUrlLifetime { get; set; } = TimeSpan.FromMinutes(5);

    /// <summary>Where chunked uploads are spooled; the system temp directory when empty.</summary>
    public string? SpoolDirectory { get; set; }

    /// <summary>How often the TTL sweeper runs (Hypha's --s3-cleanup-period, 300 s).</summary>
    public TimeSpan TtlSweepPeriod { get; set; } = TimeSpan.FromSeconds(300);

    /// <summary>
    /// How long a TTL marker waits for its upload after the upload URL expired (multipart uploads may be completed
    /// later than their part URLs expire).
    /// </summary>
    public TimeSpan TtlUploadGrace { get; set; } = TimeSpan.FromHours(1);

    /// <summary>
    /// Name of the Kubernetes Lease that elects the one replica running the TTL sweep. Used when the API runs in a
    /// cluster (KUBERNETES_SERVICE_HOST set); the namespace is <see cref="TtlSweepLeaseNamespace"/> or the pod's own.
    /// </summary>
    public string TtlSweepLeaseName { get; set; } = "workspace-storage-api-ttl-sweep";

    public string? TtlSweepLeaseNamespace { get; set; }

    /// <summary>HMAC key for multipart upload tokens; derived from the Hypha JWT secret when empty.</summary>
    public string? UploadTokenKey { get; set; }

    /// <summary>
    /// Buckets by name that the <c>/s3</c> proxy serves when workspaces do not come from Kubernetes (there the cluster's
    /// StorageBackends are served instead).
    /// </summary>
    public Dictionary<string, StorageBackendSettings> Backends { get; set; } = new(StringComparer.Ordinal);
}

public enum FileDownloadMode
{
    /// <summary>The API streams the bytes from S3 to the client.</summary>
    Relay,

    /// <summary>The API answers 307 to a short-lived presigned GET on the S3 endpoint.</summary>
    Redirect,
}

/// <summary>One bucket the <c>/s3</c> proxy serves: where it is inside (Endpoint) and the address presigned URLs name (PublicEndpoint).</summary>
public sealed class StorageBackendSettings
{
    public string? Endpoint { get; set; }

    public string? PublicEndpoint { get; set; }

    public string Region { get; set; } = "us-east-1";

    public string Bucket { get; set; } = "hypha-workspaces";
}

internal sealed class StorageOptionsValidator : IValidateOptions<StorageOptions>
{
    public ValidateOptionsResult Validate(string? name, StorageOptions options)
    {
        var failures = new List<string>();
        if (options.CredentialLifetime < TemporaryCredentialLimits.Minimum || options.CredentialLifetime > TemporaryCredentialLimits.Maximum)
        {
            failures.Add($"Storage:CredentialLifetime must be between {TemporaryCredentialLimits.Minimum} and {TemporaryCredentialLimits.Maximum}");
        }

        if (options.ChunkedUploadLimitBytes < 1)
        {
            failures.Add("Storage:ChunkedUploadLimitBytes must be positive");
        }

        if (options.TtlSweepPeriod < TimeSpan.FromMilliseconds(100))
        {
            failures.Add("Storage:TtlSweepPeriod must be at least 100 ms");
        }

        if (options.FileDownloadUrlLifetime < TimeSpan.FromSeconds(10) || options.FileDownloadUrlLifetime > TimeSpan.FromHours(1))
        {
            failures.Add("Storage:FileDownloadUrlLifetime must be between 00:00:10 and 01:00:00");
        }

        foreach (var (backendName, backend) in options.Backends)
        {
            // The StorageBackend's endpoint rules, so a bucket configured here is held to what the operator accepts.
            if (StorageFieldRules.EndpointError(backend.Endpoint) is { } endpointError)
            {
                failures.Add($"Storage:Backends:{backendName}:Endpoint {endpointError}");
            }

            if (backend.PublicEndpoint is not null && StorageFieldRules.EndpointError(backend.PublicEndpoint) is { } publicError)
            {
                failures.Add($"Storage:Backends:{backendName}:PublicEndpoint {publicError}");
            }
        }

        return failures.Count == 0 ? ValidateOptionsResult.Success : ValidateOptionsResult.Fail(failures);
    }
}
