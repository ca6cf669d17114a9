using System.Net;
using System.Net.Sockets;

namespace WorkspaceStorage.Testing.Support;

/// <summary>A loopback TCP port nobody listens on right now (the kernel's choice), for servers a test starts.</summary>
public static class FreeTcpPort
{
    public static int Next()
    {
        using var listener = new TcpListener(IPAddress.Loopback, 0);
        listener.Start();
        return ((IPEndPoint)listener.LocalEndpoint).Port;
    }
}
