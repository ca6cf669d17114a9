using System.Text.Json;

namespace Hypha.Rpc.Protocol;

/// <summary>JSON to the same plain .NET values msgpack decodes to (long for integers, double otherwise).</summary>
internal static class JsonValues
{
    public static object? ToPlain(JsonElement element, int depth = 0)
    {
        if (depth > MsgPackValues.MaxDepth)
        {
            throw new JsonException($"JSON nested deeper than {MsgPackValues.MaxDepth}");
        }

        return element.ValueKind switch
        {
            JsonValueKind.Object => element.EnumerateObject().ToDictionary(p => p.Name, p => ToPlain(p.Value, depth + 1), StringComparer.Ordinal),
            JsonValueKind.Array => element.EnumerateArray().Select(e => ToPlain(e, depth + 1)).ToList(),
            JsonValueKind.String => element.GetString(),
            JsonValueKind.Number => element.TryGetInt64(out var l) ? l : element.GetDouble(),
            JsonValueKind.True => true,
            JsonValueKind.False => false,
            _ => null,
        };
    }
}
