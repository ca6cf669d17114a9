using WorkspaceStorage.Api.Errors;
using WorkspaceStorage.Api.Workspaces;
using WorkspaceStorage.Core.Model;
using WorkspaceStorage.Storage.S3;

namespace WorkspaceStorage.Api.Quotas;

/// <summary>
/// The companion's side of workspace quotas: it refuses an upload it already knows would go over (from the
/// WorkspaceStorage's status.usage and status.quota) before a byte of the body is read, and words the storage server's
/// own refusal (403 once the operator took put away from an over-quota workspace) as a quota error.
/// </summary>
public static class UploadQuota
{
    /// <summary>Throws <see cref="QuotaExceededException"/> when an upload of <paramref name="declaredLength"/> bytes (0: unknown, as for a presigned put) would exceed the quota.</summary>
    public static void Check(WorkspaceStorageHandle storage, long declaredLength)
    {
        ArgumentNullException.ThrowIfNull(storage);
        if (QuotaRules.UploadRefusal(storage.Usage, storage.Quota, declaredLength) is { } reason)
        {
            var atQuota = QuotaRules.IsReached(storage.Usage, storage.Quota);
            throw new QuotaExceededException(atQuota ? StatusCodes.Status403Forbidden : StatusCodes.Status413PayloadTooLarge,
                $"upload refused: {reason} (workspace '{storage.Workspace}', {Describe(storage)})");
        }
    }

    /// <summary>The storage server's 403 on a put into a workspace with a quota, as a quota error; anything else: null (rethrow).</summary>
    public static QuotaExceededException? FromServerRefusal(WorkspaceStorageHandle storage, Exception error)
    {
        ArgumentNullException.ThrowIfNull(storage);
        return error is S3RequestException { StatusCode: StatusCodes.Status403Forbidden } && storage.Quota.IsLimited
            ? new QuotaExceededException(StatusCodes.Status403Forbidden,
                $"upload refused by the storage server: workspace '{storage.Workspace}' is at its quota, so its identity may read and delete but not write ({Describe(storage)}); free space or ask for a larger spec.quota")
            : null;
    }

    private static string Describe(WorkspaceStorageHandle storage) =>
        storage.Usage is { } usage ? "quota and usage: " + QuotaRules.Describe(usage, storage.Quota) : "usage not measured yet";
}

/// <summary>403 (at the quota) or 413 (this upload would go over it), with the workspace's quota and usage in the detail.</summary>
public sealed class QuotaExceededException(int statusCode, string detail) : ApiException(statusCode, detail);
