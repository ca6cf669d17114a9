using System.Buffers;
using System.Net;

namespace WorkspaceStorage.Storage.S3;

/// <summary>
/// Copies exactly <c>contentLength</c> bytes from the caller's stream to the socket through one pooled buffer, so a
/// 1 GiB upload holds ~80 KiB. Declares Content-Length (RGW refuses chunked uploads with 411). Every chunk re-arms an
/// idle timer instead of a total timeout: a slow but moving upload never times out, a stalled one does. Once the
/// last byte is out, the timer is set to the wait allowed for the response headers.
/// </summary>
internal sealed class StreamingUploadContent(Stream source, long contentLength, Action<TimeSpan> armTimeout, TimeSpan idleTimeout,
    TimeSpan responseHeadersTimeout) : HttpContent
{
    private const int BufferSize = 81920;

    /// <summary>Whether any byte was read from the source (then a retry would have to rewind it).</summary>
    public bool Started { get; private set; }

    protected override Task SerializeToStreamAsync(Stream stream, TransportContext? context) =>
        SerializeToStreamAsync(stream, context, CancellationToken.None);

    protected override async Task SerializeToStreamAsync(Stream stream, TransportContext? context, CancellationToken cancellationToken)
    {
        Started = true;
        var buffer = ArrayPool<byte>.Shared.Rent(BufferSize);
        try
        {
            long sent = 0;
            while (sent < contentLength)
            {
                armTimeout(idleTimeout);
                var wanted = (int)Math.Min(buffer.Length, contentLength - sent);
                var read = await source.ReadAsync(buffer.AsMemory(0, wanted), cancellationToken);
                if (read == 0)
                {
                    // Sending fewer bytes than declared would leave S3 waiting for the rest until it times out.
                    throw new InvalidDataException($"the upload body ended after {sent} of the {contentLength} declared bytes");
                }

                await stream.WriteAsync(buffer.AsMemory(0, read), cancellationToken);
                sent += read;
            }

            armTimeout(responseHeadersTimeout);
        }
        finally
        {
            ArrayPool<byte>.Shared.Return(buffer);
        }
    }

    protected override bool TryComputeLength(out long length)
    {
        length = contentLength;
        return true;
    }
}
