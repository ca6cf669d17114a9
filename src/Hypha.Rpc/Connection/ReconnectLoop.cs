using Hypha.Rpc.Calls;
using Microsoft.Extensions.Logging;

namespace Hypha.Rpc.Connection;

/// <summary>
/// The client's life in the background: connect, register, tell the <c>Registered</c> handlers, then wait for the
/// connection to end; after any loss reconnect with backoff, until stopped, when it unregisters and closes.
/// </summary>
/// <param name="notifyRegistered">Runs the client's Registered handlers; readiness turns true only after it.</param>
internal sealed class ReconnectLoop(
    HyphaRpcOptions options,
    SessionConnector connector,
    ServiceRegistrar registrar,
    ClientStatus status,
    Func<HyphaRegistration, HyphaSession, Task> notifyRegistered,
    ILogger logger)
{
    public async Task RunAsync(CancellationToken stop)
    {
        var backoff = new ReconnectBackoff(options.ReconnectInitialDelay, options.ReconnectMaxDelay);
        while (!stop.IsCancellationRequested)
        {
            HyphaSession? current = null;
            try
            {
                current = await connector.ConnectAsync(stop);
                var live = await registrar.RegisterAsync(current, stop);
                status.Publish(current); // the Registered handlers call Hypha through it
                logger.LogInformation("Registered {Services} in {Workspace} as {ClientId} (connection {Connection})",
                    string.Join(", ", live.ServiceIds), live.Workspace, live.ClientId, live.Connection);

                // Handlers first, then "registered": readiness and WaitUntilRegisteredAsync never run ahead of what a
                // handler does on each registration (takeover unregisters the built-in there).
                await notifyRegistered(live, current);
                status.MarkRegistered(live);
                status.SetState(HyphaClientState.Registered);
                backoff.Reset();
                var reason = await current.Closed.WaitAsync(stop);
                logger.LogWarning("Lost the connection to Hypha: {Reason}; reconnecting", reason);
            }
            catch (OperationCanceledException) when (stop.IsCancellationRequested)
            {
                if (current is not null)
                {
                    await ShutdownAsync(current);
                }

                break;
            }
            catch (Exception ex) when (ex is HyphaConnectionException or HyphaRemoteException or TimeoutException or ArgumentException)
            {
                status.LastError = ex.Message;
                logger.LogWarning("Connecting to Hypha failed: {Error}", ex.Message);
            }
            catch (Exception ex)
            {
                status.LastError = ex.GetType().Name;
                logger.LogError(ex, "Connecting to Hypha failed unexpectedly");
            }
            finally
            {
                status.Clear();
                if (current is not null)
                {
                    connector.Remember(current.ReconnectionToken);
                    await current.DisposeAsync();
                }

                if (!stop.IsCancellationRequested)
                {
                    status.SetState(HyphaClientState.Connecting);
                }
            }

            try
            {
                await Task.Delay(backoff.Next(), stop);
            }
            catch (OperationCanceledException)
            {
                break;
            }
        }
    }

    private async Task ShutdownAsync(HyphaSession current)
    {
        if (status.TakeRegistration() is { } live)
        {
            await registrar.UnregisterAsync(current, live);
        }

        await current.CloseAsync("client stopping");
        logger.LogInformation("Unregistered and disconnected from Hypha");
    }
}
