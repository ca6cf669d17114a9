using Hypha.Rpc.Calls;
using Hypha.Rpc.Protocol;
using Hypha.Rpc.Tests.Support;
using Hypha.Rpc.Transport;
using Microsoft.Extensions.Logging.Abstractions;

namespace Hypha.Rpc.Tests.Unit;

/// <summary>The parts of a session, without a server: what is sent for a call, a large answer, and keepalive.</summary>
public sealed class SessionPartsTests
{
    private static readonly ConnectionInfo Info = new("ws-a", "me", "manager-1", null, null, new Dictionary<string, object?>(), null, TimeSpan.FromMilliseconds(300));

    private static readonly HyphaRpcOptions Options = new() { ServerUrl = "http://127.0.0.1:1", CallTimeout = TimeSpan.FromSeconds(5) };

    [Fact]
    public async Task A_call_is_sent_in_the_short_promise_form_and_completes_with_the_answer_from_its_target_only()
    {
        var pending = new PendingCalls(NullLogger.Instance);
        var sink = new RecordingSink
        {
            OnBinary = frame =>
            {
                var session = (string)frame["session"]!;
                pending.Answer(session, "resolve", Message(new() { ["from"] = "ws-a/intruder", ["args"] = new List<object?> { "forged" } }));
                pending.Answer(session, "resolve", Message(new() { ["from"] = "ws-a/svc", ["args"] = new List<object?> { "pong" } }));
            },
        };
        var sender = new RpcSender(sink, Info, Options, pending, NullLogger.Instance, CancellationToken.None);

        var answer = await sender.CallAsync("svc", "services.x.f", [1L], new Dictionary<string, object?> { ["k"] = "v" }, null, TestContext.Current.CancellationToken);

        Assert.Equal("pong", answer);
        var sent = Assert.Single(sink.Binary);
        Assert.Equal("method", sent["type"]);
        Assert.Equal("ws-a/me", sent["from"]);
        Assert.Equal("ws-a/svc", sent["to"]);
        Assert.Equal("services.x.f", sent["method"]);
        Assert.Equal("*", sent["promise"]);
        Assert.Equal(2.5, sent["t"]);
        Assert.Equal(true, sent["with_kwargs"]);
        Assert.Equal(1L, Assert.IsAssignableFrom<IReadOnlyList<object?>>(sent["args"])[0]);
        Assert.Equal(0, pending.Count);
    }

    [Fact]
    public async Task A_large_answer_goes_through_the_callers_message_cache_keyed_by_its_session_with_heartbeats()
    {
        var pending = new PendingCalls(NullLogger.Instance);
        var sink = new RecordingSink
        {
            OnBinary = frame => pending.Answer((string)frame["session"]!, "resolve", Message(new() { ["from"] = frame["to"], ["args"] = new List<object?> { null } })),
        };
        var options = Options with { ChunkSize = 4096 };
        var sender = new RpcSender(sink, Info, options, pending, NullLogger.Instance, CancellationToken.None);
        var value = new string('x', 10_000);

        await sender.SendAnswerAsync("ws-b/caller", "s1.resolve", value, "s1", TestContext.Current.CancellationToken);

        var methods = sink.Binary.Select(f => (string)f["method"]!).ToList();
        Assert.Equal(["create", "append", "append", "append", "process"], methods.Select(m => m[(m.LastIndexOf('.') + 1)..]));
        Assert.All(methods, m => Assert.StartsWith("services.built-in.message_cache.", m));
        Assert.All(sink.Binary, f => Assert.Equal("ws-b/caller", f["to"]));
        var steps = sink.Binary.Select(f => Assert.IsAssignableFrom<IReadOnlyList<object?>>(f["args"])).ToList();
        Assert.All(steps, args => Assert.Equal("s1", args[0]));
        Assert.All(steps, args => Assert.Equal(true, args[^1]));
        var package = steps.Skip(1).SkipLast(1).SelectMany(args => (byte[])args[1]!).ToArray();
        var answer = RpcFrames.Decode(package);
        Assert.Equal("s1.resolve", answer["method"]);
        Assert.Equal(value, Assert.IsAssignableFrom<IReadOnlyList<object?>>(answer["args"])[0]);
    }

    [Fact]
    public async Task Keepalive_pings_asks_for_a_fresh_reconnection_token_within_half_its_lifetime_and_ends_with_the_session()
    {
        Keepalive? keepalive = null;
        var sink = new RecordingSink { OnText = _ => keepalive!.FrameReceived() }; // Hypha answers every ping
        keepalive = new Keepalive(sink, Info, Options with { KeepaliveInterval = TimeSpan.FromMilliseconds(40), DeadSocketTimeout = TimeSpan.FromSeconds(30) }, NullLogger.Instance);
        using var session = new CancellationTokenSource();

        var running = keepalive.RunAsync(session.Token);
        await Until(() => sink.Text.Count(t => t.Contains("refresh_token", StringComparison.Ordinal)) >= 2);
        await session.CancelAsync();
        await running.WaitAsync(TimeSpan.FromSeconds(5), TestContext.Current.CancellationToken);

        Assert.Contains("""{"type":"ping"}""", sink.Text);
        Assert.True(sink.Text.Count(t => t.Contains("ping", StringComparison.Ordinal)) > sink.Text.Count(t => t.Contains("refresh_token", StringComparison.Ordinal)));
        Assert.False(sink.Aborted);
    }

    [Fact]
    public async Task Keepalive_drops_a_socket_that_stays_silent()
    {
        var sink = new RecordingSink();
        var keepalive = new Keepalive(sink, Info, Options with { KeepaliveInterval = TimeSpan.FromMilliseconds(40), DeadSocketTimeout = TimeSpan.FromMilliseconds(200) }, NullLogger.Instance);

        await keepalive.RunAsync(CancellationToken.None).WaitAsync(TimeSpan.FromSeconds(10), TestContext.Current.CancellationToken);

        Assert.True(sink.Aborted);
        Assert.NotEmpty(sink.Text);
    }

    private static RpcMessage Message(Dictionary<string, object?> fields)
    {
        fields["type"] = "method";
        return new RpcMessage(fields);
    }

    private static async Task Until(Func<bool> condition)
    {
        var deadline = DateTime.UtcNow + TimeSpan.FromSeconds(10);
        while (!condition())
        {
            Assert.True(DateTime.UtcNow < deadline, "the condition did not hold within 10 s");
            await Task.Delay(20, TestContext.Current.CancellationToken);
        }
    }
}
