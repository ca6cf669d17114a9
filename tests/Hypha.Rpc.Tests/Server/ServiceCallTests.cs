using System.Diagnostics;
using System.Text.Json;
using Hypha.Rpc.Tests.Support;
using WorkspaceStorage.Testing.Hypha;
using WorkspaceStorage.Testing.Support;

namespace Hypha.Rpc.Tests.Server;

/// <summary>
/// A service registered in <c>public</c> through the root-token exchange, called by the real Python hypha_rpc client
/// and by our own client, against a real Hypha server.
/// </summary>
[Collection(HyphaCollection.Name)]
public sealed class ServiceCallTests(HyphaServerFixture hypha, ITestOutputHelper output)
{
    private readonly LogCapture logs = new();

    [Fact]
    public async Task Anonymous_python_caller_gets_public_service_and_is_stamped_with_its_own_context()
    {
        var server = hypha.Require();
        var id = TestClients.NewServiceId("echo");
        await using var client = await TestClients.StartRegisteredAsync(server, logs, [TestService.Create(id)]);

        var result = await PythonResults.RunAsync(server, "hypha_caller.py", ["echo", $"public/{id}"]);

        var callerWs = result.GetProperty("caller_ws").GetString()!;
        Assert.StartsWith("ws-user-anonymouz-", callerWs);
        var positional = result.GetProperty("positional");
        Assert.Equal("""[1,"two",3.5,null,[1,2],{"k":"v"}]""", positional.GetProperty("args").GetRawText());
        Assert.Equal("{}", positional.GetProperty("kwargs").GetRawText());
        var keyword = result.GetProperty("keyword");
        Assert.Equal("""["a"]""", keyword.GetProperty("args").GetRawText());
        Assert.True(keyword.GetProperty("kwargs").GetProperty("flag").GetBoolean());
        Assert.Equal("x", keyword.GetProperty("kwargs").GetProperty("name").GetString());

        // The context is Hypha's stamp: the caller's workspace and client, its anonymous user with admin on its own workspace.
        Assert.Equal(callerWs, positional.GetProperty("ws").GetString());
        Assert.Equal($"{callerWs}/{result.GetProperty("caller_client").GetString()}", positional.GetProperty("from").GetString());
        Assert.Equal($"public/{client.Options.ClientId}", positional.GetProperty("to").GetString());
        Assert.True(positional.GetProperty("is_anonymous").GetBoolean());
        Assert.Equal(callerWs, positional.GetProperty("scope").GetProperty("current_workspace").GetString());
        Assert.Equal("a", positional.GetProperty("scope").GetProperty("workspaces").GetProperty(callerWs).GetString());
        Assert.Equal("Admin", positional.GetProperty("permission").GetString());
        Assert.Equal("Return the arguments and the caller's context.", result.GetProperty("doc").GetString());
        Assert.Equal("echo", result.GetProperty("schema").GetProperty("name").GetString());
        AssertNoSecretsIn(logs.All, server);
    }

    [Fact]
    public async Task Caller_with_a_read_only_token_is_stamped_with_its_workspace_user_and_read_permission()
    {
        var server = hypha.Require();
        var id = TestClients.NewServiceId("scope");
        await using var client = await TestClients.StartRegisteredAsync(server, logs, [TestService.Create(id)]);

        // An anonymous user mints a read-only token for its own workspace; a second connection calls with it.
        var result = await PythonResults.RunAsync(server, "hypha_caller.py", ["echo_child", $"public/{id}", "read"]);

        var callerWs = result.GetProperty("caller_ws").GetString()!;
        var echo = result.GetProperty("echo");
        Assert.Equal(callerWs, echo.GetProperty("ws").GetString());
        Assert.Equal(result.GetProperty("child_user").GetString(), echo.GetProperty("user_id").GetString());
        Assert.NotEqual(result.GetProperty("parent_user").GetString(), echo.GetProperty("user_id").GetString());
        Assert.Equal("r", echo.GetProperty("scope").GetProperty("workspaces").GetProperty(callerWs).GetString());
        Assert.Equal("Read", echo.GetProperty("permission").GetString());
        Assert.Equal("""["anonymous"]""", echo.GetProperty("roles").GetRawText());
    }

    [Fact]
    public async Task Our_own_client_calls_the_service_with_positional_and_keyword_arguments()
    {
        var server = hypha.Require();
        var id = TestClients.NewServiceId("own");
        await using var client = await TestClients.StartRegisteredAsync(server, logs, [TestService.Create(id)]);
        await using var caller = await TestClients.StartRootCallerAsync(server, logs);

        var answer = await caller.CallAsync($"public/{client.Options.ClientId}", $"services.{id}.echo",
            [1L, "x", new byte[] { 1, 2, 3 }], new Dictionary<string, object?> { ["flag"] = true }, cancellationToken: TestContext.Current.CancellationToken);

        var map = Assert.IsAssignableFrom<IReadOnlyDictionary<string, object?>>(answer);
        var args = Assert.IsAssignableFrom<IReadOnlyList<object?>>(map["args"]);
        Assert.Equal(1L, args[0]);
        Assert.Equal("x", args[1]);
        Assert.Equal(new byte[] { 1, 2, 3 }, args[2]);
        Assert.Equal(true, Assert.IsAssignableFrom<IReadOnlyDictionary<string, object?>>(map["kwargs"])["flag"]);
        Assert.Equal("ws-user-root", map["ws"]);
        Assert.Equal("root", map["user_id"]);
        Assert.Equal($"ws-user-root/{caller.Options.ClientId}", map["from"]);
    }

    [Fact]
    public async Task Rejections_reach_python_with_our_message_internal_errors_stay_hidden_and_unknown_functions_fail_cleanly()
    {
        var server = hypha.Require();
        var id = TestClients.NewServiceId("reject");
        await using var client = await TestClients.StartRegisteredAsync(server, logs, [TestService.Create(id)]);

        var result = await PythonResults.RunAsync(server, "hypha_caller.py", ["reject", $"public/{id}"]);

        Assert.Contains("PermissionError: deliberate refusal for the test", result.GetProperty("fail").GetString());
        var crash = result.GetProperty("crash").GetString()!;
        Assert.Contains("InternalError: crash failed (reference ", crash);
        Assert.DoesNotContain(TestService.CrashSecret, crash);
        Assert.DoesNotContain("InvalidOperationException", crash);
        Assert.DoesNotContain("   at ", crash); // no .NET stack trace
        Assert.Contains("Method not found", result.GetProperty("unknown").GetString());
        Assert.Equal("""["still alive"]""", result.GetProperty("after").GetRawText());

        // The operator still finds the details, under the reference the caller saw.
        var reference = crash[(crash.IndexOf("reference ", StringComparison.Ordinal) + 10)..][..8];
        Assert.Contains(logs.Lines, l => l.Contains(reference, StringComparison.Ordinal) && l.Contains(TestService.CrashSecret, StringComparison.Ordinal));
    }

    [Fact]
    public async Task Argument_over_256_KiB_in_and_5000_entry_result_out_arrive_intact()
    {
        var server = hypha.Require();
        var id = TestClients.NewServiceId("big");
        await using var client = await TestClients.StartRegisteredAsync(server, logs, [TestService.Create(id)]);

        var incoming = await PythonResults.RunAsync(server, "hypha_caller.py", ["big_in", $"public/{id}", "5000"]);
        var summary = incoming.GetProperty("summary");
        Assert.Equal(5000, summary.GetProperty("count").GetInt32());
        Assert.Equal(incoming.GetProperty("sent_first").GetRawText(), summary.GetProperty("first").GetRawText());
        Assert.Equal(incoming.GetProperty("sent_last").GetRawText(), summary.GetProperty("last").GetRawText());
        Assert.Equal(600 * 1024, summary.GetProperty("blob_bytes").GetInt32());
        Assert.Equal(incoming.GetProperty("sent_blob_sha256").GetString(), summary.GetProperty("blob_sha256").GetString());

        var outgoing = await PythonResults.RunAsync(server, "hypha_caller.py", ["big_out", $"public/{id}", "5000"]);
        Assert.Equal(5000, outgoing.GetProperty("count").GetInt32());
        Assert.True(outgoing.GetProperty("intact").GetBoolean());
        var bytes = outgoing.GetProperty("bytes").GetInt32();
        Assert.True(bytes > 256 * 1024, $"the 5,000-entry result is only {bytes} bytes: it did not need chunking");
        output.WriteLine($"5,000 entries: {bytes} bytes ({bytes / 1024.0:0} KiB, {(bytes + 262143) / 262144} chunks) to Python in {outgoing.GetProperty("seconds").GetDouble():0.000} s");

        // Our own client on both ends: a chunked argument out and a chunked result back.
        await using var caller = await TestClients.StartRootCallerAsync(server, logs);
        var started = Stopwatch.GetTimestamp();
        var big = await caller.CallAsync($"public/{client.Options.ClientId}", $"services.{id}.big", [5000L], cancellationToken: TestContext.Current.CancellationToken);
        var list = Assert.IsAssignableFrom<IReadOnlyList<object?>>(big);
        Assert.Equal(TestService.Entries(5000).Select(Json), list.Select(Json));
        var blob = new byte[700 * 1024];
        Random.Shared.NextBytes(blob);
        var measured = Assert.IsAssignableFrom<IReadOnlyDictionary<string, object?>>(await caller.CallAsync(
            $"public/{client.Options.ClientId}", $"services.{id}.measure", [TestService.Entries(3000)], new Dictionary<string, object?> { ["blob"] = blob },
            cancellationToken: TestContext.Current.CancellationToken));
        Assert.Equal(3000, Convert.ToInt32(measured["count"], System.Globalization.CultureInfo.InvariantCulture));
        Assert.Equal(Convert.ToHexStringLower(System.Security.Cryptography.SHA256.HashData(blob)), measured["blob_sha256"]);
        output.WriteLine($"C# to C#: 5,000-entry result and a 700 KiB + 3,000-entry argument in {Stopwatch.GetElapsedTime(started).TotalMilliseconds:0} ms");
    }

    [Fact]
    public async Task A_call_longer_than_the_callers_timeout_completes_thanks_to_heartbeats()
    {
        var server = hypha.Require();
        var id = TestClients.NewServiceId("slow");
        await using var client = await TestClients.StartRegisteredAsync(server, logs, [TestService.Create(id)]);

        // hypha_rpc gives up after method_timeout (3 s) without a heartbeat; the call takes 7 s.
        var result = await PythonResults.RunAsync(server, "hypha_caller.py", ["slow", $"public/{id}", "7"],
            new Dictionary<string, string> { ["METHOD_TIMEOUT"] = "3" });

        Assert.Equal("slept 7 s", result.GetProperty("value").GetString());
        Assert.True(result.GetProperty("seconds").GetDouble() >= 7);
    }

    [Fact]
    public async Task Our_own_call_outlives_its_timeout_while_the_callee_sends_heartbeats_and_times_out_without_them()
    {
        var server = hypha.Require();
        var id = TestClients.NewServiceId("ownslow");
        await using var client = await TestClients.StartRegisteredAsync(server, logs, [TestService.Create(id)]);
        await using var caller = await TestClients.StartRootCallerAsync(server, logs);
        var target = $"public/{client.Options.ClientId}";

        // t = 1 s: the callee heartbeats every ~330 ms, each one moving the 2 s deadline.
        var answer = await caller.CallAsync(target, $"services.{id}.slow", [5.0], timeout: TimeSpan.FromSeconds(2), cancellationToken: TestContext.Current.CancellationToken);
        Assert.Equal("slept 5 s", answer);

        // A method the callee takes for a stray answer and ignores: no answer, no heartbeat, so the timeout holds.
        var started = Stopwatch.GetTimestamp();
        await Assert.ThrowsAsync<TimeoutException>(() =>
            caller.CallAsync(target, "0123abcd.resolve", timeout: TimeSpan.FromSeconds(1), cancellationToken: TestContext.Current.CancellationToken));
        Assert.InRange(Stopwatch.GetElapsedTime(started).TotalSeconds, 0.9, 5);
    }

    [Fact]
    public async Task Two_hundred_calls_in_flight_from_four_python_clients_all_succeed_and_a_slow_call_blocks_none()
    {
        var server = hypha.Require();
        var id = TestClients.NewServiceId("many");
        await using var client = await TestClients.StartRegisteredAsync(server, logs, [TestService.Create(id)]);
        var outcomes = new List<HyphaCallCompleted>();
        client.CallCompleted += outcome =>
        {
            lock (outcomes)
            {
                outcomes.Add(outcome);
            }
        };

        var started = Stopwatch.GetTimestamp();
        var runs = await Task.WhenAll(Enumerable.Range(0, 4).Select(_ =>
            PythonResults.RunAsync(server, "hypha_caller.py", ["concurrent", $"public/{id}", "50"])));
        var elapsed = Stopwatch.GetElapsedTime(started);

        foreach (var run in runs)
        {
            Assert.Equal(50, run.GetProperty("ok").GetInt32());
            // Each client's 50 fast calls finish while its 3 s call still runs.
            Assert.True(run.GetProperty("fast_seconds").GetDouble() < 2.5, $"fast calls waited for the slow one: {run}");
            output.WriteLine($"client: 50 echo calls in {run.GetProperty("fast_seconds").GetDouble():0.000} s (p50 {run.GetProperty("p50").GetDouble() * 1000:0} ms, max {run.GetProperty("max").GetDouble() * 1000:0} ms), slow call {run.GetProperty("slow_seconds").GetDouble():0.00} s");
        }

        output.WriteLine($"4 Python clients x (50 + 1 slow) calls: {elapsed.TotalSeconds:0.00} s including their start-up");
        lock (outcomes)
        {
            Assert.Equal(200, outcomes.Count(o => o.Function == "echo" && o.Result == HyphaCallResult.Ok));
            Assert.Equal(4, outcomes.Count(o => o.Function == "slow" && o.Result == HyphaCallResult.Ok));
        }
    }

    private static string Json(object? value) => JsonSerializer.Serialize(value);

    private static void AssertNoSecretsIn(string text, HyphaTestServer server)
    {
        Assert.DoesNotContain(server.RootToken, text, StringComparison.Ordinal);
        Assert.DoesNotContain("eyJ", text, StringComparison.Ordinal); // any JWT (minted, reconnection)
    }
}
