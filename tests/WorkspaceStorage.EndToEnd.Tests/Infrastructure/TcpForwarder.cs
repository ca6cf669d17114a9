using System.Net;
using System.Net.Sockets;

namespace WorkspaceStorage.EndToEnd.Tests.Infrastructure;

/// <summary>
/// Forwards TCP connections from an address containers reach (the bridge's gateway) to a server that listens on the
/// host's 127.0.0.1 only (the API server, RGW), bytes untouched: TLS and S3 signatures pass through as they are.
/// </summary>
internal sealed class TcpForwarder : IDisposable
{
    private readonly TcpListener listener;
    private readonly IPEndPoint target;
    private readonly CancellationTokenSource stopping = new();

    private TcpForwarder(TcpListener listener, IPEndPoint target)
    {
        this.listener = listener;
        this.target = target;
    }

    /// <summary>The port it listens on, on the address it was given.</summary>
    public int Port => ((IPEndPoint)listener.LocalEndpoint).Port;

    public static TcpForwarder Start(IPAddress address, IPEndPoint target)
    {
        var listener = new TcpListener(address, 0);
        listener.Start();
        var forwarder = new TcpForwarder(listener, target);
        _ = forwarder.AcceptAsync();
        return forwarder;
    }

    private async Task AcceptAsync()
    {
        while (!stopping.IsCancellationRequested)
        {
            TcpClient client;
            try
            {
                client = await listener.AcceptTcpClientAsync(stopping.Token);
            }
            catch (Exception ex) when (ex is OperationCanceledException or SocketException or ObjectDisposedException)
            {
                return;
            }

            _ = RelayAsync(client);
        }
    }

    private async Task RelayAsync(TcpClient client)
    {
        using (client)
        using (var upstream = new TcpClient())
        {
            try
            {
                await upstream.ConnectAsync(target, stopping.Token);
                var incoming = client.GetStream();
                var outgoing = upstream.GetStream();
                // When either side closes, the other is closed too (disposing both ends the other copy).
                await Task.WhenAny(incoming.CopyToAsync(outgoing, stopping.Token), outgoing.CopyToAsync(incoming, stopping.Token));
            }
            catch (Exception ex) when (ex is OperationCanceledException or SocketException or IOException or ObjectDisposedException)
            {
                // A connection the server or the container dropped: a client sees it as the server would show it.
            }
        }
    }

    public void Dispose()
    {
        stopping.Cancel();
        listener.Stop();
        stopping.Dispose();
    }
}
