using System.Text.Json.Nodes;

namespace WorkspaceStorage.Kubernetes.InMemory;

/// <summary>
/// An error answered as a Kubernetes Status object, the shape KubernetesClient turns into
/// HttpOperationException (and a watch turns into KubernetesException).
/// </summary>
public sealed class KubeApiException : Exception
{
    public KubeApiException(int code, string reason, string message, ResourceType? type = null, string? name = null)
        : base(message)
    {
        Code = code;
        Reason = reason;
        Type = type;
        Name = name;
    }

    public int Code { get; }
    public string Reason { get; }
    public ResourceType? Type { get; }
    public string? Name { get; }

    public static KubeApiException NotFound(ResourceType type, string name) =>
        new(404, "NotFound", $"{type} \"{name}\" not found", type, name);

    public static KubeApiException AlreadyExists(ResourceType type, string name) =>
        new(409, "AlreadyExists", $"{type} \"{name}\" already exists", type, name);

    public static KubeApiException Conflict(ResourceType type, string name) =>
        new(409, "Conflict",
            $"Operation cannot be fulfilled on {type} \"{name}\": the object has been modified; please apply your changes to the latest version and try again",
            type, name);

    public static KubeApiException Invalid(ResourceType type, string name, string detail) =>
        new(422, "Invalid", $"{type.Kind} \"{name}\" is invalid: {detail}", type, name);

    public static KubeApiException BadRequest(string message) => new(400, "BadRequest", message);

    public static KubeApiException Expired(long requested, long oldest) =>
        new(410, "Expired", $"too old resource version: {requested} ({oldest})");

    /// <summary>The Status object the real API server sends for this error.</summary>
    public JsonObject ToStatus()
    {
        var status = new JsonObject
        {
            ["kind"] = "Status",
            ["apiVersion"] = "v1",
            ["metadata"] = new JsonObject(),
            ["status"] = "Failure",
            ["message"] = Message,
            ["reason"] = Reason,
        };
        if (Type is not null)
        {
            var details = new JsonObject { ["kind"] = Type.Plural };
            if (Name is not null)
            {
                details["name"] = Name;
            }

            if (Type.Group.Length > 0)
            {
                details["group"] = Type.Group;
            }

            status["details"] = details;
        }

        status["code"] = Code;
        return status;
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
