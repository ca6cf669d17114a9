using System.Diagnostics;
using System.Globalization;

namespace WorkspaceStorage.Api.Errors;

/// <summary>
/// Last line of defence for the HTTP front door: every exception becomes the JSON error shape by the one mapping,
/// <see cref="ApiFailure.From"/>. Unexpected failures are a 500 "internal error" whose details go only to the log,
/// under a correlation id also sent as <c>X-Correlation-Id</c>; an unavailable backend is logged as a warning with one.
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
        catch (Exception ex)
        {
            var failure = ApiFailure.From(ex);
            string? correlationId = null;
            if (failure.Unexpected)
            {
                correlationId = CorrelationId(context);
                logger.LogError(ex, "Unhandled error in {Method} {Route} (correlation {CorrelationId})",
                    context.Request.Method, (context.GetEndpoint() as RouteEndpoint)?.RoutePattern.RawText ?? "(no route)", correlationId);
            }
            else if (failure.StatusCode == StatusCodes.Status503ServiceUnavailable)
            {
                correlationId = CorrelationId(context);
                logger.LogWarning(ex, "Storage unavailable (correlation {CorrelationId})", correlationId);
            }

            await WriteOrAbortAsync(context, failure, correlationId, ex);
        }
    }

    private static string CorrelationId(HttpContext context) => Activity.Current?.TraceId.ToString() ?? context.TraceIdentifier;

    private async Task WriteOrAbortAsync(HttpContext context, ApiFailure failure, string? correlationId, Exception ex)
    {
        if (context.Response.HasStarted)
        {
            // Headers are gone; the only honest signal left is to cut the connection.
            logger.LogWarning("Error after the response started ({Status}): {ExceptionType}", failure.StatusCode, ex.GetType().Name);
            context.Abort();
            return;
        }

        context.Response.Clear();
        if (correlationId is not null)
        {
            context.Response.Headers[CorrelationHeader] = correlationId;
        }

        if (failure.RetryAfter is { } retryAfter)
        {
            context.Response.Headers.RetryAfter = ((int)retryAfter.TotalSeconds).ToString(CultureInfo.InvariantCulture);
        }

        await ApiErrors.WriteAsync(context, failure.StatusCode, failure.Detail);
    }
}
