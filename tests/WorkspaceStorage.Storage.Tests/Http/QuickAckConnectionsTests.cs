using System.Diagnostics;
using System.Net;
using System.Net.Sockets;
using System.Text;
using WorkspaceStorage.Storage.S3;

namespace WorkspaceStorage.Storage.Tests;

/// <summary>
/// A server that writes a small answer as two segments with Nagle on (as Ceph RGW's frontend does) must not cost the
/// storage clients a delayed ACK (40 ms on Linux) per request.
/// </summary>
public sealed class QuickAckConnectionsTests
{
    [Fact]
    public async Task Small_answers_sent_in_two_segments_do_not_wait_for_a_delayed_ack()
    {
        Assert.SkipUnless(OperatingSystem.IsLinux(), "TCP_QUICKACK is a Linux option; elsewhere the connections are ordinary ones");
        var ct = TestContext.Current.CancellationToken;
        using var listener = new TcpListener(IPAddress.Loopback, 0);
        listener.Start();
        var port = ((IPEndPoint)listener.LocalEndpoint).Port;
        var server = ServeTwoSegmentAnswersAsync(listener, ct);

        using var http = new HttpClient(S3ClientFactory.CreateHandler(new S3ClientOptions()));
        var url = new Uri($"http://127.0.0.1:{port}/bucket?list-type=2");
        var latencies = new List<double>();
        for (var i = 0; i < 30; i++)
        {
            var watch = Stopwatch.StartNew();
            Assert.Equal("<ListBucketResult/>", await http.GetStringAsync(url, ct));
            latencies.Add(watch.Elapsed.TotalMilliseconds);
        }

        latencies.Sort();
        var median = latencies[latencies.Count / 2];
        Assert.True(median < 20, $"median {median:F1} ms over one kept-alive connection (a delayed ACK costs 40 ms); all: {string.Join(", ", latencies.Select(l => l.ToString("F1")))}");
        http.Dispose();
        await server.WaitAsync(TimeSpan.FromSeconds(10), ct);
    }

    /// <summary>Answers every request on each connection with headers and body as two separate writes, Nagle left on.</summary>
    private static async Task ServeTwoSegmentAnswersAsync(TcpListener listener, CancellationToken cancellationToken)
    {
        var body = Encoding.ASCII.GetBytes("<ListBucketResult/>");
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
