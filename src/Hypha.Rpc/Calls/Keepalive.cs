using System.Diagnostics;
using Hypha.Rpc.Transport;
using Microsoft.Extensions.Logging;

namespace Hypha.Rpc.Calls;

/// <summary>
/// Keeps a session's socket alive and its reconnection token fresh: <c>{"type":"ping"}</c> every
/// <see cref="HyphaRpcOptions.KeepaliveInterval"/>, <c>refresh_token</c> every refresh interval (at most half the
/// token's lifetime), and drops a socket that has been silent for <see cref="HyphaRpcOptions.DeadSocketTimeout"/>.
/// </summary>
internal sealed class Keepalive(IFrameSink socket, ConnectionInfo info, HyphaRpcOptions options, ILogger logger)
{
    private const string PingFrame = """{"type":"ping"}""";
    private const string RefreshTokenFrame = """{"type":"refresh_token"}""";

    private long lastReceived = Stopwatch.GetTimestamp();

    /// <summary>Any frame from Hypha (a pong too) shows the socket is alive.</summary>
    public void FrameReceived() => Volatile.Write(ref lastReceived, Stopwatch.GetTimestamp());

    /// <summary>Runs until <paramref name="sessionLifetime"/> ends or the socket fails (then it is aborted).</summary>
    public async Task RunAsync(CancellationToken sessionLifetime)
    {
        var lastRefresh = Stopwatch.GetTimestamp();
        try
        {
            while (!sessionLifetime.IsCancellationRequested)
            {
                await Task.Delay(options.KeepaliveInterval, sessionLifetime);
                var silence = Stopwatch.GetElapsedTime(Volatile.Read(ref lastReceived));
                if (silence > options.DeadSocketTimeout)
                {
                    logger.LogWarning("No frame from Hypha for {Seconds:0} s on {Address}: dropping the socket", silence.TotalSeconds, info.Address);
                    socket.Abort();
                    return;
                }

                await socket.SendTextAsync(PingFrame, sessionLifetime);
                if (Stopwatch.GetElapsedTime(lastRefresh) >= RefreshInterval())
                {
                    await socket.SendTextAsync(RefreshTokenFrame, sessionLifetime);
                    lastRefresh = Stopwatch.GetTimestamp();
                }
            }
        }
        catch (OperationCanceledException)
        {
            // The session ended.
        }
        catch (HyphaConnectionException ex)
        {
            logger.LogDebug("Keepalive stopped on {Address}: {Error}", info.Address, ex.Message);
            socket.Abort();
        }
    }

    private TimeSpan RefreshInterval() =>
        info.ReconnectionTokenLifetime is { } life && life / 2 < options.ReconnectionTokenRefreshInterval ? life / 2 : options.ReconnectionTokenRefreshInterval;
}
