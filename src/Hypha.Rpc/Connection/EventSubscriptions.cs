using System.Collections.Concurrent;
using System.Collections.Immutable;
using Hypha.Rpc.Calls;
using Hypha.Rpc.Protocol;
using Microsoft.Extensions.Logging;

namespace Hypha.Rpc.Connection;

/// <summary>
/// The client's event subscriptions: handlers per event type, <c>subscribe</c>/<c>unsubscribe</c> on the manager, and
/// their renewal on every new session. Each handler runs on the thread pool; one that fails is logged.
/// </summary>
internal sealed class EventSubscriptions(ClientStatus status, ILogger logger, CancellationToken stopping)
{
    private readonly ConcurrentDictionary<string, ImmutableList<Func<HyphaEvent, CancellationToken, Task>>> subscriptions = new(StringComparer.Ordinal);

    public async Task<IAsyncDisposable> SubscribeAsync(string eventType, Func<HyphaEvent, CancellationToken, Task> handler, CancellationToken cancellationToken)
    {
        subscriptions.AddOrUpdate(eventType, _ => [handler], (_, list) => list.Add(handler));
        if (status.Session is { } current)
        {
            await current.CallAsync(current.ManagerTarget, "services.default.subscribe", [eventType], null, null, cancellationToken);
        }

        return new Subscription(this, eventType, handler);
    }

    /// <summary>A new session: its events reach the handlers, and Hypha is told again which types this client hears.</summary>
    public async Task AttachAsync(HyphaSession current, CancellationToken cancellationToken)
    {
        current.EventReceived += OnEvent;
        var eventTypes = subscriptions.Where(s => !s.Value.IsEmpty).Select(s => (object?)s.Key).ToList();
        if (eventTypes.Count > 0)
        {
            await current.CallAsync(current.ManagerTarget, "services.default.subscribe", [eventTypes], null, null, cancellationToken);
        }
    }

    private void OnEvent(RpcMessage message)
    {
        if (message.Type is not { } type || !subscriptions.TryGetValue(type, out var handlers))
        {
            return;
        }

        var hyphaEvent = new HyphaEvent(type, message.Fields.GetValueOrDefault("data"), message.Fields);
        foreach (var handler in handlers)
        {
            _ = Task.Run(async () =>
            {
                try
                {
                    await handler(hyphaEvent, stopping);
                }
                catch (Exception ex)
                {
                    logger.LogError(ex, "A handler of the {Type} event failed", type);
                }
            });
        }
    }

    private async Task UnsubscribeAsync(string eventType, Func<HyphaEvent, CancellationToken, Task> handler)
    {
        var remaining = subscriptions.AddOrUpdate(eventType, _ => [], (_, list) => list.Remove(handler));
        if (remaining.IsEmpty && status.Session is { } current)
        {
            try
            {
                await current.CallAsync(current.ManagerTarget, "services.default.unsubscribe", [eventType], null, null, CancellationToken.None);
            }
            catch (Exception ex) when (ex is HyphaConnectionException or HyphaRemoteException or TimeoutException)
            {
                logger.LogDebug("Unsubscribing from {Type} failed: {Error}", eventType, ex.Message);
            }
        }
    }

    private sealed class Subscription(EventSubscriptions owner, string eventType, Func<HyphaEvent, CancellationToken, Task> handler) : IAsyncDisposable
    {
        private int disposed;

        public async ValueTask DisposeAsync()
        {
            if (Interlocked.Exchange(ref disposed, 1) == 0)
            {
                await owner.UnsubscribeAsync(eventType, handler);
            }
        }
    }
}
