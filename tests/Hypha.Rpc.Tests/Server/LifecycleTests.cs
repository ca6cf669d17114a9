using System.Diagnostics;
using Hypha.Rpc.Tests.Support;
using Hypha.Rpc.Tokens;
using WorkspaceStorage.Testing.Hypha;
using WorkspaceStorage.Testing.Support;

namespace Hypha.Rpc.Tests.Server;

/// <summary>The registration's life on a real Hypha: lost sockets, expiring tokens, stopping.</summary>
[Collection(HyphaCollection.Name)]
public sealed class LifecycleTests(HyphaServerFixture hypha, ITestOutputHelper output)
{
    private readonly LogCapture logs = new();

    [Fact]
    public async Task After_a_dropped_socket_the_client_registers_again_and_fires_Registered_each_time()
    {
        var server = hypha.Require();
        var id = TestClients.NewServiceId("drop");
        var registrations = new List<HyphaRegistration>();
        await using var client = await TestClients.StartRegisteredAsync(server, logs, [TestService.Create(id)], beforeStart: c => c.Registered += (registration, _) =>
        {
            lock (registrations)
            {
                registrations.Add(registration);
            }

            return Task.CompletedTask;
        });

        // The handlers have run by the time the client says it is registered (readiness never runs ahead of them).
        lock (registrations)
        {
            Assert.Equal([1], registrations.Select(r => r.Connection));
        }

        var started = Stopwatch.GetTimestamp();
        client.DropConnection();
        var again = await WaitForConnectionAsync(client, 2, TimeSpan.FromSeconds(15));
        output.WriteLine($"registered again {Stopwatch.GetElapsedTime(started).TotalMilliseconds:0} ms after the socket dropped");

        Assert.Equal([$"public/{client.Options.ClientId}:{id}"], again.ServiceIds);
        lock (registrations)
        {
            Assert.Equal([1, 2], registrations.Select(r => r.Connection));
        }

        var lookup = await PythonResults.RunAsync(server, "hypha_caller.py", ["lookup", $"public/{id}"]);
        Assert.True(lookup.GetProperty("found").GetBoolean(), lookup.ToString());
        AssertNoSecretsIn(logs.All, server);
    }

    [Fact]
    public async Task Root_exchanged_token_with_a_short_lifetime_expires_and_the_registration_survives()
    {
        var server = hypha.Require();
        var id = TestClients.NewServiceId("expire");
        var source = TestClients.RootExchange(server, logs, TimeSpan.FromSeconds(5));
        await using var client = await TestClients.StartRegisteredAsync(server, logs, [TestService.Create(id)], tokenSource: source);
        Assert.Equal(1, source.MintedCount);

        // Past the token's expiry the live connection keeps serving (Hypha checks tokens only when a socket opens).
        await Task.Delay(TimeSpan.FromSeconds(7), TestContext.Current.CancellationToken); // the token's expiry passing: what is tested
        var afterExpiry = await PythonResults.RunAsync(server, "hypha_caller.py", ["lookup", $"public/{id}"]);
        Assert.True(afterExpiry.GetProperty("found").GetBoolean(), afterExpiry.ToString());

        // A new socket needs a new token: the source mints one instead of offering the expired one.
        var started = Stopwatch.GetTimestamp();
        client.DropConnection();
        await WaitForConnectionAsync(client, 2, TimeSpan.FromSeconds(15));
        output.WriteLine($"token lifetime 5 s; 7 s later the socket dropped; registered again with a fresh token in {Stopwatch.GetElapsedTime(started).TotalMilliseconds:0} ms");
        Assert.Equal(2, source.MintedCount);
        var afterReconnect = await PythonResults.RunAsync(server, "hypha_caller.py", ["lookup", $"public/{id}"]);
        Assert.True(afterReconnect.GetProperty("found").GetBoolean(), afterReconnect.ToString());
        AssertNoSecretsIn(logs.All, server);
    }

    [Fact]
    public async Task Fixed_token_that_expired_is_replaced_by_the_reconnection_token_and_the_registration_survives()
    {
        var server = hypha.Require();
        var id = TestClients.NewServiceId("fixed");
        await using var root = await TestClients.StartRootCallerAsync(server, logs);
        var token = await TestClients.MintTokenAsync(root, "public", "read_write", TimeSpan.FromSeconds(5));
        await using var client = await TestClients.StartRegisteredAsync(server, logs, [TestService.Create(id)], tokenSource: FixedTokenSource.FromValue(token));

        await Task.Delay(TimeSpan.FromSeconds(7), TestContext.Current.CancellationToken); // the fixed token's expiry passing: what is tested
        var started = Stopwatch.GetTimestamp();
        client.DropConnection();
        await WaitForConnectionAsync(client, 2, TimeSpan.FromSeconds(15));
        output.WriteLine($"fixed token lifetime 5 s; 7 s later the socket dropped; registered again with the reconnection token in {Stopwatch.GetElapsedTime(started).TotalMilliseconds:0} ms");

        Assert.Contains(logs.Lines, l => l.Contains("Reconnected with Hypha's reconnection token", StringComparison.Ordinal));
        var lookup = await PythonResults.RunAsync(server, "hypha_caller.py", ["lookup", $"public/{id}"]);
        Assert.True(lookup.GetProperty("found").GetBoolean(), lookup.ToString());
        Assert.DoesNotContain(token, logs.All, StringComparison.Ordinal);
        AssertNoSecretsIn(logs.All, server);
    }

    [Fact]
    public async Task Stop_unregisters_the_service_at_once()
    {
        var server = hypha.Require();
        var id = TestClients.NewServiceId("stop");
        var client = await TestClients.StartRegisteredAsync(server, logs, [TestService.Create(id)]);
        await using var root = await TestClients.StartRootCallerAsync(server, logs);
        var before = await root.ListServicesAsync(new Dictionary<string, object?> { ["workspace"] = "public" }, TestContext.Current.CancellationToken);
        Assert.Contains(before, s => ServiceId(s) == $"public/{client.Options.ClientId}:{id}");

        var started = Stopwatch.GetTimestamp();
        await client.StopAsync(TestContext.Current.CancellationToken);
        var stopped = Stopwatch.GetElapsedTime(started);

        var after = await root.ListServicesAsync(new Dictionary<string, object?> { ["workspace"] = "public" }, TestContext.Current.CancellationToken);
        Assert.DoesNotContain(after, s => ServiceId(s)?.Contains(client.Options.ClientId, StringComparison.Ordinal) == true);
        var lookup = await PythonResults.RunAsync(server, "hypha_caller.py", ["lookup", $"public/{id}"]);
        Assert.False(lookup.GetProperty("found").GetBoolean(), lookup.ToString());
        Assert.Equal(HyphaClientState.Stopped, client.State);
        Assert.False(client.IsRegistered);
        output.WriteLine($"StopAsync took {stopped.TotalMilliseconds:0} ms; the service was gone right after");
        await client.DisposeAsync();
    }

    internal static Task<HyphaRegistration> WaitForConnectionAsync(HyphaRpcClient client, int connection, TimeSpan timeout) =>
        Eventually.ValueAsync(ct => client.WaitUntilRegisteredAsync(ct), registration => registration.Connection >= connection,
            $"registration on connection {connection}", timeout);

    internal static void AssertNoSecretsIn(string text, HyphaTestServer server)
    {
        Assert.DoesNotContain(server.RootToken, text, StringComparison.Ordinal);
        Assert.DoesNotContain("eyJ", text, StringComparison.Ordinal); // any JWT: minted tokens, reconnection tokens
    }

    private static string? ServiceId(object? service) => (service as IReadOnlyDictionary<string, object?>)?.GetValueOrDefault("id") as string;
}
