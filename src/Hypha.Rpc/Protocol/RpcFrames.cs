using System.Buffers;
using System.Text.Json;
using MessagePack;

namespace Hypha.Rpc.Protocol;

/// <summary>
/// Hypha's binary frame: <c>msgpack(main) ++ msgpack(extra)</c>, <c>extra</c> optional. The receiver merges the two
/// maps (extra's keys win), which is what hypha_rpc does.
/// </summary>
internal static class RpcFrames
{
    public static byte[] Encode(IReadOnlyDictionary<string, object?> main, IReadOnlyDictionary<string, object?>? extra, JsonSerializerOptions? json = null)
    {
        var buffer = new ArrayBufferWriter<byte>(256);
        var writer = new MessagePackWriter(buffer);
        MsgPackValues.Write(ref writer, main, json);
        if (extra is { Count: > 0 })
        {
            MsgPackValues.Write(ref writer, extra, json);
        }

        writer.Flush();
        return buffer.WrittenSpan.ToArray();
    }

    /// <summary>Decodes a whole frame. Throws <see cref="MalformedFrameException"/> when it is not one or two msgpack maps.</summary>
    public static Dictionary<string, object?> Decode(ReadOnlyMemory<byte> frame)
    {
        var reader = new MessagePackReader(frame);
        var main = ReadMap(ref reader, "main");
        if (!reader.End)
        {
            var extra = ReadMap(ref reader, "extra");
            if (!reader.End)
            {
                throw new MalformedFrameException("more than two msgpack values in the frame");
            }

            foreach (var (key, value) in extra)
            {
                main[key] = value;
            }
        }

        return main;
    }

    /// <summary>
    /// Decodes only the leading main map (routing: type, from, to, method, session), from a prefix of the frame.
    /// Used to answer a frame whose payload is too large or broken. Null when even that cannot be read.
    /// </summary>
    public static Dictionary<string, object?>? TryDecodeMain(ReadOnlyMemory<byte> prefix)
    {
        try
        {
            var reader = new MessagePackReader(prefix);
            return ReadMap(ref reader, "main");
        }
        catch (Exception ex) when (ex is MalformedFrameException or MessagePackSerializationException or EndOfStreamException or InvalidOperationException or OverflowException)
        {
            return null;
        }
    }

    private static Dictionary<string, object?> ReadMap(ref MessagePackReader reader, string part)
    {
        object? value;
        try
        {
            value = MsgPackValues.Read(ref reader);
        }
        catch (Exception ex) when (ex is MessagePackSerializationException or EndOfStreamException or InvalidOperationException or OverflowException)
        {
            throw new MalformedFrameException($"the {part} segment is not valid msgpack ({ex.GetType().Name})");
        }

        return value as Dictionary<string, object?> ?? throw new MalformedFrameException($"the {part} segment is not a map");
    }
}

/// <summary>A binary frame that is not Hypha's two-map msgpack format.</summary>
internal sealed class MalformedFrameException(string message) : Exception(message);
