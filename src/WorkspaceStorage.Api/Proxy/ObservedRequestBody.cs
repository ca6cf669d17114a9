namespace WorkspaceStorage.Api.Proxy;

/// <summary>
/// The client's request body as the forwarder reads it: counts bytes, tells when the end was reached (so the
/// header timeout can start only then — a long upload is not a slow server) and remembers whether reading the
/// client failed (a client problem, not an S3 one).
/// </summary>
internal sealed class ObservedRequestBody(Stream inner, Action onEnd) : Stream
{
    private bool ended;

    public long BytesRead { get; private set; }

    public bool ClientFailed { get; private set; }

    public override bool CanRead => true;

    public override bool CanSeek => false;

    public override bool CanWrite => false;

    public override long Length => throw new NotSupportedException();

    public override long Position { get => BytesRead; set => throw new NotSupportedException(); }

    public override async ValueTask<int> ReadAsync(Memory<byte> buffer, CancellationToken cancellationToken = default)
    {
        int n;
        try
        {
            n = await inner.ReadAsync(buffer, cancellationToken);
        }
        catch
        {
            ClientFailed = true;
            throw;
        }

        BytesRead += n;
        if (n == 0 && buffer.Length > 0 && !ended)
        {
            ended = true;
            onEnd();
        }

        return n;
    }

    public override Task<int> ReadAsync(byte[] buffer, int offset, int count, CancellationToken cancellationToken) =>
        ReadAsync(buffer.AsMemory(offset, count), cancellationToken).AsTask();

    public override int Read(byte[] buffer, int offset, int count) =>
        throw new NotSupportedException("the request body is read asynchronously only");

    public override void Flush()
    {
    }

    public override long Seek(long offset, SeekOrigin origin) => throw new NotSupportedException();

    public override void SetLength(long value) => throw new NotSupportedException();

    public override void Write(byte[] buffer, int offset, int count) => throw new NotSupportedException();
}
