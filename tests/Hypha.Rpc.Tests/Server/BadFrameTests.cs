using Hypha.Rpc.Tests.Support;
using WorkspaceStorage.Testing.Hypha;
using WorkspaceStorage.Testing.Support;

namespace Hypha.Rpc.Tests.Server;

/// <summary>Hand-made frames, delivered by a real Hypha: each bad one fails only its own call.</summary>
[Collection(HyphaCollection.Name)]
public sealed class BadFrameTests(HyphaServerFixture hypha, ITestOutputHelper output)
{
    private readonly LogCapture logs = new();

    [Fact]
    public async Task Malformed_oversized_and_unknown_calls_are_rejected_alone_and_the_connection_keeps_serving()
    {
        var server = hypha.Require();
        var id = TestClients.NewServiceId("frames");
        await using var client = await TestClients.StartRegisteredAsync(server, logs, [TestService.Create(id)],
            o => o with { MaxFrameBytes = 1024 * 1024 });

        var started = System.Diagnostics.Stopwatch.GetTimestamp();
        var answers = await PythonResults.RunAsync(server, "raw_frames.py", [$"public/{client.Options.ClientId}", id, (2 * 1024 * 1024).ToString()]);

        output.WriteLine(answers.ToString());
        output.WriteLine($"raw frames answered in {System.Diagnostics.Stopwatch.GetElapsedTime(started).TotalSeconds:0.0} s (Python start included)");
        Assert.Equal("reject", answers.GetProperty("malformed").GetProperty("kind").GetString());
        Assert.StartsWith("ValueError: malformed message", answers.GetProperty("malformed").GetProperty("value").GetString());
        Assert.Equal("reject", answers.GetProperty("oversized").GetProperty("kind").GetString());
        Assert.StartsWith("ValueError: message too large", answers.GetProperty("oversized").GetProperty("value").GetString());
        Assert.Equal("reject", answers.GetProperty("unknown").GetProperty("kind").GetString());
        Assert.Contains("Method not found", answers.GetProperty("unknown").GetProperty("value").GetString());
        Assert.Equal("resolve", answers.GetProperty("valid").GetProperty("kind").GetString());
        Assert.Equal("""["after the bad frames"]""", answers.GetProperty("valid").GetProperty("value").GetProperty("args").GetRawText());

        // Same connection throughout, and the log names the problem without the payload.
        Assert.Equal(1, client.Registration?.Connection);
        Assert.Contains(logs.Lines, l => l.Contains("message too large", StringComparison.Ordinal));
        Assert.DoesNotContain(logs.Lines, l => l.Contains("xxxxxxxx", StringComparison.Ordinal) || l.Contains("garbage", StringComparison.Ordinal));
        var lookup = await PythonResults.RunAsync(server, "hypha_caller.py", ["lookup", $"public/{id}"]);
        Assert.True(lookup.GetProperty("found").GetBoolean(), lookup.ToString());
    }
}
