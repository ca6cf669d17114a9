using System.Text.Json;
using System.Text.Json.Nodes;
using System.Text.Json.Serialization;
using Hypha.Rpc.Protocol;
using MessagePack;

namespace Hypha.Rpc.Tests.Unit;

public sealed class MsgPackTests
{
    [Fact]
    public void Plain_values_round_trip_as_the_documented_dotnet_types()
    {
        var value = new Dictionary<string, object?>
        {
            ["s"] = "text", ["i"] = 42, ["l"] = long.MinValue, ["u"] = ulong.MaxValue, ["d"] = 3.25, ["f"] = 1.5f,
            ["b"] = true, ["n"] = null, ["bytes"] = new byte[] { 0, 255 }, ["list"] = new object?[] { 1, "x", null },
            ["map"] = new Dictionary<string, int> { ["a"] = 1 }, ["enum"] = DayOfWeek.Friday,
        };

        var back = Assert.IsAssignableFrom<IReadOnlyDictionary<string, object?>>(MsgPackValues.Deserialize(MsgPackValues.Serialize(value)));

        Assert.Equal("text", back["s"]);
        Assert.Equal(42L, back["i"]);
        Assert.Equal(long.MinValue, back["l"]);
        Assert.Equal(ulong.MaxValue, back["u"]);
        Assert.Equal(3.25, back["d"]);
        Assert.Equal(1.5, back["f"]);
        Assert.Equal(true, back["b"]);
        Assert.Null(back["n"]);
        Assert.Equal(new byte[] { 0, 255 }, back["bytes"]);
        Assert.Equal(new object?[] { 1L, "x", null }, Assert.IsAssignableFrom<IReadOnlyList<object?>>(back["list"]));
        Assert.Equal(1L, Assert.IsAssignableFrom<IReadOnlyDictionary<string, object?>>(back["map"])["a"]);
        Assert.Equal("Friday", back["enum"]);
    }

    [Fact]
    public void Records_and_json_values_are_written_in_their_json_shape()
    {
        var back = Assert.IsAssignableFrom<IReadOnlyDictionary<string, object?>>(
            MsgPackValues.Deserialize(MsgPackValues.Serialize(new Sample("k", 7, [1.5]), SampleJsonContext.Default.Options)));

        Assert.Equal("k", back["name"]);
        Assert.Equal(7L, back["size"]);
        Assert.Equal(new object?[] { 1.5 }, Assert.IsAssignableFrom<IReadOnlyList<object?>>(back["values"]));
        var json = JsonDocument.Parse("""{"a":[1,2.5,"x",true,null]}""").RootElement;
        Assert.Equal(new object?[] { 1L, 2.5, "x", true, null },
            Assert.IsAssignableFrom<IReadOnlyList<object?>>(Assert.IsAssignableFrom<IReadOnlyDictionary<string, object?>>(MsgPackValues.Deserialize(MsgPackValues.Serialize(json)))["a"]));
        var node = JsonNode.Parse("""{"n":{"m":[1,"y"]}}""");
        Assert.Equal(new object?[] { 1L, "y" }, Assert.IsAssignableFrom<IReadOnlyList<object?>>(
            Assert.IsAssignableFrom<IReadOnlyDictionary<string, object?>>(Assert.IsAssignableFrom<IReadOnlyDictionary<string, object?>>(MsgPackValues.Deserialize(MsgPackValues.Serialize(node)))["n"])["m"]));
    }

    [Fact]
    public void A_record_without_a_json_contract_is_refused_naming_the_setting_instead_of_reflecting_over_it()
    {
        // Reflection would work here and fail only in the Native AOT build; the error is the same in both.
        var error = Assert.Throws<NotSupportedException>(() => MsgPackValues.Serialize(new Sample("k", 7, [])));
        Assert.Contains(nameof(Sample), error.Message);
        Assert.Contains(nameof(HyphaRpcOptions.ResultJsonOptions), error.Message);
        Assert.Throws<NotSupportedException>(() => MsgPackValues.Serialize(new Sample("k", 7, []), OtherJsonContext.Default.Options));
    }

    [Fact]
    public void Hostile_nesting_is_refused_instead_of_overflowing_the_stack()
    {
        // 100,000 nested one-element arrays: 0x91 repeated, then nil.
        var bytes = Enumerable.Repeat((byte)0x91, 100_000).Append((byte)0xc0).ToArray();

        Assert.Throws<MessagePackSerializationException>(() => MsgPackValues.Deserialize(bytes));
    }

    [Fact]
    public void A_length_header_larger_than_the_data_fails_without_allocating_it()
    {
        // array32 claiming 2^31 - 1 elements, followed by nothing.
        Assert.ThrowsAny<Exception>(() => MsgPackValues.Deserialize(new byte[] { 0xdd, 0x7f, 0xff, 0xff, 0xff }));
    }

    [Fact]
    public void Frames_merge_main_and_extra_and_refuse_anything_else()
    {
        var frame = RpcFrames.Encode(new Dictionary<string, object?> { ["type"] = "method", ["to"] = "a" }, new Dictionary<string, object?> { ["args"] = new[] { 1 }, ["to"] = "extra wins" });

        var merged = RpcFrames.Decode(frame);
        Assert.Equal("method", merged["type"]);
        Assert.Equal("extra wins", merged["to"]);
        Assert.Equal(1L, Assert.IsAssignableFrom<IReadOnlyList<object?>>(merged["args"])[0]);

        Assert.Throws<MalformedFrameException>(() => RpcFrames.Decode(MsgPackValues.Serialize(new[] { 1, 2 })));
        Assert.Throws<MalformedFrameException>(() => RpcFrames.Decode(frame.Concat(MsgPackValues.Serialize(new Dictionary<string, object?>())).ToArray()));
        Assert.Throws<MalformedFrameException>(() => RpcFrames.Decode(new byte[] { 0x81, 0xa1, (byte)'a', 0xc1 }));
        var main = RpcFrames.TryDecodeMain(frame.Concat(new byte[] { 0xc1, 0xc1 }).ToArray());
        Assert.Equal("a", main?["to"]);
        Assert.Null(RpcFrames.TryDecodeMain(new byte[] { 0xc1 }));
    }

    internal sealed record Sample(string Name, int Size, double[] Values);
}

[JsonSourceGenerationOptions(JsonSerializerDefaults.Web)]
[JsonSerializable(typeof(MsgPackTests.Sample))]
internal sealed partial class SampleJsonContext : JsonSerializerContext;

/// <summary>A contract that knows other types only.</summary>
[JsonSerializable(typeof(int))]
internal sealed partial class OtherJsonContext : JsonSerializerContext;
