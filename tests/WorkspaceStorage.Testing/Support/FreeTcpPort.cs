using System.Net;
using System.Net.Sockets;

namespace WorkspaceStorage.Testing.Support;

/// <summary>
/// Loopback ports for the few servers a test cannot let pick their own. Where the server under test can bind port 0 and
/// report what it got, tests do that instead (Kestrel at <c>http://127.0.0.1:0</c> then <c>app.Urls</c>, the operator's
/// <c>--health-addr 127.0.0.1:0</c> and its start-up line, a <see cref="TcpListener"/> handed to the code under test).
/// <see cref="Next"/> is only for what must be told a port before it starts (radosgw, Python Hypha, <c>make run</c>, an
/// API whose public URL names its own port): the kernel's pick, released at once, so another process may take it before
/// the server binds; <see cref="StartAsync{T}"/> retries on "address in use" where the caller can see that error.
/// A port that must refuse connections is <see cref="Refusing"/>: held, never raced.
/// </summary>
public static class FreeTcpPort
{
    /// <summary>A port nobody listened on a moment ago, at least <paramref name="minimum"/> (some scripts reserve low ranges).</summary>
    public static int Next(int minimum = 0)
    {
        while (true)
        {
            using var listener = new TcpListener(IPAddress.Loopback, 0);
            listener.Start();
            var port = ((IPEndPoint)listener.LocalEndpoint).Port;
            if (port >= minimum)
            {
                return port;
            }
        }
    }

    /// <summary>Starts a server on <see cref="Next"/>, again on another port (up to 5 tries) when that one was taken meanwhile.</summary>
    public static async Task<T> StartAsync<T>(Func<int, Task<T>> start)
    {
        for (var attempt = 1; ; attempt++)
        {
            try
            {
                return await start(Next());
            }
            catch (Exception error) when (attempt < 5 && IsAddressInUse(error))
            {
                // taken between Next() and the server's bind: another port
            }
        }
    }

    /// <summary>A loopback port bound by this process but not listening: connections to it are refused until disposed, and nobody else can take it.</summary>
    public static RefusingPort Refusing() => new();

    private static bool IsAddressInUse(Exception? error)
    {
        for (; error is not null; error = error.InnerException)
        {
            if (error is SocketException { SocketErrorCode: SocketError.AddressAlreadyInUse }
                || error.GetType().Name == "AddressInUseException"
                || error.Message.Contains("address already in use", StringComparison.OrdinalIgnoreCase))
            {
                return true;
            }
        }

        return false;
    }
}

/// <summary>A bound, non-listening loopback socket: a TCP connection to <see cref="Port"/> is refused (RST) at once.</summary>
public sealed class RefusingPort : IDisposable
{
    private readonly Socket socket = new(AddressFamily.InterNetwork, SocketType.Stream, ProtocolType.Tcp);

    internal RefusingPort()
    {
        socket.Bind(new IPEndPoint(IPAddress.Loopback, 0));
        Port = ((IPEndPoint)socket.LocalEndPoint!).Port;
    }

    public int Port { get; }

    public Uri Endpoint => new($"http://127.0.0.1:{Port}");

    public void Dispose() => socket.Dispose();
}
