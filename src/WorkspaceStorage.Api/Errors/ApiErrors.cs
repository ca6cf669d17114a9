using System.Text.Json;
using System.Text.Json.Serialization;

namespace WorkspaceStorage.Api.Errors;

/// <summary>The one error body every failing route returns, as Hypha does: <c>{"success": false, "detail": "..."}</c>.</summary>
public sealed record ApiError([property: JsonPropertyName("detail"), JsonPropertyOrder(1)] string Detail)
{
    [JsonPropertyName("success")]
    [JsonPropertyOrder(0)]
    public bool Success => false;
}

/// <summary>
/// Builders for error responses. Details are short, name the argument and rule where there is one, and never
/// contain a token, key or stack trace.
/// </summary>
public static class ApiErrors
{
    private static readonly JsonSerializerOptions Json = new(JsonSerializerDefaults.Web);

    /// <summary>400 naming the argument and the rule it broke, e.g. <c>BadRequest("path", "must not contain '..' segments")</c>.</summary>
    public static IResult BadRequest(string argument, string rule) => Error(StatusCodes.Status400BadRequest, $"{argument} {rule}");

    /// <summary>401 with <c>WWW-Authenticate: Bearer</c>.</summary>
    public static IResult Unauthorized(string detail) => new UnauthorizedResult(detail);

    public static IResult NotFound(string detail) => Error(StatusCodes.Status404NotFound, detail);

    /// <summary>416; the caller should also set <c>Content-Range: bytes */{length}</c>.</summary>
    public static IResult RangeNotSatisfiable(string detail) => Error(StatusCodes.Status416RangeNotSatisfiable, detail);

    public static IResult Error(int statusCode, string detail) => Results.Json(new ApiError(detail), Json, statusCode: statusCode);

    /// <summary>Writes the error body directly (for middleware, where there is no IResult pipeline).</summary>
    public static async Task WriteAsync(HttpContext context, int statusCode, string detail)
    {
        context.Response.StatusCode = statusCode;
        context.Response.ContentType = "application/json; charset=utf-8";
        await JsonSerializer.SerializeAsync(context.Response.Body, new ApiError(detail), Json, context.RequestAborted);
    }

    private sealed class UnauthorizedResult(string detail) : IResult
    {
        public Task ExecuteAsync(HttpContext httpContext)
        {
            httpContext.Response.Headers.WWWAuthenticate = "Bearer";
            return WriteAsync(httpContext, StatusCodes.Status401Unauthorized, detail);
        }
    }
}
