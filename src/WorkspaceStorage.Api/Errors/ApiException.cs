namespace WorkspaceStorage.Api.Errors;

/// <summary>
/// A request-level failure a handler may throw instead of returning an error result; the exception middleware
/// turns it into <c>{"success": false, "detail": Message}</c> with <see cref="StatusCode"/>. The message is sent
/// to the client, so it must never contain secrets.
/// </summary>
public class ApiException(int statusCode, string detail) : Exception(detail)
{
    public int StatusCode { get; } = statusCode;
}

/// <summary>400: an argument broke a rule. The message is "{argument} {rule}".</summary>
public sealed class ApiArgumentException(string argument, string rule)
    : ApiException(StatusCodes.Status400BadRequest, $"{argument} {rule}")
{
    public string Argument { get; } = argument;

    public string Rule { get; } = rule;
}
