using System.Buffers;
using System.Collections;
using System.Globalization;
using System.Text.Json;
using System.Text.Json.Nodes;
using MessagePack;

namespace Hypha.Rpc.Protocol;

/// <summary>
/// Converts between msgpack and plain .NET values: null, bool, long (ulong above long.MaxValue), double, string,
/// byte[], <see cref="IReadOnlyList{T}"/> of object? and <see cref="IReadOnlyDictionary{TKey,TValue}"/> of string to
/// object?. Depth is bounded both ways, so a hostile frame cannot overflow the stack. Reader and writer are driven by
/// hand (no MessagePackSerializer, no resolver) and nothing looks at types by reflection, so the same code runs
/// trimmed and under Native AOT.
/// </summary>
internal static class MsgPackValues
{
    public const int MaxDepth = 64;

    /// <summary>Reads one msgpack value at the reader's position.</summary>
    public static object? Read(ref MessagePackReader reader, int depth = 0)
    {
        if (depth > MaxDepth)
        {
            throw new MessagePackSerializationException($"msgpack nesting deeper than {MaxDepth}");
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
                    var list = new List<object?>(Math.Min(count, 1024));
                    for (var i = 0; i < count; i++)
                    {
                        list.Add(Read(ref reader, depth + 1));
                    }

                    return list;
                }

            case MessagePackType.Map:
                {
                    var count = reader.ReadMapHeader();
                    var map = new Dictionary<string, object?>(Math.Min(count, 1024), StringComparer.Ordinal);
                    for (var i = 0; i < count; i++)
                    {
                        var key = Read(ref reader, depth + 1);
                        map[KeyText(key)] = Read(ref reader, depth + 1);
                    }

                    return map;
                }

            case MessagePackType.Extension:
                {
                    var header = reader.ReadExtensionFormatHeader();
                    var data = reader.ReadRaw(header.Length).ToArray();
                    return new MsgPackExtension(header.TypeCode, data);
                }

            default:
                throw new MessagePackSerializationException($"unknown msgpack code 0x{reader.NextCode:x2}");
        }
    }

    /// <summary>
    /// Writes a plain .NET value (see the class summary; also JSON elements and nodes, enums, dates). Any other object
    /// (a record, say) is written in its JSON shape, from the contract <paramref name="json"/>'s TypeInfoResolver
    /// (a JsonSerializerContext) has for it.
    /// </summary>
    public static void Write(ref MessagePackWriter writer, object? value, JsonSerializerOptions? json = null, int depth = 0)
    {
        if (depth > MaxDepth)
        {
            throw new InvalidOperationException($"value nested deeper than {MaxDepth} levels");
        }

        switch (value)
        {
            case null:
                writer.WriteNil();
                return;
            case string s:
                writer.Write(s);
                return;
            case bool b:
                writer.Write(b);
                return;
            case int i:
                writer.Write(i);
                return;
            case long l:
                writer.Write(l);
                return;
            case short sh:
                writer.Write(sh);
                return;
            case sbyte sb:
                writer.Write(sb);
                return;
            case byte by:
                writer.Write(by);
                return;
            case ushort us:
                writer.Write(us);
                return;
            case uint ui:
                writer.Write(ui);
                return;
            case ulong ul:
                writer.Write(ul);
                return;
            case double d:
                writer.Write(d);
                return;
            case float f:
                writer.Write((double)f);
                return;
            case decimal m:
                writer.Write((double)m);
                return;
            case byte[] bytes:
                writer.Write(bytes.AsSpan());
                return;
            case ReadOnlyMemory<byte> rom:
                writer.Write(rom.Span);
                return;
            case Memory<byte> mem:
                writer.Write(mem.Span);
                return;
            case char c:
                writer.Write(c.ToString());
                return;
            case Enum e:
                writer.Write(e.ToString());
                return;
            case DateTimeOffset dto:
                writer.Write(dto.ToString("O", CultureInfo.InvariantCulture));
                return;
            case DateTime dt:
                writer.Write(dt.ToString("O", CultureInfo.InvariantCulture));
                return;
            case Guid g:
                writer.Write(g.ToString());
                return;
            case Uri u:
                writer.Write(u.ToString());
                return;
            case MsgPackExtension ext:
                writer.WriteExtensionFormat(new ExtensionResult(ext.TypeCode, ext.Data));
                return;
            case JsonElement element:
                JsonToMsgPack.Write(ref writer, element, depth);
                return;
            case JsonNode node:
                JsonToMsgPack.Write(ref writer, node, depth);
                return;
            case IReadOnlyDictionary<string, object?> readOnlyMap:
                writer.WriteMapHeader(readOnlyMap.Count);
                foreach (var (k, v) in readOnlyMap)
                {
                    writer.Write(k);
                    Write(ref writer, v, json, depth + 1);
                }

                return;
            case IDictionary map:
                writer.WriteMapHeader(map.Count);
                foreach (DictionaryEntry entry in map)
                {
                    writer.Write(KeyText(entry.Key));
                    Write(ref writer, entry.Value, json, depth + 1);
                }

                return;
            case ICollection collection:
                writer.WriteArrayHeader(collection.Count);
                foreach (var item in collection)
                {
                    Write(ref writer, item, json, depth + 1);
                }

                return;
            case IEnumerable sequence:
                {
                    var items = sequence.Cast<object?>().ToList();
                    writer.WriteArrayHeader(items.Count);
                    foreach (var item in items)
                    {
                        Write(ref writer, item, json, depth + 1);
                    }

                    return;
                }

            default:
                JsonToMsgPack.WriteShaped(ref writer, value, json, depth);
                return;
        }
    }

    /// <summary>Encodes one value as a standalone msgpack document.</summary>
    public static byte[] Serialize(object? value, JsonSerializerOptions? json = null)
    {
        var buffer = new ArrayBufferWriter<byte>();
        var writer = new MessagePackWriter(buffer);
        Write(ref writer, value, json);
        writer.Flush();
        return buffer.WrittenSpan.ToArray();
    }

    /// <summary>Decodes a standalone msgpack document (exactly one value).</summary>
    public static object? Deserialize(ReadOnlyMemory<byte> bytes)
    {
        var reader = new MessagePackReader(bytes);
        var value = Read(ref reader);
        if (!reader.End)
        {
            throw new MessagePackSerializationException("trailing bytes after the msgpack value");
        }

        return value;
    }

    private static string KeyText(object? key) => key switch
    {
        null => "",
        string s => s,
        byte[] b => Convert.ToBase64String(b),
        IFormattable f => f.ToString(null, CultureInfo.InvariantCulture),
        _ => key.ToString() ?? "",
    };
}

/// <summary>A msgpack extension value (type code and raw bytes), kept as it came.</summary>
public sealed record MsgPackExtension(sbyte TypeCode, byte[] Data);
