using System.Text.Json.Nodes;

namespace WorkspaceStorage.Testing.Kubernetes;

/// <summary>A WorkspaceStorage or StorageBackend status as JSON, shaped as the operator writes it: kstatus conditions, each with its generation.</summary>
public static class StatusJson
{
    /// <summary>The message every condition carries.</summary>
    public const string Message = "details";

    /// <summary>The lastTransitionTime every condition carries (the CRD requires one).</summary>
    public const string Since = "2026-01-01T00:00:00Z";

    public static JsonObject Of(long? observedGeneration, params (string Type, string Status, string Reason, long Generation)[] conditions) => new()
    {
        ["observedGeneration"] = observedGeneration,
        ["conditions"] = new JsonArray(conditions.Select(c => (JsonNode)new JsonObject
        {
            ["type"] = c.Type,
            ["status"] = c.Status,
            ["reason"] = c.Reason,
            ["message"] = Message,
            ["observedGeneration"] = c.Generation,
            ["lastTransitionTime"] = Since,
        }).ToArray()),
    };
}
