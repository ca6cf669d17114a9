using System.Text.Json;
using System.Text.Json.Nodes;
using System.Text.Json.Serialization;
using MessagePack;

namespace Hypha.Rpc.Protocol;

/// <summary>
/// JSON into msgpack: elements as they are, nodes through a source-generated contract, and records or other objects
/// in the JSON shape the caller's contract gives them. Nothing here serialises by reflection.
/// </summary>
internal static class JsonToMsgPack
{
    /// <summary>Integers as msgpack integers, other numbers as doubles (what the JSON to plain values mapping does too).</summary>
    public static void Write(ref MessagePackWriter writer, JsonElement element, int depth)
    {
        if (depth > MsgPackValues.MaxDepth)
        {
            throw new InvalidOperationException($"value nested deeper than {MsgPackValues.MaxDepth} levels");
        }

        switch (element.ValueKind)
        {
            case JsonValueKind.Object:
                writer.WriteMapHeader(element.EnumerateObject().Count());
                foreach (var property in element.EnumerateObject())
                {
                    writer.Write(property.Name);
                    Write(ref writer, property.Value, depth + 1);
                }

                return;
            case JsonValueKind.Array:
                writer.WriteArrayHeader(element.GetArrayLength());
                foreach (var item in element.EnumerateArray())
                {
                    Write(ref writer, item, depth + 1);
                }

                return;
            case JsonValueKind.String:
                writer.Write(element.GetString());
                return;
            case JsonValueKind.Number:
                if (element.TryGetInt64(out var l))
                {
                    writer.Write(l);
                }
                else
                {
                    writer.Write(element.GetDouble());
                }

                return;
            case JsonValueKind.True:
                writer.Write(true);
                return;
            case JsonValueKind.False:
                writer.Write(false);
                return;
            default:
                writer.WriteNil();
                return;
        }
    }

    public static void Write(ref MessagePackWriter writer, JsonNode node, int depth) =>
        Write(ref writer, JsonSerializer.SerializeToElement(node, PlainJsonContext.Default.JsonNode), depth);

    /// <summary>Writes <paramref name="value"/> as System.Text.Json would, with the contract <paramref name="json"/>'s TypeInfoResolver has for its type.</summary>
    public static void WriteShaped(ref MessagePackWriter writer, object value, JsonSerializerOptions? json, int depth) =>
        Write(ref writer, Shape(value, json), depth);

    /// <summary>
    /// A record or other object, as System.Text.Json writes it with the caller's contract. There is deliberately no
    /// fallback to reflection: it would work under the JIT and fail only in a Native AOT build, far from any test.
    /// </summary>
    private static JsonElement Shape(object value, JsonSerializerOptions? json)
    {
        var type = value.GetType();
        if (json?.TypeInfoResolver is null || !json.TryGetTypeInfo(type, out var contract))
        {
            throw new NotSupportedException(
                $"cannot encode a {type.Name}: return plain values (dictionaries, lists, strings, numbers), or give HyphaRpcOptions.ResultJsonOptions " +
                "a TypeInfoResolver (a JsonSerializerContext) that knows the type");
        }

        return JsonSerializer.SerializeToElement(value, contract);
    }
}

/// <summary>The one contract this library serialises with System.Text.Json: JSON nodes (source-generated, no reflection).</summary>
[JsonSerializable(typeof(JsonNode))]
internal sealed partial class PlainJsonContext : JsonSerializerContext;
