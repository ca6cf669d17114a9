using System.Text.Json.Nodes;
using WorkspaceStorage.Kubernetes.Runtime;

namespace WorkspaceStorage.Testing.Kubernetes;

/// <summary>The Status object a real API server answers a failure with (KubernetesClient turns it into
/// HttpOperationException, a watch into KubernetesException), for the faults the proxy injects.</summary>
public static class KubeStatus
{
    public static JsonObject Failure(int code, string reason, string message) => new()
    {
        ["kind"] = "Status",
        ["apiVersion"] = "v1",
        ["metadata"] = new JsonObject(),
        ["status"] = "Failure",
        ["message"] = message,
        ["reason"] = reason,
        ["code"] = code,
    };

    /// <summary>How the server names a resource in its messages: "secrets", "workspacestorages.workspacestorage.hypha.amun.ai".</summary>
    public static string Resource(ResourceDescriptor type)
    {
        ArgumentNullException.ThrowIfNull(type);
        return type.Group.Length == 0 ? type.Plural : $"{type.Plural}.{type.Group}";
    }

    /// <summary>Reason names the real server uses for status codes a fault injection asks for.</summary>
    public static string ReasonFor(int code) => code switch
    {
        400 => "BadRequest",
        401 => "Unauthorized",
        403 => "Forbidden",
        404 => "NotFound",
        409 => "Conflict",
        410 => "Gone",
        422 => "Invalid",
        429 => "TooManyRequests",
        500 => "InternalError",
        503 => "ServiceUnavailable",
        504 => "Timeout",
        _ => "Unknown",
    };
}
