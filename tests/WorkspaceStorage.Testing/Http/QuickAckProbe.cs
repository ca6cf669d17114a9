using System.Diagnostics;
using System.Net;
using System.Net.Sockets;
using System.Text;

namespace WorkspaceStorage.Testing.Http;

/// <summary>
/// A server that writes each small answer as two segments (headers, then body) with Nagle on, as Ceph RGW's frontend
/// does: a client that leaves Linux's delayed ACK in place waits 40 ms for every answer. Used to check that each
/// storage connection handler acknowledges at once.
/// </summary>
public static class TwoSegmentHttpServer
{
    /// <summary>The median milliseconds of <paramref name="requests"/> GETs through <paramref name="handler"/> over one kept-alive connection.</summary>
    public static async Task<(double Median, IReadOnlyList<double> All)> MedianLatencyAsync(HttpMessageHandler handler, CancellationToken cancellationToken,
        int requests = 30)
    {
        ArgumentNullException.ThrowIfNull(handler);
        using var listener = new TcpListener(IPAddress.Loopback, 0);
        listener.Start();
        var port = ((IPEndPoint)listener.LocalEndpoint).Port;
        var server = ServeAsync(listener, cancellationToken);

        var latencies = new List<double>();
        using (var http = new HttpClient(handler, disposeHandler: true))
        {
            var url = new Uri($"http://127.0.0.1:{port}/bucket?list-type=2");
            for (var i = 0; i < requests; i++)
            {
                var watch = Stopwatch.StartNew();
                var body = await http.GetStringAsync(url, cancellationToken);
                latencies.Add(watch.Elapsed.TotalMilliseconds);
                if (body != Body)
                {
                    throw new InvalidOperationException($"unexpected answer '{body}'");
                }
            }
        }

        await server.WaitAsync(TimeSpan.FromSeconds(10), cancellationToken);
        var sorted = latencies.Order().ToList();
        return (sorted[sorted.Count / 2], latencies);
    }

    private const string Body = "<ListBucketResult/>";

    private static async Task ServeAsync(TcpListener listener, CancellationToken cancellationToken)
    {
        var body = Encoding.ASCII.GetBytes(Body);
        var headers = Encoding.ASCII.GetBytes($"HTTP/1.1 200 OK\r\nContent-Type: application/xml\r\nContent-Length: {body.Length}\r\n\r\n");
        using var client = await listener.AcceptTcpClientAsync(cancellationToken);
        client.NoDelay = false;
        var stream = client.GetStream();
        var buffer = new byte[8192];
        var pending = new StringBuilder();
        while (true)
        {
            var read = await stream.ReadAsync(buffer, cancellationToken);
            if (read == 0)
            {
                return;
            }

            pending.Append(Encoding.ASCII.GetString(buffer, 0, read));
            int end;
            while ((end = pending.ToString().IndexOf("\r\n\r\n", StringComparison.Ordinal)) >= 0)
            {
                pending.Remove(0, end + 4);
                await stream.WriteAsync(headers, cancellationToken);
                await stream.WriteAsync(body, cancellationToken);
            }
        }
    }
}
