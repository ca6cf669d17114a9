using System.Collections.Concurrent;
using System.Diagnostics;
using Hypha.Rpc.Tests.Support;
using WorkspaceStorage.Testing.Hypha;
using WorkspaceStorage.Testing.Support;

namespace Hypha.Rpc.Tests.Server;

/// <summary>
/// Hypha's broadcast events through <see cref="HyphaRpcClient.SubscribeAsync"/>: what a client can and cannot hear.
/// Hypha broadcasts every event to <c>{workspace}/*</c> of the workspace it concerns, so a client hears its own
/// workspace only (core/workspace.py: <c>_event_bus.broadcast(ws, ...)</c>; core/__init__.py: a connection listens
/// on its own <c>{workspace}/*:msg</c>).
/// </summary>
[Collection(HyphaCollection.Name)]
public sealed class EventTests(HyphaServerFixture hypha, ITestOutputHelper output)
{
    private static readonly string[] WorkspaceEvents = ["workspace_unloaded", "workspace_deleted", "workspace_loaded", "client_disconnected", "client_connected"];
    private readonly LogCapture logs = new();

    [Fact]
    public async Task Events_of_the_own_workspace_arrive_and_the_subscription_survives_a_reconnection()
    {
        var server = hypha.Require();
        await using var watcher = await TestClients.StartRegisteredAsync(server, logs, []);
        var events = new ConcurrentQueue<(HyphaEvent Event, long At)>();
        Task Record(HyphaEvent e, CancellationToken _)
        {
            events.Enqueue((e, Stopwatch.GetTimestamp()));
            return Task.CompletedTask;
        }

        await using var added = await watcher.SubscribeAsync("service_added", Record, TestContext.Current.CancellationToken);
        await using var removed = await watcher.SubscribeAsync("service_removed", Record, TestContext.Current.CancellationToken);

        var id = TestClients.NewServiceId("event");
        var registering = Stopwatch.GetTimestamp();
        var other = await TestClients.StartRegisteredAsync(server, logs, [TestService.Create(id)]);
        var fullId = $"public/{other.Options.ClientId}:{id}";
        var addedEvent = await WaitForAsync(events, e => e.Type == "service_added" && DataId(e) == fullId);
        output.WriteLine($"service_added for {fullId} arrived {Stopwatch.GetElapsedTime(registering, addedEvent.At).TotalMilliseconds:0} ms after the other client started registering");

        watcher.DropConnection();
        await LifecycleTests.WaitForConnectionAsync(watcher, 2, TimeSpan.FromSeconds(15));
        var stopping = Stopwatch.GetTimestamp();
        await other.DisposeAsync();
        var removedEvent = await WaitForAsync(events, e => e.Type == "service_removed" && DataId(e) == fullId);
        output.WriteLine($"after the watcher reconnected, service_removed arrived {Stopwatch.GetElapsedTime(stopping, removedEvent.At).TotalMilliseconds:0} ms after the other client began stopping; " +
                         $"payload keys: {string.Join(", ", ((IReadOnlyDictionary<string, object?>)removedEvent.Event.Data!).Keys)}");
    }

    [Fact]
    public async Task Unloading_of_a_temporary_workspace_is_not_broadcast_to_public_or_root_clients_but_root_sees_it_gone_from_list_workspaces()
    {
        var server = hypha.Require();
        await using var publicWatcher = await TestClients.StartRegisteredAsync(server, logs, []);
        await using var rootWatcher = await TestClients.StartRootCallerAsync(server, logs);
        var heard = new ConcurrentQueue<(string Watcher, HyphaEvent Event)>();
        var subscriptions = new List<IAsyncDisposable>();
        foreach (var eventType in WorkspaceEvents)
        {
            // Hypha accepts these subscriptions (they are "system events" in _validate_event_subscription).
            subscriptions.Add(await publicWatcher.SubscribeAsync(eventType, (e, _) => Enqueue(heard, "public", e), TestContext.Current.CancellationToken));
            subscriptions.Add(await rootWatcher.SubscribeAsync(eventType, (e, _) => Enqueue(heard, "ws-user-root", e), TestContext.Current.CancellationToken));
        }

        var visit = await PythonResults.RunAsync(server, "anonymous_visit.py", []);
        var workspace = visit.GetProperty("workspace").GetString()!;
        var leftAt = DateTimeOffset.FromUnixTimeMilliseconds((long)(visit.GetProperty("left_at").GetDouble() * 1000));
        Assert.StartsWith("ws-user-anonymouz-", workspace);

        // The root user lists every loaded workspace: the temporary one disappears shortly after its last client left.
        await Eventually.TrueAsync(async ct =>
        {
            var listed = await rootWatcher.CallManagerAsync("list_workspaces", cancellationToken: ct) as IReadOnlyList<object?> ?? [];
            return !listed.Any(w => (w as IReadOnlyDictionary<string, object?>)?.GetValueOrDefault("id") as string == workspace);
        }, $"{workspace} gone from list_workspaces");
        var goneAfter = DateTimeOffset.UtcNow - leftAt;

        // The fence for "not broadcast": a service registered in public after the workspace was gone. Once its
        // service_added reached the public watcher, an unload broadcast sent before it would have arrived too (one
        // event stream per client, in order), so no sleep is needed to show that none came.
        var fenceEvents = new ConcurrentQueue<(HyphaEvent Event, long At)>();
        await using var fenceSubscription = await publicWatcher.SubscribeAsync("service_added", (e, _) =>
        {
            fenceEvents.Enqueue((e, Stopwatch.GetTimestamp()));
            return Task.CompletedTask;
        }, TestContext.Current.CancellationToken);
        var fenceId = TestClients.NewServiceId("fence");
        await using var fence = await TestClients.StartRegisteredAsync(server, logs, [TestService.Create(fenceId)]);
        await WaitForAsync(fenceEvents, e => e.Type == "service_added" && DataId(e) == $"public/{fence.Options.ClientId}:{fenceId}");

        var aboutIt = heard.Where(h => Mentions(h.Event, workspace)).Select(h => $"{h.Watcher}: {h.Event.Type}").ToList();
        output.WriteLine($"{workspace} left list_workspaces {goneAfter.TotalMilliseconds:0} ms after its client disconnected (Python's clock); " +
                         $"events about it heard in public or ws-user-root before the fence: {(aboutIt.Count == 0 ? "none" : string.Join("; ", aboutIt))}; " +
                         $"all events heard: {string.Join("; ", heard.Select(h => $"{h.Watcher}:{h.Event.Type}"))}");
        Assert.Empty(aboutIt);
        foreach (var subscription in subscriptions)
        {
            await subscription.DisposeAsync();
        }
    }

    private static Task Enqueue(ConcurrentQueue<(string, HyphaEvent)> queue, string watcher, HyphaEvent e)
    {
        queue.Enqueue((watcher, e));
        return Task.CompletedTask;
    }

    private static bool Mentions(HyphaEvent e, string workspace) => System.Text.Json.JsonSerializer.Serialize(e.Data).Contains(workspace, StringComparison.Ordinal);

    private static string? DataId(HyphaEvent e) => (e.Data as IReadOnlyDictionary<string, object?>)?.GetValueOrDefault("id") as string;

    private static async Task<(HyphaEvent Event, long At)> WaitForAsync(ConcurrentQueue<(HyphaEvent Event, long At)> events, Func<HyphaEvent, bool> match)
    {
        await Eventually.TrueAsync(() => events.Any(e => match(e.Event)), "a matching event",
            observe: () => "heard: " + string.Join(", ", events.Select(e => $"{e.Event.Type} {DataId(e.Event)}")));
        return events.First(e => match(e.Event));
    }
}
