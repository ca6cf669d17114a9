using System.Net.WebSockets;
using Hypha.Rpc.Protocol;
using Hypha.Rpc.Transport;

namespace Hypha.Rpc.Calls;

/// <summary>
/// A session's one reader: receives frames until the socket closes or fails, hands text frames to
/// <see cref="ControlFrames"/> and decoded binary ones to the <see cref="MessageRouter"/> (an oversized or malformed
/// one is refused alone), and never waits for what it hands on.
/// </summary>
internal sealed class FrameReader(HyphaSocket socket, int maxFrameBytes, ControlFrames control, MessageRouter router, Keepalive keepalive)
{
    /// <summary>Reads until the connection is gone and returns why.</summary>
    public async Task<string> ReadUntilClosedAsync()
    {
        try
        {
            while (true)
            {
                var frame = await socket.ReceiveAsync(maxFrameBytes, CancellationToken.None);
                keepalive.FrameReceived();
                if (frame.Kind == FrameKind.Close)
                {
                    return $"Hypha closed the socket ({frame.CloseStatus} {frame.CloseDescription})";
                }

                if (frame.Kind == FrameKind.Text)
                {
                    control.Handle(frame);
                }
                else
                {
                    HandleBinary(frame);
                }
            }
        }
        catch (Exception ex) when (ex is WebSocketException or IOException or OperationCanceledException or ObjectDisposedException or InvalidOperationException)
        {
            return $"the socket failed ({ex.GetType().Name}: {ex.Message})";
        }
    }

    private void HandleBinary(ReceivedFrame frame)
    {
        if (frame.Oversized)
        {
            router.Refuse(frame, $"message too large: {frame.TotalBytes} bytes, limit {maxFrameBytes}");
            return;
        }

        Dictionary<string, object?> fields;
        try
        {
            fields = RpcFrames.Decode(frame.Data);
        }
        catch (MalformedFrameException ex)
        {
            router.Refuse(frame, "malformed message: " + ex.Message);
            return;
        }

        router.Dispatch(new RpcMessage(fields));
    }
}
