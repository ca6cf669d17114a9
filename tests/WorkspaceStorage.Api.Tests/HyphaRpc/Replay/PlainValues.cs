using System.Buffers;
using System.Globalization;
using System.Text;
using System.Text.Json;
using MessagePack;

namespace WorkspaceStorage.Api.Tests.HyphaRpc.Replay;

/// <summary>
/// The replay's own value model, shared by the recording and the wire: null, bool, long, ulong, double, string, byte[],
/// <see cref="List{T}"/> and <see cref="Dictionary{TKey,TValue}"/> keyed by string. It reads msgpack with MessagePack's
/// low-level reader, not with Hypha.Rpc's MsgPackValues, so a bug in the client's codec cannot hide itself here; and it
/// keeps the msgpack int/float distinction, which Python callers see (15 and 15.0 are different types to them).
/// </summary>
internal static class PlainValues
{
    private const int MaxDepth = 64;

    /// <summary>A binary frame as the recording shows it: <c>{main, extra}</c>, extra null when the frame has one object.</summary>
    public static Dictionary<string, object?> DecodeFrame(ReadOnlyMemory<byte> frame)
    {
        var reader = new MessagePackReader(frame);
        var main = ReadValue(ref reader, 0);
        var extra = reader.End ? null : ReadValue(ref reader, 0);
        if (!reader.End)
        {
            throw new FormatException("more than two msgpack objects in one binary frame");
        }

        return new Dictionary<string, object?>(StringComparer.Ordinal) { ["main"] = main, ["extra"] = extra };
    }

    /// <summary>Encodes <c>main</c> and, when not null, <c>extra</c> back to back, as Hypha sends a binary frame.</summary>
    public static byte[] EncodeFrame(object? main, object? extra)
    {
        var buffer = new ArrayBufferWriter<byte>();
        var writer = new MessagePackWriter(buffer);
        Write(ref writer, main, 0);
        if (extra is not null)
        {
            Write(ref writer, extra, 0);
        }

        writer.Flush();
        return buffer.WrittenSpan.ToArray();
    }

    /// <summary>
    /// JSON to plain values. A number whose text has a '.' or an exponent is a float, else an integer: the recorder
    /// wrote the msgpack values with Python's json, which prints every float with a '.' (15.0) and no int with one.
    /// </summary>
    public static object? FromJson(JsonElement element) => element.ValueKind switch
    {
        JsonValueKind.Null or JsonValueKind.Undefined => null,
        JsonValueKind.True => true,
        JsonValueKind.False => false,
        JsonValueKind.String => element.GetString(),
        JsonValueKind.Number => Number(element.GetRawText()),
        JsonValueKind.Array => element.EnumerateArray().Select(FromJson).ToList(),
        JsonValueKind.Object => element.EnumerateObject().ToDictionary(p => p.Name, p => FromJson(p.Value), StringComparer.Ordinal),
        _ => throw new FormatException($"unexpected JSON {element.ValueKind}"),
    };

    public static object? FromJson(string json)
    {
        using var document = JsonDocument.Parse(json);
        return FromJson(document.RootElement);
    }

    public static string ToJson(object? value)
    {
        var text = new StringBuilder();
        AppendJson(text, value, int.MaxValue);
        return text.ToString();
    }

    /// <summary>A short rendering for failure messages: JSON, floats always with a '.', cut after <paramref name="limit"/> characters.</summary>
    public static string Show(object? value, int limit = 240)
    {
        var text = new StringBuilder();
        AppendJson(text, value, limit);
        return text.Length > limit ? text.ToString(0, limit) + "…" : text.ToString();
    }

    public static bool IsNumber(object? value) => value is long or ulong or double;

    public static string TypeName(object? value) => value switch
    {
        null => "nil",
        bool => "bool",
        long or ulong => "int",
        double => "float",
        string => "str",
        byte[] => "bin",
        List<object?> => "array",
        Dictionary<string, object?> => "map",
        _ => value.GetType().Name,
    };

    private static object Number(string raw)
    {
        if (raw.AsSpan().IndexOfAny('.', 'e', 'E') >= 0)
        {
            return double.Parse(raw, CultureInfo.InvariantCulture);
        }

        return long.TryParse(raw, NumberStyles.AllowLeadingSign, CultureInfo.InvariantCulture, out var l)
            ? l
            : ulong.Parse(raw, CultureInfo.InvariantCulture);
    }

    private static object? ReadValue(ref MessagePackReader reader, int depth)
    {
        if (depth > MaxDepth)
        {
            throw new FormatException($"msgpack nested deeper than {MaxDepth}");
        }

        switch (reader.NextMessagePackType)
        {
            case MessagePackType.Nil:
                reader.ReadNil();
                return null;
            case MessagePackType.Boolean:
                return reader.ReadBoolean();
            case MessagePackType.Integer:
                if (reader.NextCode == MessagePackCode.UInt64)
                {
                    var unsigned = reader.ReadUInt64();
                    return unsigned <= long.MaxValue ? (long)unsigned : unsigned;
                }

                return reader.ReadInt64();
            case MessagePackType.Float:
                return reader.ReadDouble();
            case MessagePackType.String:
                return reader.ReadString();
            case MessagePackType.Binary:
                return reader.ReadBytes()?.ToArray();
            case MessagePackType.Array:
                {
                    var count = reader.ReadArrayHeader();
                    var list = new List<object?>(count);
                    for (var i = 0; i < count; i++)
                    {
                        list.Add(ReadValue(ref reader, depth + 1));
                    }

                    return list;
                }

            case MessagePackType.Map:
                {
                    var count = reader.ReadMapHeader();
                    var map = new Dictionary<string, object?>(count, StringComparer.Ordinal);
                    for (var i = 0; i < count; i++)
                    {
                        if (reader.NextMessagePackType != MessagePackType.String)
                        {
                            throw new FormatException($"a map key of msgpack type {reader.NextMessagePackType} (Hypha's keys are strings)");
                        }

                        var key = reader.ReadString()!;
                        if (!map.TryAdd(key, ReadValue(ref reader, depth + 1)))
                        {
                            throw new FormatException($"duplicate map key '{key}'");
                        }
                    }

                    return map;
                }

            default:
                throw new FormatException($"msgpack type {reader.NextMessagePackType} is not used by Hypha's RPC");
        }
    }

    private static void Write(ref MessagePackWriter writer, object? value, int depth)
    {
        switch (value)
        {
            case null:
                writer.WriteNil();
                break;
            case bool b:
                writer.Write(b);
                break;
            case long l:
                writer.Write(l);
                break;
            case ulong u:
                writer.Write(u);
                break;
            case double d:
                writer.Write(d);
                break;
            case string s:
                writer.Write(s);
                break;
            case byte[] bytes:
                writer.Write(bytes);
                break;
            case List<object?> list:
                writer.WriteArrayHeader(list.Count);
                foreach (var item in list)
                {
                    Write(ref writer, item, depth + 1);
                }

                break;
            case Dictionary<string, object?> map:
                writer.WriteMapHeader(map.Count);
                foreach (var (key, item) in map)
                {
                    writer.Write(key);
                    Write(ref writer, item, depth + 1);
                }

                break;
            default:
                throw new ArgumentException($"not a plain value: {value.GetType().Name}");
        }
    }

    private static void AppendJson(StringBuilder text, object? value, int limit)
    {
        if (text.Length > limit)
        {
            return;
        }

        switch (value)
        {
            case null:
                text.Append("null");
                break;
            case bool b:
                text.Append(b ? "true" : "false");
                break;
            case long or ulong:
                text.Append(Convert.ToString(value, CultureInfo.InvariantCulture));
                break;
            case double d:
                var number = d.ToString("R", CultureInfo.InvariantCulture);
                text.Append(number.AsSpan().IndexOfAny('.', 'E') >= 0 || double.IsNaN(d) || double.IsInfinity(d) ? number : number + ".0");
                break;
            case string s:
                text.Append(JsonSerializer.Serialize(s));
                break;
            case byte[] bytes:
                text.Append("bin(").Append(bytes.Length).Append(" bytes)");
                break;
            case List<object?> list:
                text.Append('[');
                for (var i = 0; i < list.Count; i++)
                {
                    if (i > 0)
                    {
                        text.Append(", ");
                    }

                    AppendJson(text, list[i], limit);
                }

                text.Append(']');
                break;
            case Dictionary<string, object?> map:
                text.Append('{');
                var first = true;
                foreach (var (key, item) in map)
                {
                    if (!first)
                    {
                        text.Append(", ");
                    }

                    first = false;
                    text.Append(JsonSerializer.Serialize(key)).Append(": ");
                    AppendJson(text, item, limit);
                }

                text.Append('}');
                break;
            default:
                text.Append(value);
                break;
        }
    }
}
