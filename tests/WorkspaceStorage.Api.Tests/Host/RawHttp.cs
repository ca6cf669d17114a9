using System.Net.Sockets;
using System.Text;

namespace WorkspaceStorage.Api.Tests.Host;

/// <summary>
/// Sends a request line byte for byte over a socket (HTTP/1.0, so the body is never chunked). HttpClient and Uri normalise dot segments and escapes on the
/// client side, which would hide exactly the requests a traversal test needs to send.
/// </summary>
internal static class RawHttp
{
    public static async Task<(int Status, string Body)> GetAsync(Uri server, string target, IReadOnlyDictionary<string, string> headers, CancellationToken cancellationToken)
    {
        using var client = new TcpClient();
        await client.ConnectAsync(server.Host, server.Port, cancellationToken);
        await using var stream = client.GetStream();

        var request = new StringBuilder()
            .Append("GET ").Append(target).Append(" HTTP/1.0\r\n")
            .Append("Host: ").Append(server.Authority).Append("\r\n")
            .Append("Connection: close\r\n");
        foreach (var (name, value) in headers)
        {
            request.Append(name).Append(": ").Append(value).Append("\r\n");
        }

        request.Append("\r\n");
        await stream.WriteAsync(Encoding.ASCII.GetBytes(request.ToString()), cancellationToken);

        using var reader = new StreamReader(stream, Encoding.UTF8);
        var response = await reader.ReadToEndAsync(cancellationToken);
        var status = int.Parse(response.AsSpan(9, 3), provider: null);
        var bodyStart = response.IndexOf("\r\n\r\n", StringComparison.Ordinal);
        return (status, bodyStart < 0 ? string.Empty : response[(bodyStart + 4)..]);
    }
}
