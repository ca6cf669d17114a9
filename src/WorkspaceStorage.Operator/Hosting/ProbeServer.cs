using System.Net;
using System.Net.Sockets;
using System.Text;
using Microsoft.Extensions.Logging;

namespace WorkspaceStorage.Operator.Hosting;

/// <summary>One answer of <see cref="ProbeServer"/>.</summary>
internal sealed record ProbeResponse(int StatusCode, string ContentType, byte[] Body)
{
    public static ProbeResponse PlainText(int statusCode, string text) => new(statusCode, "text/plain", Encoding.UTF8.GetBytes(text));
}

/// <summary>
/// The operator's HTTP endpoints (/healthz, /readyz, /metrics): GET only, one request per connection, answered and
/// closed, which is all kubelet probes and a Prometheus scrape need. A few dozen lines on sockets instead of Kestrel
/// and the ASP.NET Core host: those load and JIT some 15-20 MiB of code that an operator's three GET routes do not use
/// (bench row 8). Bounded: requests larger than 8 KiB or slower than 10 s are dropped, and beyond
/// <see cref="MaxConnections"/> open connections a new one is closed at once, so a flood of idle sockets cannot grow memory.
/// </summary>
internal sealed class ProbeServer : IAsyncDisposable
{
    private const int MaxRequestBytes = 8192;

    /// <summary>Kubelet probes and a scrape need a handful at once.</summary>
    public const int MaxConnections = 64;
    private static readonly TimeSpan RequestTimeout = TimeSpan.FromSeconds(10);

    private readonly Func<string, CancellationToken, Task<ProbeResponse>> handle;
    private readonly ILogger logger;
    private readonly List<Socket> listeners = [];
    private readonly List<Task> loops = [];
    private readonly CancellationTokenSource stopping = new();
    private int openConnections;

    private ProbeServer(Func<string, CancellationToken, Task<ProbeResponse>> handle, ILogger logger)
    {
        this.handle = handle;
        this.logger = logger;
    }

    /// <summary>The bound end points, in the order given (the real port when 0 was asked for).</summary>
    public IReadOnlyList<IPEndPoint> EndPoints => [.. listeners.Select(l => (IPEndPoint)l.LocalEndPoint!)];

    /// <summary>Binds every address (null host: all interfaces, IPv6 and IPv4 where the machine has IPv6) and serves
    /// until disposed. <paramref name="handle"/> gets the request path without the query.</summary>
    public static ProbeServer Start(IEnumerable<ListenAddress> addresses, Func<string, CancellationToken, Task<ProbeResponse>> handle, ILogger logger)
    {
        var server = new ProbeServer(handle, logger);
        try
        {
            foreach (var address in addresses)
            {
                server.listeners.Add(Bind(address));
            }
        }
        catch
        {
            foreach (var listener in server.listeners)
            {
                listener.Dispose();
            }

            throw;
        }

        foreach (var listener in server.listeners)
        {
            server.loops.Add(server.AcceptLoopAsync(listener, server.stopping.Token));
        }

        return server;
    }

    public async ValueTask DisposeAsync()
    {
        await stopping.CancelAsync();
        foreach (var listener in listeners)
        {
            listener.Dispose();
        }

        await Task.WhenAll(loops).ConfigureAwait(ConfigureAwaitOptions.SuppressThrowing);
        stopping.Dispose();
    }

    private static Socket Bind(ListenAddress address)
    {
        if (address.Host is { } host)
        {
            var socket = new Socket(host.AddressFamily, SocketType.Stream, ProtocolType.Tcp);
            return Listen(socket, new IPEndPoint(host, address.Port));
        }

        if (Socket.OSSupportsIPv6)
        {
            var dual = new Socket(AddressFamily.InterNetworkV6, SocketType.Stream, ProtocolType.Tcp) { DualMode = true };
            try
            {
                return Listen(dual, new IPEndPoint(IPAddress.IPv6Any, address.Port));
            }
            catch (SocketException)
            {
                // IPv6 present in the kernel but not configured (some containers): IPv4 only.
                dual.Dispose();
            }
        }

        return Listen(new Socket(AddressFamily.InterNetwork, SocketType.Stream, ProtocolType.Tcp), new IPEndPoint(IPAddress.Any, address.Port));
    }

    private static Socket Listen(Socket socket, IPEndPoint endPoint)
    {
        try
        {
            socket.SetSocketOption(SocketOptionLevel.Socket, SocketOptionName.ReuseAddress, true);
            socket.Bind(endPoint);
            socket.Listen(64);
            return socket;
        }
        catch
        {
            socket.Dispose();
            throw;
        }
    }

    private async Task AcceptLoopAsync(Socket listener, CancellationToken cancellationToken)
    {
        while (!cancellationToken.IsCancellationRequested)
        {
            Socket connection;
            try
            {
                connection = await listener.AcceptAsync(cancellationToken);
            }
            catch (Exception error) when (error is OperationCanceledException or ObjectDisposedException || cancellationToken.IsCancellationRequested)
            {
                return;
            }
            catch (SocketException error)
            {
                logger.LogWarning("Probe listener: accept failed with {SocketError}", error.SocketErrorCode);
                continue;
            }

            if (Interlocked.Increment(ref openConnections) > MaxConnections)
            {
                Interlocked.Decrement(ref openConnections);
                connection.Dispose();
                continue;
            }

            _ = ServeAsync(connection, cancellationToken);
        }
    }

    private async Task ServeAsync(Socket connection, CancellationToken cancellationToken)
    {
        using var _ = connection;
        using var timeout = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
        timeout.CancelAfter(RequestTimeout);
        try
        {
            var target = await ReadRequestTargetAsync(connection, timeout.Token);
            var response = target switch
            {
                null => ProbeResponse.PlainText(400, "bad request\n"),
                (not "GET" and not "HEAD", _) => ProbeResponse.PlainText(405, "method not allowed\n"),
                var (_, path) => await handle(path, timeout.Token),
            };
            var head = Encoding.ASCII.GetBytes(
                $"HTTP/1.1 {response.StatusCode} {ReasonPhrase(response.StatusCode)}\r\nContent-Type: {response.ContentType}\r\nContent-Length: {response.Body.Length}\r\nConnection: close\r\n\r\n");
            await connection.SendAsync(head, SocketFlags.None, timeout.Token);
            if (target is not ("HEAD", _))
            {
                await connection.SendAsync(response.Body, SocketFlags.None, timeout.Token);
            }

            connection.Shutdown(SocketShutdown.Both);
        }
        catch (Exception error) when (error is SocketException or OperationCanceledException or ObjectDisposedException)
        {
            // The client went away, was too slow, or the server is stopping: nothing to answer.
        }
        catch (Exception error)
        {
            logger.LogWarning("Probe listener: a request failed with {ErrorType}", error.GetType().Name);
        }
        finally
        {
            Interlocked.Decrement(ref openConnections);
        }
    }

    /// <summary>Reads up to the end of the request head; returns method and path, or null when malformed or too large.</summary>
    private static async Task<(string Method, string Path)?> ReadRequestTargetAsync(Socket connection, CancellationToken cancellationToken)
    {
        var buffer = new byte[MaxRequestBytes];
        var length = 0;
        while (true)
        {
            if (length == buffer.Length)
            {
                return null;
            }

            var read = await connection.ReceiveAsync(buffer.AsMemory(length), SocketFlags.None, cancellationToken);
            if (read == 0)
            {
                return null;
            }

            length += read;
            if (buffer.AsSpan(0, length).IndexOf("\r\n\r\n"u8) >= 0)
            {
                break;
            }
        }

        var lineEnd = buffer.AsSpan(0, length).IndexOf("\r\n"u8);
        var parts = Encoding.ASCII.GetString(buffer, 0, lineEnd).Split(' ');
        if (parts.Length != 3 || !parts[2].StartsWith("HTTP/1.", StringComparison.Ordinal) || !parts[1].StartsWith('/'))
        {
            return null;
        }

        var query = parts[1].IndexOf('?', StringComparison.Ordinal);
        return (parts[0], query < 0 ? parts[1] : parts[1][..query]);
    }

    private static string ReasonPhrase(int statusCode) => statusCode switch
    {
        200 => "OK",
        400 => "Bad Request",
        404 => "Not Found",
        405 => "Method Not Allowed",
        503 => "Service Unavailable",
        _ => "Status",
    };
}
