using System.Diagnostics;
using Hypha.Rpc.Tests.Support;
using WorkspaceStorage.Testing.Hypha;
using WorkspaceStorage.Testing.Support;

namespace Hypha.Rpc.Tests.Server;

/// <summary>
/// A server of its own, which drops sockets idle for 4 s (Hypha's default is 600 s): restarting it, or its idle
/// timeout, would disturb the other tests.
/// </summary>
public sealed class DedicatedHyphaServer : HyphaServerFixture
{
    public static readonly TimeSpan IdleTimeout = TimeSpan.FromSeconds(4);

    protected override HyphaTestServerOptions ServerOptions => new()
    {
        Environment = new Dictionary<string, string> { ["HYPHA_WS_IDLE_TIMEOUT"] = ((int)IdleTimeout.TotalSeconds).ToString(System.Globalization.CultureInfo.InvariantCulture) },
    };
}

/// <summary>Hypha restarts (losing every registration, its JWT secret and its root token) and drops idle sockets; the client copes by itself.</summary>
[Collection(HyphaCollection.Name)]
public sealed class DedicatedServerTests(DedicatedHyphaServer hypha, ITestOutputHelper output) : IClassFixture<DedicatedHyphaServer>
{
    private readonly LogCapture logs = new();

    [Fact]
    public async Task Keepalive_pings_keep_an_idle_registration_on_one_socket()
    {
        var server = hypha.Require();
        await using var pinging = await TestClients.StartRegisteredAsync(server, logs, [TestService.Create(TestClients.NewServiceId("ping"))], KeepaliveEverySecond);
        await using var silent = await TestClients.StartRegisteredAsync(server, logs, [TestService.Create(TestClients.NewServiceId("quiet"))],
            o => o with { KeepaliveInterval = TimeSpan.FromSeconds(30), DeadSocketTimeout = TimeSpan.FromSeconds(90) });

        await Task.Delay(DedicatedHyphaServer.IdleTimeout * 2.5, TestContext.Current.CancellationToken); // idle time passing: what is tested

        Assert.Equal(1, pinging.Registration?.Connection);
        // The control: without pings Hypha dropped the idle socket (and the client registered again).
        var silentNow = await LifecycleTests.WaitForConnectionAsync(silent, 2, TimeSpan.FromSeconds(15));
        output.WriteLine($"after {(DedicatedHyphaServer.IdleTimeout * 2.5).TotalSeconds:0} s idle: pinging client on connection {pinging.Registration?.Connection}, silent client on connection {silentNow.Connection}");
    }

    [Fact]
    public async Task After_a_Hypha_restart_the_service_is_back_within_10_seconds_without_restarting_the_client()
    {
        var server = hypha.Require();
        var id = TestClients.NewServiceId("restart");
        var source = TestClients.RootExchange(server, logs);
        await using var client = await TestClients.StartRegisteredAsync(server, logs, [TestService.Create(id)], KeepaliveEverySecond, source);

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
        LifecycleTests.AssertNoSecretsIn(logs.All, server);
    }

    private static HyphaRpcOptions KeepaliveEverySecond(HyphaRpcOptions options) => options with { KeepaliveInterval = TimeSpan.FromSeconds(1), DeadSocketTimeout = TimeSpan.FromSeconds(10) };
}
