using System.Net;
using System.Net.Sockets;
using System.Text;
using Microsoft.Extensions.Logging.Abstractions;
using WorkspaceStorage.Operator.Hosting;
using WorkspaceStorage.Testing.Support;

namespace WorkspaceStorage.Operator.Tests.Host;

/// <summary>The operator's small probe server answers kubelet and Prometheus, and what is not a small GET gets nothing more.</summary>
public sealed class ProbeServerTests
{
    private static CancellationToken Ct => TestContext.Current.CancellationToken;

    private static ProbeServer Start() => ProbeServer.Start([new ListenAddress(IPAddress.Loopback, 0)],
        (path, _) => Task.FromResult(path == "/readyz"
            ? new ProbeResponse(200, "text/plain", "ok\n"u8.ToArray())
            : new ProbeResponse(404, "text/plain", "not found\n"u8.ToArray())),
        NullLogger.Instance);

    /// <summary>Sends raw bytes and returns everything the server wrote before closing.</summary>
    private static async Task<string> RawAsync(IPEndPoint endPoint, byte[] request)
    {
        using var client = new TcpClient();
        await client.ConnectAsync(endPoint, Ct);
        var stream = client.GetStream();
        try
        {
            await stream.WriteAsync(request, Ct);
        }
        catch (IOException)
        {
            // the server may close before an oversized request is fully sent
        }

        using var answer = new MemoryStream();
        try
        {
            await stream.CopyToAsync(answer, Ct);
        }
        catch (IOException)
        {
            // reset after the answer
        }

        return Encoding.ASCII.GetString(answer.ToArray());
    }

    [Fact]
    public async Task A_GET_is_answered_and_the_query_is_ignored_for_routing()
    {
        await using var server = Start();
        using var http = new HttpClient(new SocketsHttpHandler { UseProxy = false });
        var endPoint = server.EndPoints[0];
        Assert.Equal("ok\n", await http.GetStringAsync($"http://127.0.0.1:{endPoint.Port}/readyz?verbose=1", Ct));
        using var missing = await http.GetAsync($"http://127.0.0.1:{endPoint.Port}/other", Ct);
        Assert.Equal(HttpStatusCode.NotFound, missing.StatusCode);
    }

    [Theory]
    [InlineData("POST /readyz HTTP/1.1\r\nHost: x\r\nContent-Length: 0\r\n\r\n", "HTTP/1.1 405")]
    [InlineData("GET readyz HTTP/1.1\r\n\r\n", "HTTP/1.1 400")]
    [InlineData("GET /readyz\r\n\r\n", "HTTP/1.1 400")]
    [InlineData("\r\n\r\n", "HTTP/1.1 400")]
    public async Task A_request_that_is_not_a_plain_GET_is_refused(string request, string expected)
    {
        await using var server = Start();
        var answer = await RawAsync(server.EndPoints[0], Encoding.ASCII.GetBytes(request));
        Assert.StartsWith(expected, answer, StringComparison.Ordinal);
        Assert.DoesNotContain("ok\n", answer, StringComparison.Ordinal);
    }

    [Fact]
    public async Task A_request_head_over_8_KiB_is_refused_without_reading_on()
    {
        await using var server = Start();
        var huge = Encoding.ASCII.GetBytes("GET /readyz HTTP/1.1\r\nX-Filler: " + new string('a', 64 * 1024) + "\r\n\r\n");
        var answer = await RawAsync(server.EndPoints[0], huge);
        Assert.True(answer.Length == 0 || answer.StartsWith("HTTP/1.1 400", StringComparison.Ordinal), answer);
    }

    [Fact]
    public async Task Idle_connections_beyond_the_cap_are_closed_and_the_probe_still_answers_once_they_go()
    {
        await using var server = Start();
        var endPoint = server.EndPoints[0];
        var idle = new List<TcpClient>();
        try
        {
            for (var i = 0; i < ProbeServer.MaxConnections + 20; i++)
            {
                var client = new TcpClient();
                await client.ConnectAsync(endPoint, Ct);
                idle.Add(client);
            }

            // The ones over the cap are closed by the server: a read returns end of stream at once.
            var extra = idle[^1].GetStream();
            extra.ReadTimeout = 5000;
            var buffer = new byte[1];
            var read = await extra.ReadAsync(buffer, Ct).AsTask().WaitAsync(TimeSpan.FromSeconds(5), Ct);
            Assert.Equal(0, read);
        }
        finally
        {
            foreach (var client in idle)
            {
                client.Dispose();
            }
        }

        using var http = new HttpClient(new SocketsHttpHandler { UseProxy = false });
        await Eventually.TrueAsync(async ct => await http.GetStringAsync($"http://127.0.0.1:{endPoint.Port}/readyz", ct) == "ok\n",
            "the probe to answer again once the idle connections are gone");
    }
}
