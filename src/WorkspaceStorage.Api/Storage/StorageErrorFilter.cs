using WorkspaceStorage.Api.Errors;
using WorkspaceStorage.Storage.Backends;
using WorkspaceStorage.Storage.S3;

namespace WorkspaceStorage.Api.Storage;

/// <summary>
/// Turns what S3 says into the API's error shape for the storage routes. W's own key being refused means the
/// directory's view of W is stale (rotation in flight): 503, retry. S3's AccessDenied is 403. Unreachable S3 is
/// already a 503 (the exception middleware).
/// </summary>
public sealed class StorageErrorFilter : IEndpointFilter
{
    public async ValueTask<object?> InvokeAsync(EndpointFilterInvocationContext context, EndpointFilterDelegate next)
    {
        try
        {
            return await next(context);
        }
        catch (BackendAuthenticationException)
        {
            context.HttpContext.Response.Headers.RetryAfter = "5";
            return ApiErrors.ServiceUnavailable("the storage refused the workspace's credentials, retry later");
        }
        catch (S3RequestException ex) when (ex.StatusCode == StatusCodes.Status403Forbidden)
        {
            return ApiErrors.Forbidden($"the storage denied access ({ex.ErrorCode})");
        }
        catch (S3RequestException ex) when (ex.ErrorCode == "NoSuchBucket")
        {
            return ApiErrors.ServiceUnavailable("the workspace's bucket does not exist");
        }
        catch (S3RequestException ex) when (ex.StatusCode is >= 400 and < 500)
        {
            return ApiErrors.Error(StatusCodes.Status400BadRequest, $"the storage refused the request ({ex.ErrorCode})");
        }
    }
}
