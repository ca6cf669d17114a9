using System.Text.Json;
using System.Text.Json.Nodes;

namespace WorkspaceStorage.Storage.Iam;

/// <summary>
/// Whether the policy a server holds says what the operator wrote. AWS IAM may hand a document back re-serialised
/// (whitespace, <c>["x"]</c> for <c>"x"</c>, key order), so comparing text would see drift on every reconcile and write
/// forever; comparing meaning keeps a clean identity at zero writes, while any changed action, resource or condition
/// still counts as drift.
/// </summary>
public static class PolicyJson
{
    public static bool Equivalent(string? held, string wanted)
    {
        ArgumentNullException.ThrowIfNull(wanted);
        if (held is null)
        {
            return false;
        }

        if (held == wanted)
        {
            return true;
        }

        try
        {
            return JsonNode.DeepEquals(Normalise(JsonNode.Parse(held)), Normalise(JsonNode.Parse(wanted)));
        }
        catch (JsonException)
        {
            return false; // unreadable: rewrite it
        }
    }

    /// <summary>Single-element arrays become their element and object keys are sorted, recursively.</summary>
    private static JsonNode? Normalise(JsonNode? node) => node switch
    {
        JsonArray { Count: 1 } single => Normalise(single[0]),
        JsonArray array => new JsonArray([.. array.Select(Normalise)]),
        JsonObject obj => new JsonObject(obj.OrderBy(p => p.Key, StringComparer.Ordinal)
            .Select(p => KeyValuePair.Create(p.Key, Normalise(p.Value)))),
        null => null,
        _ => node.DeepClone(),
    };
}
