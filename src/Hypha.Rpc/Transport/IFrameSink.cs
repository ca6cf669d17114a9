namespace Hypha.Rpc.Transport;

/// <summary>
/// What the parts of a session need of the socket to send (<see cref="HyphaSocket"/>): a seam so that sending and
/// keepalive can be tested without a server.
/// </summary>
internal interface IFrameSink
{
    Task SendBinaryAsync(ReadOnlyMemory<byte> frame, CancellationToken cancellationToken);

    Task SendTextAsync(string text, CancellationToken cancellationToken);

    /// <summary>Drops the connection at once; the reader then ends the session.</summary>
    void Abort();
}
