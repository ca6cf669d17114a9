using WorkspaceStorage.Storage.Backends;
using WorkspaceStorage.Storage.S3;

namespace WorkspaceStorage.Api.Errors;

/// <summary>
/// What a failed call tells its caller, whichever front door it came through: the HTTP status, a short detail (never a
/// token, key or stack trace), and when to retry. The HTTP exception middleware writes it as
/// <c>{"success": false, "detail"}</c>; the Hypha RPC registration rejects the call with it. One mapping, two transports.
/// </summary>
/// <param name="Unexpected">True for a bug or an unknown failure: the detail is generic and the exception goes to the log only.</param>
public sealed record ApiFailure(int StatusCode, string Detail, TimeSpan? RetryAfter = null, bool Unexpected = false)
{
    private static readonly TimeSpan RetrySoon = TimeSpan.FromSeconds(5);

    public static ApiFailure From(Exception exception) => exception switch
    {
        ApiException api => new(api.StatusCode, api.Message, api.RetryAfter),
        BadHttpRequestException bad => new(bad.StatusCode, bad.StatusCode == StatusCodes.Status413PayloadTooLarge ? "request body is too large" : bad.Message),
        BackendValidationException invalid => new(StatusCodes.Status400BadRequest, invalid.Message),
        BackendUnavailableException => new(StatusCodes.Status503ServiceUnavailable, "storage backend is unavailable, retry later", RetrySoon),

        // W's own key refused: the directory's view of W is stale (a rotation in flight), so retrying soon helps.
        BackendAuthenticationException => new(StatusCodes.Status503ServiceUnavailable, "the storage refused the workspace's credentials, retry later", RetrySoon),
        S3RequestException { StatusCode: StatusCodes.Status403Forbidden } s3 => new(StatusCodes.Status403Forbidden, $"the storage denied access ({s3.ErrorCode})"),
        S3RequestException { ErrorCode: "NoSuchBucket" } => new(StatusCodes.Status503ServiceUnavailable, "the workspace's bucket does not exist"),
        S3RequestException { StatusCode: >= 400 and < 500 } s3 => new(StatusCodes.Status400BadRequest, $"the storage refused the request ({s3.ErrorCode})"),
        _ => new(StatusCodes.Status500InternalServerError, "internal error", Unexpected: true),
    };
}
