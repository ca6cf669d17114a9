using System.Buffers;
using System.Net.WebSockets;
using System.Text;
using System.Text.Json;

namespace Hypha.Rpc.Transport;

/// <summary>
/// One WebSocket to Hypha: the authentication handshake, sends serialised through one writer, and receives of whole
/// messages with a size bound. It knows nothing of RPC.
/// </summary>
internal sealed class HyphaSocket : IFrameSink, IAsyncDisposable
{
    private readonly ClientWebSocket socket;
    private readonly SemaphoreSlim writer = new(1, 1);
    private readonly TimeSpan sendTimeout;
    private int disposed;

    private HyphaSocket(ClientWebSocket socket, TimeSpan sendTimeout)
    {
        this.socket = socket;
        this.sendTimeout = sendTimeout;
    }

    /// <summary>Opens the socket, sends the authentication frame and reads <c>connection_info</c>.</summary>
    public static async Task<(HyphaSocket Socket, ConnectionInfo Info)> ConnectAsync(
        Uri uri, HandshakeRequest request, TimeSpan connectTimeout, TimeSpan sendTimeout, CancellationToken cancellationToken)
    {
        using var timeout = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
        timeout.CancelAfter(connectTimeout);
        var client = new ClientWebSocket();
        var hyphaSocket = new HyphaSocket(client, sendTimeout);
        try
        {
            try
            {
                await client.ConnectAsync(uri, timeout.Token);
            }
            catch (Exception ex) when (ex is WebSocketException or HttpRequestException or IOException)
            {
                throw new HyphaConnectionException($"cannot open {uri}: {ex.Message}", ex);
            }

            await hyphaSocket.SendTextAsync(request.ToJson(), timeout.Token);
            var answer = await hyphaSocket.ReceiveAsync(64 * 1024, timeout.Token);
            if (answer.Kind != FrameKind.Text)
            {
                throw new HyphaConnectionException($"Hypha answered the authentication frame with a {answer.Kind} frame instead of connection_info");
            }

            var info = ConnectionInfo.Parse(answer.Text, request);
            return (hyphaSocket, info);
        }
        catch (OperationCanceledException) when (!cancellationToken.IsCancellationRequested)
        {
            await hyphaSocket.DisposeAsync();
            throw new HyphaConnectionException($"connecting to {uri} took longer than {connectTimeout.TotalSeconds:0.#} s");
        }
        catch
        {
            await hyphaSocket.DisposeAsync();
            throw;
        }
    }

    public Task SendBinaryAsync(ReadOnlyMemory<byte> frame, CancellationToken cancellationToken) =>
        SendAsync(frame, WebSocketMessageType.Binary, cancellationToken);

    public Task SendTextAsync(string text, CancellationToken cancellationToken) =>
        SendAsync(Encoding.UTF8.GetBytes(text), WebSocketMessageType.Text, cancellationToken);

    /// <summary>
    /// Receives one whole message. Bytes beyond <paramref name="maxBytes"/> are read and thrown away (the socket stays
    /// usable); the frame then reports <see cref="ReceivedFrame.Oversized"/> and keeps the first bytes only.
    /// </summary>
    public async Task<ReceivedFrame> ReceiveAsync(int maxBytes, CancellationToken cancellationToken)
    {
        var buffer = ArrayPool<byte>.Shared.Rent(Math.Min(maxBytes, 64 * 1024));
        byte[]? drain = null;
        var length = 0;
        long total = 0;
        var oversized = false;
        try
        {
            while (true)
            {
                var usable = Math.Min(buffer.Length, maxBytes);
                if (!oversized && length == usable)
                {
                    if (usable >= maxBytes)
                    {
                        oversized = true;
                    }
                    else
                    {
                        var bigger = ArrayPool<byte>.Shared.Rent(Math.Min(maxBytes, buffer.Length * 2));
                        buffer.AsSpan(0, length).CopyTo(bigger);
                        ArrayPool<byte>.Shared.Return(buffer);
                        buffer = bigger;
                        usable = Math.Min(buffer.Length, maxBytes);
                    }
                }

                // Past the limit the rest of the message is drained into scratch space: the first bytes (which hold
                // the routing map) stay intact, and the socket stays in step for the next message.
                Memory<byte> target = oversized
                    ? (drain ??= ArrayPool<byte>.Shared.Rent(64 * 1024))
                    : buffer.AsMemory(length, usable - length);
                var result = await socket.ReceiveAsync(target, cancellationToken);
                if (result.MessageType == WebSocketMessageType.Close)
                {
                    return ReceivedFrame.Closed(socket.CloseStatus, socket.CloseStatusDescription);
                }

                total += result.Count;
                if (!oversized)
                {
                    length += result.Count;
                }

                if (result.EndOfMessage)
                {
                    var kept = buffer.AsSpan(0, length).ToArray();
                    return result.MessageType == WebSocketMessageType.Text
                        ? ReceivedFrame.TextFrame(kept, total, total > length)
                        : ReceivedFrame.BinaryFrame(kept, total, total > length);
                }
            }
        }
        finally
        {
            ArrayPool<byte>.Shared.Return(buffer);
            if (drain is not null)
            {
                ArrayPool<byte>.Shared.Return(drain);
            }
        }
    }

    /// <summary>Sends the close frame (bounded); the reader then receives Hypha's close and ends.</summary>
    public async Task CloseOutputAsync(string reason, TimeSpan timeout)
    {
        if (socket.State is WebSocketState.Open or WebSocketState.CloseReceived)
        {
            using var cts = new CancellationTokenSource(timeout);
            try
            {
                await writer.WaitAsync(cts.Token);
                try
                {
                    await socket.CloseOutputAsync(WebSocketCloseStatus.NormalClosure, reason, cts.Token);
                }
                finally
                {
                    writer.Release();
                }
            }
            catch (Exception ex) when (ex is WebSocketException or OperationCanceledException or IOException or ObjectDisposedException)
            {
                socket.Abort();
            }
        }
    }

    /// <summary>Tears the socket down at once (a dead or hung connection).</summary>
    public void Abort() => socket.Abort();

    public ValueTask DisposeAsync()
    {
        if (Interlocked.Exchange(ref disposed, 1) == 0)
        {
            socket.Abort();
            socket.Dispose();
        }

        return ValueTask.CompletedTask;
    }

    private async Task SendAsync(ReadOnlyMemory<byte> payload, WebSocketMessageType type, CancellationToken cancellationToken)
    {
        using var timeout = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
        timeout.CancelAfter(sendTimeout);
        try
        {
            await writer.WaitAsync(timeout.Token);
        }
        catch (OperationCanceledException) when (!cancellationToken.IsCancellationRequested)
        {
            throw new HyphaConnectionException($"the socket's writer was busy for more than {sendTimeout.TotalSeconds:0.#} s");
        }

        try
        {
            await socket.SendAsync(payload, type, endOfMessage: true, timeout.Token);
        }
        catch (OperationCanceledException) when (!cancellationToken.IsCancellationRequested)
        {
            // A send that hangs means a dead peer: abort so the reader notices and the client reconnects.
            socket.Abort();
            throw new HyphaConnectionException($"a send took longer than {sendTimeout.TotalSeconds:0.#} s; the socket was closed");
        }
        catch (Exception ex) when (ex is WebSocketException or IOException or ObjectDisposedException or InvalidOperationException)
        {
            throw new HyphaConnectionException($"sending on the socket failed: {ex.Message}", ex);
        }
        finally
        {
            writer.Release();
        }
    }
}

internal enum FrameKind
{
    Text,
    Binary,
    Close,
}

/// <summary>One received WebSocket message (or the close).</summary>
internal sealed record ReceivedFrame(FrameKind Kind, byte[] Data, long TotalBytes, bool Oversized, WebSocketCloseStatus? CloseStatus, string? CloseDescription)
{
    public string Text => Encoding.UTF8.GetString(Data);

    public static ReceivedFrame TextFrame(byte[] data, long total, bool oversized) => new(FrameKind.Text, data, total, oversized, null, null);

    public static ReceivedFrame BinaryFrame(byte[] data, long total, bool oversized) => new(FrameKind.Binary, data, total, oversized, null, null);

    public static ReceivedFrame Closed(WebSocketCloseStatus? status, string? description) => new(FrameKind.Close, [], 0, false, status, description);
}

/// <summary>The first frame a client sends: token, workspace, client id, reconnection token.</summary>
internal sealed record HandshakeRequest(string? Token, string? Workspace, string ClientId, string? ReconnectionToken)
{
    public string ToJson()
    {
        using var stream = new MemoryStream();
        using (var json = new Utf8JsonWriter(stream))
        {
            json.WriteStartObject();
            json.WriteString("token", Token);
            json.WriteString("workspace", Workspace);
            json.WriteString("client_id", ClientId);
            json.WriteString("reconnection_token", ReconnectionToken);
            json.WriteEndObject();
        }

        return Encoding.UTF8.GetString(stream.ToArray());
    }

    /// <summary>Removes both secrets from a text the server sent back (an error reason may quote what it was given).</summary>
    public string Redact(string text)
    {
        foreach (var secret in new[] { Token, ReconnectionToken })
        {
            if (!string.IsNullOrEmpty(secret))
            {
                text = text.Replace(secret, "***", StringComparison.Ordinal);
            }
        }

        return text;
    }

    public override string ToString() => $"HandshakeRequest(workspace {Workspace ?? "(token's)"}, client {ClientId}, token {(Token is null ? "none" : "***")}, reconnection token {(ReconnectionToken is null ? "none" : "***")})";
}
