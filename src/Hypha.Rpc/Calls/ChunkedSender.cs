using System.Diagnostics;
using Microsoft.Extensions.Logging;

namespace Hypha.Rpc.Calls;

/// <summary>
/// Sends a large message through the receiver's <c>message_cache</c>, as hypha_rpc does: <c>create</c>,
/// <c>append</c> per chunk, <c>process</c>; an unfinished one is removed again. An answer uses the caller's session as
/// key with <c>heartbeat: true</c>, so every chunk also resets the caller's timer.
/// </summary>
internal sealed class ChunkedSender(RpcSender calls, int chunkSize, ILogger logger, CancellationToken sessionLifetime)
{
    private const string MessageCachePrefix = "services.built-in.message_cache.";

    public async Task SendAsync(byte[] package, string target, string? callerSession, CancellationToken cancellationToken)
    {
        var key = callerSession ?? PendingCalls.NewSessionId();
        var heartbeat = callerSession is not null;
        var started = Stopwatch.GetTimestamp();
        await calls.CallUnchunkedAsync(target, MessageCachePrefix + "create", [key, heartbeat], null, cancellationToken);
        try
        {
            for (var offset = 0; offset < package.Length; offset += chunkSize)
            {
                var chunk = package.AsSpan(offset, Math.Min(chunkSize, package.Length - offset)).ToArray();
                await calls.CallUnchunkedAsync(target, MessageCachePrefix + "append", [key, chunk, heartbeat], null, cancellationToken);
            }

            await calls.CallUnchunkedAsync(target, MessageCachePrefix + "process", [key, heartbeat], null, cancellationToken);
        }
        catch (Exception) when (!sessionLifetime.IsCancellationRequested)
        {
            try
            {
                await calls.CallUnchunkedAsync(target, MessageCachePrefix + "remove", [key], TimeSpan.FromSeconds(5), CancellationToken.None);
            }
            catch (Exception cleanup) when (cleanup is HyphaRemoteException or HyphaConnectionException or TimeoutException)
            {
                logger.LogDebug("Removing the unfinished chunked message on {Target} failed: {Error}", target, cleanup.Message);
            }

            throw;
        }

        logger.LogDebug("Sent a {Bytes} byte message to {Target} in {Chunks} chunks in {Milliseconds} ms",
            package.Length, target, (package.Length + chunkSize - 1) / chunkSize, Stopwatch.GetElapsedTime(started).TotalMilliseconds);
    }
}
