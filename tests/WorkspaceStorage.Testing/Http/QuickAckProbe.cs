using System.Net;
using System.Net.Sockets;

namespace WorkspaceStorage.Testing.Http;

/// <summary>
/// Checks the behaviour behind "RGW's small answers do not wait 40 ms for a delayed ACK" (RGW writes headers and body
/// as two segments with Nagle on): a storage connection handler's connections arm Linux's <c>TCP_QUICKACK</c> before
/// every read. The probe takes a connection from the handler's own connect callback (the request that asked for it is
/// then refused, so the probe alone reads), switches quick ACKs off as the kernel does on its own, starts a read and
/// reads the option back: 1 only if the read armed it. Twice, the second after data arrived. No clock is involved; the
/// latency this saves is measured by `make bench` (bench/README.md, "RGW's small answers waited 40 ms for a delayed
/// ACK", and the list_files and provisioning rows).
/// </summary>
public static class QuickAckProbe
{
    private const int TcpQuickAck = 12; // TCP_QUICKACK in <netinet/tcp.h> (Linux)

    public static async Task AssertArmedBeforeEveryReadAsync(SocketsHttpHandler handler, string client, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(handler);
        var connect = handler.ConnectCallback ?? throw new Xunit.Sdk.XunitException($"{client}: the handler has no connect callback, so nothing arms TCP_QUICKACK");
        var taken = new TaskCompletionSource<Stream>(TaskCreationOptions.RunContinuationsAsynchronously);
        handler.ConnectCallback = async (context, ct) =>
        {
            taken.TrySetResult(await connect(context, ct));
            throw new HttpRequestException("the probe keeps this connection");
        };

        using var listener = new TcpListener(IPAddress.Loopback, 0);
        listener.Start();
        using var http = new HttpClient(handler, disposeHandler: true);
        await Assert.ThrowsAsync<HttpRequestException>(() => http.GetAsync(new Uri($"http://127.0.0.1:{((IPEndPoint)listener.LocalEndpoint).Port}/"), cancellationToken));
        await using var stream = await taken.Task;
        var socket = Assert.IsAssignableFrom<NetworkStream>(stream).Socket;
        using var server = await listener.AcceptTcpClientAsync(cancellationToken);
        var buffer = new byte[16];

        for (var read = 1; read <= 2; read++)
        {
            SetQuickAck(socket, 0);
            Assert.Equal(0, QuickAck(socket)); // the kernel reports what was set: the probe can see a change
            var pending = stream.ReadAsync(buffer, cancellationToken).AsTask();
            Assert.True(QuickAck(socket) == 1, $"{client}: TCP_QUICKACK not armed for read {read}");
            await server.GetStream().WriteAsync(new byte[] { 1 }, cancellationToken);
            Assert.Equal(1, await pending);
        }
    }

    private static int QuickAck(Socket socket)
    {
        var value = new byte[4];
        socket.GetRawSocketOption((int)SocketOptionLevel.Tcp, TcpQuickAck, value);
        return BitConverter.ToInt32(value);
    }

    private static void SetQuickAck(Socket socket, int value) =>
        socket.SetRawSocketOption((int)SocketOptionLevel.Tcp, TcpQuickAck, BitConverter.GetBytes(value));
}
