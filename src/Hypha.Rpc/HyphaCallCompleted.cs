namespace Hypha.Rpc;

/// <summary>One incoming call of a registered function, finished: for metrics (function, result, duration).</summary>
/// <param name="ServiceId">The service's short id.</param>
/// <param name="Function">The function name.</param>
/// <param name="Result">Whether the handler returned a value or the call was rejected.</param>
/// <param name="ErrorType">The error type the caller saw (<c>InternalError</c> for unexpected failures); null when Ok.</param>
/// <param name="Duration">From arrival to answer.</param>
public sealed record HyphaCallCompleted(string ServiceId, string Function, HyphaCallResult Result, string? ErrorType, TimeSpan Duration);

public enum HyphaCallResult
{
    Ok,
    Error,
}
