using System.Buffers;
using System.Collections;
using System.Globalization;
using System.Text.Json;
using System.Text.Json.Nodes;

namespace Hypha.Rpc.Protocol;

/// <summary>JSON to and from the same plain .NET values msgpack decodes to (long for integers, double otherwise).</summary>
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

    /// <summary>
    /// Plain values (maps, lists, strings, numbers, booleans, null, JSON elements and nodes) as a JSON element, written
    /// by hand rather than by a serialiser that would have to look at their types by reflection.
    /// </summary>
    /// <exception cref="NotSupportedException">A value of another type.</exception>
    public static JsonElement FromPlain(object? value)
    {
        var buffer = new ArrayBufferWriter<byte>();
        using (var writer = new Utf8JsonWriter(buffer))
        {
            Write(writer, value, 0);
        }

        using var document = JsonDocument.Parse(buffer.WrittenMemory);
        return document.RootElement.Clone();
    }

    private static void Write(Utf8JsonWriter writer, object? value, int depth)
    {
        if (depth > MsgPackValues.MaxDepth)
        {
            throw new NotSupportedException($"value nested deeper than {MsgPackValues.MaxDepth} levels");
        }

        switch (value)
        {
            case null:
                writer.WriteNullValue();
                return;
            case string s:
                writer.WriteStringValue(s);
                return;
            case bool b:
                writer.WriteBooleanValue(b);
                return;
            case ulong ul:
                writer.WriteNumberValue(ul);
                return;
            case int or long or short or sbyte or byte or ushort or uint:
                writer.WriteNumberValue(Convert.ToInt64(value, CultureInfo.InvariantCulture));
                return;
            case float f:
                writer.WriteNumberValue(f);
                return;
            case double d:
                writer.WriteNumberValue(d);
                return;
            case decimal m:
                writer.WriteNumberValue(m);
                return;
            case JsonElement element:
                element.WriteTo(writer);
                return;
            case JsonNode node:
                node.WriteTo(writer);
                return;
            case IReadOnlyDictionary<string, object?> map:
                writer.WriteStartObject();
                foreach (var (key, item) in map)
                {
                    writer.WritePropertyName(key);
                    Write(writer, item, depth + 1);
                }

                writer.WriteEndObject();
                return;
            case IDictionary map:
                writer.WriteStartObject();
                foreach (DictionaryEntry entry in map)
                {
                    writer.WritePropertyName(Convert.ToString(entry.Key, CultureInfo.InvariantCulture) ?? "");
                    Write(writer, entry.Value, depth + 1);
                }

                writer.WriteEndObject();
                return;
            case IEnumerable items:
                writer.WriteStartArray();
                foreach (var item in items)
                {
                    Write(writer, item, depth + 1);
                }

                writer.WriteEndArray();
                return;
            default:
                throw new NotSupportedException($"a {value.GetType().Name} is not a plain JSON value: use maps, lists, strings, numbers, booleans, null or JSON elements");
        }
    }
}

