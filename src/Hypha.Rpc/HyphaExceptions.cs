namespace Hypha.Rpc;

/// <summary>
/// Thrown by a function handler to reject the call with an error the caller may see:
/// <c>{_rtype: "error", _rvalue: "ErrorType: message"}</c>. Any other exception is reported as an internal error
/// without its message.
/// </summary>
public sealed class HyphaCallException : Exception
{
    public HyphaCallException(string errorType, string message)
        : base(message)
    {
        ErrorType = string.IsNullOrWhiteSpace(errorType) ? "Error" : errorType;
    }

    public HyphaCallException(string errorType, string message, Exception innerException)
        : base(message, innerException)
    {
        ErrorType = string.IsNullOrWhiteSpace(errorType) ? "Error" : errorType;
    }

    /// <summary>The error's type name as the caller sees it (for example <c>PermissionError</c>, <c>ValueError</c>).</summary>
    public string ErrorType { get; }
}

/// <summary>A call this client made was rejected by the other side; <see cref="Exception.Message"/> is the remote error text.</summary>
public sealed class HyphaRemoteException(string method, string remoteError)
    : Exception($"{method} was rejected: {remoteError}")
{
}

/// <summary>The connection to Hypha is down, could not be made, or closed while a call waited.</summary>
public class HyphaConnectionException : Exception
{
    public HyphaConnectionException(string message)
        : base(message)
    {
    }

    public HyphaConnectionException(string message, Exception innerException)
        : base(message, innerException)
    {
    }
}

/// <summary>Hypha refused the token (invalid, expired, or not allowed in the workspace).</summary>
public sealed class HyphaAuthenticationException(string message) : HyphaConnectionException(message);
