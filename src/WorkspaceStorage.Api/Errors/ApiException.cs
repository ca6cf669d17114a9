namespace WorkspaceStorage.Api.Errors;

/// <summary>
/// A call-level failure a handler throws; both front doors turn it into an error for the caller (see
/// <see cref="ApiFailure"/>): over HTTP <c>{"success": false, "detail": Message}</c> with <see cref="StatusCode"/>.
/// The message is sent to the caller, so it must never contain secrets.
/// </summary>
public class ApiException(int statusCode, string detail) : Exception(detail)
{
    public int StatusCode { get; } = statusCode;

    /// <summary>When set, the caller may retry after this long (HTTP: <c>Retry-After</c>).</summary>
    public TimeSpan? RetryAfter { get; init; }
}

/// <summary>400: an argument broke a rule. The message is "{argument} {rule}".</summary>
public sealed class ApiArgumentException(string argument, string rule)
    : ApiException(StatusCodes.Status400BadRequest, $"{argument} {rule}")
{
    public string Argument { get; } = argument;

    public string Rule { get; } = rule;
}
