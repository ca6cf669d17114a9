using System.Diagnostics;
using Hypha.Rpc.Tests.Support;
using WorkspaceStorage.Testing.Hypha;

namespace Hypha.Rpc.Tests.Server;

/// <summary>A server of its own: restarting it would disturb the other tests.</summary>
public sealed class RestartableHyphaServer : HyphaServerFixture;

/// <summary>Hypha restarts (losing every registration, its JWT secret and its root token); the client comes back by itself.</summary>
[Collection(HyphaCollection.Name)]
public sealed class RestartTests(RestartableHyphaServer hypha, ITestOutputHelper output) : IClassFixture<RestartableHyphaServer>
{
    private readonly CapturingLoggerProvider logs = new();

    [Fact]
    public async Task After_a_Hypha_restart_the_service_is_back_within_10_seconds_without_restarting_the_client()
    {
        var server = hypha.Require();
        var id = TestClients.NewServiceId("restart");
        var source = TestClients.RootExchange(server, logs);
        await using var client = await TestClients.StartRegisteredAsync(server, logs, [TestService.Create(id)], tokenSource: source);

        var stopping = Stopwatch.GetTimestamp();
        await server.StopAsync(TestContext.Current.CancellationToken);
        var starting = Stopwatch.GetTimestamp();
        await server.StartAgainAsync(TestContext.Current.CancellationToken);
        var ready = Stopwatch.GetTimestamp();
        var registration = await LifecycleTests.WaitForConnectionAsync(client, 2, TimeSpan.FromSeconds(30));
        var back = Stopwatch.GetTimestamp();

        var afterReady = Stopwatch.GetElapsedTime(ready, back);
        output.WriteLine($"Hypha down in {Stopwatch.GetElapsedTime(stopping, starting).TotalSeconds:0.0} s, up again in {Stopwatch.GetElapsedTime(starting, ready).TotalSeconds:0.0} s; " +
                         $"service registered {afterReady.TotalSeconds:0.00} s after Hypha answered ({Stopwatch.GetElapsedTime(stopping, back).TotalSeconds:0.0} s after the restart began)");
        Assert.True(afterReady < TimeSpan.FromSeconds(10), $"re-registration took {afterReady.TotalSeconds:0.0} s after Hypha was ready");
        Assert.Equal(2, source.MintedCount); // the old minted token died with Hypha's JWT secret; the new root token minted a new one
        var lookup = await PythonResults.RunAsync(server, "hypha_caller.py", ["lookup", $"public/{id}"]);
        Assert.True(lookup.GetProperty("found").GetBoolean(), lookup.ToString());
        Assert.Equal($"public/{client.Options.ClientId}:{id}", registration.ServiceIds.Single());
        LifecycleTests.AssertNoSecretsIn(logs.Text, server);
    }
}
