using System.Reflection;
using System.Text.Json;
using System.Text.Json.Serialization;
using Microsoft.AspNetCore.Http.Metadata;
using Microsoft.AspNetCore.Http.HttpResults;
using WorkspaceStorage.Api.Json;

namespace WorkspaceStorage.Api.Errors;

/// <summary>The one error body every failing route returns, as Hypha does: <c>{"success": false, "detail": "..."}</c>.</summary>
public sealed record ApiError([property: JsonPropertyName("detail"), JsonPropertyOrder(1)] string Detail)
{
    [JsonPropertyName("success")]
    [JsonPropertyOrder(0)]
    public bool Success => false;
}

/// <summary>
/// Builders for error responses, as typed results (so a handler's signature says which errors it answers with, and
/// OpenAPI shows them). Details are short, name the argument and rule where there is one, and never contain a token,
/// key or stack trace.
/// </summary>
public static class ApiErrors
{
    /// <summary>400 naming the argument and the rule it broke, e.g. <c>BadRequest("path", "must not contain '..' segments")</c>.</summary>
    public static BadRequest<ApiError> BadRequest(string argument, string rule) => TypedResults.BadRequest(new ApiError($"{argument} {rule}"));

    /// <summary>401 with <c>WWW-Authenticate: Bearer</c>.</summary>
    public static UnauthorizedApiError Unauthorized(string detail) => new(detail);

    public static NotFound<ApiError> NotFound(string detail) => TypedResults.NotFound(new ApiError(detail));

    /// <summary>416; the caller should also set <c>Content-Range: bytes */{length}</c>.</summary>
    public static JsonHttpResult<ApiError> RangeNotSatisfiable(string detail) =>
        TypedResults.Json(new ApiError(detail), ApiJsonContext.Default.ApiError, statusCode: StatusCodes.Status416RangeNotSatisfiable);

    /// <summary>Writes the error body directly (for middleware, where there is no IResult pipeline).</summary>
    public static async Task WriteAsync(HttpContext context, int statusCode, string detail)
    {
        context.Response.StatusCode = statusCode;
        context.Response.ContentType = "application/json; charset=utf-8";
        await JsonSerializer.SerializeAsync(context.Response.Body, new ApiError(detail), ApiJsonContext.Default.ApiError, context.RequestAborted);
    }
}

/// <summary>A 401 with <c>WWW-Authenticate: Bearer</c> and the API's error body.</summary>
public sealed class UnauthorizedApiError(string detail) : IResult, IStatusCodeHttpResult, IValueHttpResult, IValueHttpResult<ApiError>, IEndpointMetadataProvider
{
    public int? StatusCode => StatusCodes.Status401Unauthorized;

    public ApiError Value { get; } = new(detail);

    object? IValueHttpResult.Value => Value;

    public Task ExecuteAsync(HttpContext httpContext)
    {
        ArgumentNullException.ThrowIfNull(httpContext);
        httpContext.Response.Headers.WWWAuthenticate = "Bearer";
        return ApiErrors.WriteAsync(httpContext, StatusCodes.Status401Unauthorized, Value.Detail);
    }

    public static void PopulateMetadata(MethodInfo method, EndpointBuilder builder)
    {
        ArgumentNullException.ThrowIfNull(builder);
        builder.Metadata.Add(new ProducesResponseTypeMetadata(StatusCodes.Status401Unauthorized, typeof(ApiError), ["application/json"]));
    }
}
