using System.Diagnostics;
using WorkspaceStorage.Storage.Backends;

namespace WorkspaceStorage.Api.Errors;

/// <summary>
/// Last line of defence: every exception becomes the JSON error shape. Expected failures keep their status
/// (<see cref="ApiException"/>, bad request bodies, 503 for an unreachable backend); anything else is a 500
/// "internal error" whose details go only to the log, under a correlation id also sent as <c>X-Correlation-Id</c>.
/// </summary>
internal sealed class ApiExceptionMiddleware(RequestDelegate next, ILogger<ApiExceptionMiddleware> logger)
{
    public const string CorrelationHeader = "X-Correlation-Id";

    public async Task InvokeAsync(HttpContext context)
    {
        try
        {
            await next(context);
        }
        catch (OperationCanceledException) when (context.RequestAborted.IsCancellationRequested)
        {
            // The client went away; there is nobody to answer.
            logger.LogDebug("Request aborted by the client: {Method} {Path}", context.Request.Method, context.Request.Path);
        }
        catch (ApiException ex)
        {
            await WriteOrAbortAsync(context, ex.StatusCode, ex.Message, ex);
        }
        catch (BadHttpRequestException ex)
        {
            // Kestrel and minimal-API binding failures (unreadable body, missing or unparsable parameter).
            var detail = ex.StatusCode == StatusCodes.Status413PayloadTooLarge ? "request body is too large" : ex.Message;
            await WriteOrAbortAsync(context, ex.StatusCode, detail, ex);
        }
        catch (BackendValidationException ex)
        {
            await WriteOrAbortAsync(context, StatusCodes.Status400BadRequest, ex.Message, ex);
        }
        catch (BackendUnavailableException ex)
        {
            var correlationId = CorrelationId(context);
            logger.LogWarning(ex, "Storage backend unavailable (correlation {CorrelationId})", correlationId);
            context.Response.Headers[CorrelationHeader] = correlationId;
            context.Response.Headers.RetryAfter = "5";
            await WriteOrAbortAsync(context, StatusCodes.Status503ServiceUnavailable, "storage backend is unavailable, retry later", ex);
        }
        catch (Exception ex)
        {
            var correlationId = CorrelationId(context);
            logger.LogError(ex, "Unhandled error in {Method} {Route} (correlation {CorrelationId})",
                context.Request.Method, (context.GetEndpoint() as RouteEndpoint)?.RoutePattern.RawText ?? "(no route)", correlationId);
            if (!context.Response.HasStarted)
            {
                context.Response.Headers[CorrelationHeader] = correlationId;
            }

            await WriteOrAbortAsync(context, StatusCodes.Status500InternalServerError, "internal error", ex);
        }
    }

    private static string CorrelationId(HttpContext context) => Activity.Current?.TraceId.ToString() ?? context.TraceIdentifier;

    private async Task WriteOrAbortAsync(HttpContext context, int statusCode, string detail, Exception ex)
    {
        if (context.Response.HasStarted)
        {
            // Headers are gone; the only honest signal left is to cut the connection.
            logger.LogWarning("Error after the response started ({Status}): {ExceptionType}", statusCode, ex.GetType().Name);
            context.Abort();
            return;
        }

        var keep = context.Response.Headers.TryGetValue(CorrelationHeader, out var correlation) ? correlation : default;
        var retryAfter = context.Response.Headers.RetryAfter;
        context.Response.Clear();
        if (keep.Count > 0)
        {
            context.Response.Headers[CorrelationHeader] = keep;
        }

        if (statusCode == StatusCodes.Status503ServiceUnavailable && retryAfter.Count > 0)
        {
            context.Response.Headers.RetryAfter = retryAfter;
        }

        await ApiErrors.WriteAsync(context, statusCode, detail);
    }
}
