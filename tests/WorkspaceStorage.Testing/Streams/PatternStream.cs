using System.Security.Cryptography;

namespace WorkspaceStorage.Testing.Streams;

/// <summary>
/// A read-only, non-seekable stream of <c>length</c> deterministic bytes, generated on the fly: large uploads in
/// tests without holding the data. <see cref="OnRead"/> lets a test sample memory while the transfer runs.
/// </summary>
public sealed class PatternStream(long length, int seed = 7) : Stream
{
    private long position;

    public Action? OnRead { get; init; }

    public override bool CanRead => true;

    public override bool CanSeek => false;

    public override bool CanWrite => false;

    public override long Length => length;

    public override long Position { get => position; set => throw new NotSupportedException(); }

    public static byte At(long index, int seed) => (byte)((index * 31) ^ (index >> 11) ^ seed);

    /// <summary>The first <paramref name="length"/> bytes of the pattern, for small bodies held in memory.</summary>
    public static byte[] Bytes(int length, int seed = 7)
    {
        var bytes = new byte[length];
        for (var i = 0; i < length; i++)
        {
            bytes[i] = At(i, seed);
        }

        return bytes;
    }

    /// <summary>SHA-256 of the whole pattern, computed in chunks.</summary>
    public static byte[] Hash(long length, int seed = 7)
    {
        using var stream = new PatternStream(length, seed);
        return SHA256.HashData(stream);
    }

    public override int Read(byte[] buffer, int offset, int count) => Read(buffer.AsSpan(offset, count));

    public override int Read(Span<byte> buffer)
    {
        OnRead?.Invoke();
        var n = (int)Math.Min(buffer.Length, length - position);
        for (var i = 0; i < n; i++)
        {
            buffer[i] = At(position + i, seed);
        }

        position += n;
        return n;
    }

    public override ValueTask<int> ReadAsync(Memory<byte> buffer, CancellationToken cancellationToken = default) =>
        ValueTask.FromResult(Read(buffer.Span));

    public override Task<int> ReadAsync(byte[] buffer, int offset, int count, CancellationToken cancellationToken) =>
        Task.FromResult(Read(buffer.AsSpan(offset, count)));

    public override void Flush()
    {
    }

    public override long Seek(long offset, SeekOrigin origin) => throw new NotSupportedException();

    public override void SetLength(long value) => throw new NotSupportedException();

    public override void Write(byte[] buffer, int offset, int count) => throw new NotSupportedException();
}
