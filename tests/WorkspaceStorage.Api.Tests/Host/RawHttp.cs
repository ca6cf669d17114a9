using System.Net.Sockets;
using System.Text;

namespace WorkspaceStorage.Api.Tests.Host;

/// <summary>
/// Sends a request line byte for byte over a socket (HTTP/1.0, so the body is never chunked). HttpClient and Uri normalise dot segments and escapes on the
/// client side, which would hide exactly the requests a traversal test needs to send.
/// </summary>
internal static class RawHttp
{
    public static Task<(int Status, string Body)> GetAsync(Uri server, string target, IReadOnlyDictionary<string, string> headers, CancellationToken cancellationToken) =>
        SendAsync(server, "GET", target, headers, body: null, cancellationToken);

    /// <summary>
    /// Sends one request as written. A null <paramref name="body"/> sends no Content-Length at all, as <c>curl -X POST</c>
    /// without data does (HttpClient always adds <c>Content-Length: 0</c>). HTTP/1.1 responses may come chunked: compare
    /// bodies by content, not byte for byte.
    /// </summary>
    public static async Task<(int Status, string Body)> SendAsync(Uri server, string method, string target, IReadOnlyDictionary<string, string> headers,
        string? body, CancellationToken cancellationToken, string version = "HTTP/1.0")
    {
        using var client = new TcpClient();
        await client.ConnectAsync(server.Host, server.Port, cancellationToken);
        await using var stream = client.GetStream();

        var bytes = body is null ? [] : Encoding.UTF8.GetBytes(body);
        var request = new StringBuilder()
            .Append(method).Append(' ').Append(target).Append(' ').Append(version).Append("\r\n")
            .Append("Host: ").Append(server.Authority).Append("\r\n")
            .Append("Connection: close\r\n");
        foreach (var (name, value) in headers)
        {
            request.Append(name).Append(": ").Append(value).Append("\r\n");
        }

        if (body is not null)
        {
            request.Append("Content-Length: ").Append(bytes.Length).Append("\r\n");
        }

        request.Append("\r\n");
        await stream.WriteAsync(Encoding.ASCII.GetBytes(request.ToString()), cancellationToken);
        await stream.WriteAsync(bytes, cancellationToken);

        using var reader = new StreamReader(stream, Encoding.UTF8);
        var response = await reader.ReadToEndAsync(cancellationToken);
        var status = int.Parse(response.AsSpan(9, 3), provider: null);
        var bodyStart = response.IndexOf("\r\n\r\n", StringComparison.Ordinal);
        return (status, bodyStart < 0 ? string.Empty : response[(bodyStart + 4)..]);
    }
}
