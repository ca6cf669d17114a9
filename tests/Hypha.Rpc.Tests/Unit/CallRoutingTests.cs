using Hypha.Rpc.Calls;
using Hypha.Rpc.Protocol;
using Hypha.Rpc.Services;

namespace Hypha.Rpc.Tests.Unit;

public sealed class CallRoutingTests
{
    [Fact]
    public void Short_promise_answers_the_caller_session()
    {
        var call = Incoming(new() { ["promise"] = "*", ["session"] = "s1", ["t"] = 15.0 });

        Assert.True(call.WantsAnswer);
        Assert.Equal(("ws-a/caller", "s1.resolve"), call.ResolveAddress);
        Assert.Equal(("ws-a/caller", "s1.reject"), call.RejectAddress);
        Assert.Equal(("ws-a/caller", "s1.heartbeat"), call.HeartbeatAddress);
        Assert.Equal(15.0, call.HeartbeatSeconds);
    }

    [Fact]
    public void Long_promise_answers_the_named_callbacks_in_the_callers_workspace()
    {
        var call = Incoming(new()
        {
            ["session"] = "s1",
            ["promise"] = new Dictionary<string, object?>
            {
                ["resolve"] = Descriptor("caller", "s1.resolve"),
                ["reject"] = Descriptor("ws-a/caller", "s1.reject"),
                ["heartbeat"] = Descriptor("caller", "s1.heartbeat"),
                ["interval"] = 30L,
            },
        });

        Assert.Equal(("ws-a/caller", "s1.resolve"), call.ResolveAddress);
        Assert.Equal(("ws-a/caller", "s1.reject"), call.RejectAddress);
        Assert.Equal(("ws-a/caller", "s1.heartbeat"), call.HeartbeatAddress);
        Assert.Equal(30.0, call.HeartbeatSeconds);
    }

    [Fact]
    public void A_promise_pointing_at_a_third_party_gets_no_answer()
    {
        // Otherwise any caller could make this client call another client's method with this client's identity.
        var call = Incoming(new()
        {
            ["session"] = "s1",
            ["promise"] = new Dictionary<string, object?>
            {
                ["resolve"] = Descriptor("public/victim", "services.x.delete_everything"),
                ["reject"] = Descriptor("ws-a/caller", "s1.reject"),
            },
        });

        Assert.False(call.WantsAnswer);
        Assert.True(call.IgnoredPromise);
        Assert.Null(call.ResolveAddress);
    }

    [Fact]
    public void Without_a_session_nothing_is_answered()
    {
        var call = Incoming(new() { ["promise"] = "*" });

        Assert.False(call.WantsAnswer);
        Assert.False(call.WantsHeartbeats);
    }

    [Fact]
    public void Keyword_arguments_are_split_from_the_positional_ones()
    {
        var message = new RpcMessage(new Dictionary<string, object?>
        {
            ["args"] = new List<object?> { 1L, new Dictionary<string, object?> { ["k"] = "v" } },
            ["with_kwargs"] = true,
        });

        var (positional, keywords) = Arguments.Split(message);

        Assert.Equal([1L], positional);
        Assert.Equal("v", keywords["k"]);
        var call = new HyphaCall(positional, keywords, new HyphaCallContext(null, null, null, null, new Dictionary<string, object?>()));
        Assert.Equal("v", call.GetArgument("k", 5));
        Assert.Equal(1L, call.GetArgument("first", 0));
        Assert.Equal("default", call.GetArgument("absent", 3, "default"));
    }

    [Theory]
    [InlineData(15.0, 5000)]
    [InlineData(0.15, 100)]
    [InlineData(600.0, 10000)]
    [InlineData(null, 10000)]
    public void Heartbeats_come_every_third_of_the_callers_period_bounded(double? callerSeconds, int expectedMilliseconds) =>
        Assert.Equal(TimeSpan.FromMilliseconds(expectedMilliseconds), HeartbeatPump.Period(callerSeconds, TimeSpan.FromSeconds(10)));

    [Fact]
    public void Permission_is_the_strongest_of_the_workspace_grant_and_the_wildcard()
    {
        var user = HyphaUser.FromValue(new Dictionary<string, object?>
        {
            ["id"] = "u1",
            ["is_anonymous"] = false,
            ["roles"] = new List<object?> { "admin" },
            ["scope"] = new Dictionary<string, object?>
            {
                ["current_workspace"] = "public",
                ["workspaces"] = new Dictionary<string, object?> { ["public"] = "r", ["ws-b"] = "rw", ["*"] = "rw" },
            },
        })!;

        Assert.Equal(HyphaPermission.ReadWrite, user.GetPermission("public"));
        Assert.Equal(HyphaPermission.ReadWrite, user.GetPermission("elsewhere"));
        Assert.Equal(["admin"], user.Roles);
        Assert.Equal("public", user.Scope!.CurrentWorkspace);
        Assert.Null(HyphaUser.FromValue("not a map"));
    }

    [Fact]
    public void Service_definitions_are_validated_naming_the_field()
    {
        static Task<object?> Handler(HyphaCall c, CancellationToken t) => Task.FromResult<object?>(null);
        HyphaServiceDefinition Service(string id, params HyphaFunction[] functions) => new() { Id = id, Functions = functions };

        Assert.Contains("reserved", Assert.Throws<ArgumentException>(() => Service("built-in", new HyphaFunction("f", "d", Handler)).Validate()).Message);
        Assert.Contains("'/'", Assert.Throws<ArgumentException>(() => Service("a/b", new HyphaFunction("f", "d", Handler)).Validate()).Message);
        Assert.Contains("twice", Assert.Throws<ArgumentException>(() => Service("s", new HyphaFunction("f", "d", Handler), new HyphaFunction("f", "d", Handler)).Validate()).Message);
        Assert.Contains("'.'", Assert.Throws<ArgumentException>(() => Service("s", new HyphaFunction("a.b", "d", Handler)).Validate()).Message);
        Assert.Contains("JSON", Assert.Throws<ArgumentException>(() => HyphaFunction.Create("f", "d", "{not json", Handler)).Message);
        Assert.Contains("twice", Assert.Throws<ArgumentException>(() => new ServiceRegistry([Service("s", new HyphaFunction("f", "d", Handler)), Service("s", new HyphaFunction("g", "d", Handler))])).Message);
        Assert.Equal("s3-storage", ServiceRegistry.ShortId("public/client-1:s3-storage@*"));
        var fromValues = HyphaFunction.Create("f", "d", new Dictionary<string, object?> { ["type"] = "object", ["required"] = new[] { "path" } }, Handler);
        Assert.Equal("""{"type":"object","required":["path"]}""", fromValues.Parameters.GetRawText());
        Assert.Contains("plain", Assert.Throws<ArgumentException>(() => HyphaFunction.Create("f", "d", new Dictionary<string, object?> { ["when"] = DateTime.UnixEpoch }, Handler)).Message);
    }

    private static IncomingCall Incoming(Dictionary<string, object?> fields)
    {
        fields["type"] = "method";
        fields["from"] = "ws-a/caller";
        fields["to"] = "public/me";
        fields["method"] = "services.svc.fn";
        return new IncomingCall(new RpcMessage(fields), null!);
    }

    private static Dictionary<string, object?> Descriptor(string target, string method) => new()
    {
        ["_rtype"] = "method",
        ["_rtarget"] = target,
        ["_rmethod"] = method,
    };
}
