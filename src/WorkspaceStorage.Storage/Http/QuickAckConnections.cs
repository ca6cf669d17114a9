using System.Net.Sockets;

namespace WorkspaceStorage.Storage.Http;

/// <summary>
/// TCP connections to the storage server that acknowledge what they receive at once (Linux <c>TCP_QUICKACK</c>, armed
/// again before every read, since the kernel drops back to delayed ACKs on its own).
/// </summary>
/// <remarks>
/// Why: Ceph RGW's frontend sends a small response as two segments (headers, then body) with Nagle's algorithm on, so
/// the body waits for the ACK of the headers, and Linux delays that ACK by 40 ms. Every small answer — a listing, an
/// admin call, an STS AssumeRole — then took 40-48 ms however fast RGW was. Measured on the local RGW: ListObjectsV2
/// over a kept-alive connection, p50 48 ms with delayed ACKs, 2.4 ms with quick ACKs. Elsewhere than Linux the
/// connection is an ordinary one.
/// </remarks>
public static class QuickAckConnections
{
    private const int TcpQuickAck = 12; // TCP_QUICKACK in <netinet/tcp.h> (Linux)

    private static readonly byte[] On = BitConverter.GetBytes(1);

    /// <summary>Makes <paramref name="handler"/> open its connections this way; returns it.</summary>
    public static SocketsHttpHandler Apply(SocketsHttpHandler handler)
    {
        if (OperatingSystem.IsLinux())
        {
            handler.ConnectCallback = ConnectAsync;
        }

        return handler;
    }

    private static async ValueTask<Stream> ConnectAsync(SocketsHttpConnectionContext context, CancellationToken cancellationToken)
    {
        // As SocketsHttpHandler's own connect: dual-mode TCP socket, Nagle off on our side.
        var socket = new Socket(SocketType.Stream, ProtocolType.Tcp) { NoDelay = true };
        try
        {
            await socket.ConnectAsync(context.DnsEndPoint, cancellationToken);
            return new QuickAckStream(socket);
        }
        catch
        {
            socket.Dispose();
            throw;
        }
    }

    /// <summary>A <see cref="NetworkStream"/> owning its socket that arms quick ACKs before each read.</summary>
    private sealed class QuickAckStream(Socket socket) : NetworkStream(socket, ownsSocket: true)
    {
        private bool unsupported;

        public override int Read(byte[] buffer, int offset, int count)
        {
            Arm();
            return base.Read(buffer, offset, count);
        }

        public override int Read(Span<byte> buffer)
        {
            Arm();
            return base.Read(buffer);
        }

        public override Task<int> ReadAsync(byte[] buffer, int offset, int count, CancellationToken cancellationToken)
        {
            Arm();
            return base.ReadAsync(buffer, offset, count, cancellationToken);
        }

        public override ValueTask<int> ReadAsync(Memory<byte> buffer, CancellationToken cancellationToken = default)
        {
            Arm();
            return base.ReadAsync(buffer, cancellationToken);
        }

        private void Arm()
        {
            if (unsupported)
            {
                return;
            }

            try
            {
                Socket.SetRawSocketOption((int)SocketOptionLevel.Tcp, TcpQuickAck, On);
            }
            catch (SocketException)
            {
                // A kernel without the option (or a socket already closing): reads work as before, only slower.
                unsupported = true;
            }
            catch (ObjectDisposedException)
            {
                unsupported = true;
            }
        }
    }
}
