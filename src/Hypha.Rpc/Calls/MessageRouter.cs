using Hypha.Rpc.Protocol;
using Hypha.Rpc.Transport;
using Microsoft.Extensions.Logging;

namespace Hypha.Rpc.Calls;

/// <summary>
/// Where each message that arrives on a session goes: broadcast events to <see cref="EventReceived"/>, answers to
/// this client's calls to <see cref="PendingCalls"/>, and calls to the handler, each on the thread pool so that the
/// reader never waits for one. A frame that cannot be read is refused alone.
/// </summary>
internal sealed class MessageRouter(HyphaSession session, RpcSender sender, PendingCalls pending, IIncomingCallHandler? handler, ILogger logger)
{
    /// <summary>Broadcast events (binary messages whose type is not <c>method</c>), e.g. <c>service_added</c>.</summary>
    public event Action<RpcMessage>? EventReceived;

    public void Dispatch(RpcMessage message)
    {
        if (message.Type != "method")
        {
            try
            {
                EventReceived?.Invoke(message);
            }
            catch (Exception ex)
            {
                logger.LogError(ex, "An event handler for {Type} failed", message.Type);
            }

            return;
        }

        if (message.Method is not { } method)
        {
            logger.LogWarning("Ignored a method message without a method from {From}", message.From);
            return;
        }

        if (PendingCalls.AnswerParts(method) is var (answered, kind))
        {
            pending.Answer(answered, kind, message);
            return;
        }

        var call = new IncomingCall(message, session);
        if (call.IgnoredPromise)
        {
            logger.LogWarning("The call {Method} from {From} asked for answers at another address; it gets none", method, message.From);
        }

        _ = Task.Run(() => RunIncomingAsync(call));
    }

    /// <summary>
    /// A frame that cannot be handled closes nothing but its own call: reject it when its routing map can still be
    /// read and the caller waits, fail our own call when it was an answer to one, log it without its payload.
    /// </summary>
    public void Refuse(ReceivedFrame frame, string problem)
    {
        var main = RpcFrames.TryDecodeMain(frame.Data);
        var message = main is null ? null : new RpcMessage(main);
        logger.LogWarning("Dropped a {Bytes} byte message ({Method} from {From}): {Problem}",
            frame.TotalBytes, message?.Method ?? "unreadable", message?.From ?? "unknown", problem);
        if (message?.Method is not { } method || message.From is not { } from)
        {
            return;
        }

        if (pending.TryFailUnreadableAnswer(method, from, problem))
        {
            return;
        }

        if (message.Session is { } callerSession)
        {
            _ = Task.Run(async () =>
            {
                try
                {
                    await sender.SendAnswerAsync(from, callerSession + ".reject", IncomingCall.ErrorValue("ValueError: " + problem), null, session.Lifetime);
                }
                catch (Exception ex) when (ex is HyphaConnectionException or OperationCanceledException)
                {
                    logger.LogDebug("Could not reject the dropped message: {Error}", ex.Message);
                }
            });
        }
    }

    private async Task RunIncomingAsync(IncomingCall call)
    {
        try
        {
            if (handler is null)
            {
                await call.RejectAsync($"Method not found: {call.Message.Method} at {session.Address}", session.Lifetime);
                return;
            }

            await handler.HandleAsync(call, session.Lifetime);
        }
        catch (Exception ex) when (ex is HyphaConnectionException or OperationCanceledException)
        {
            logger.LogDebug("Could not answer {Method}: {Error}", call.Message.Method, ex.Message);
        }
        catch (Exception ex)
        {
            logger.LogError(ex, "Handling {Method} from {From} failed", call.Message.Method, call.Message.From);
        }
    }
}
