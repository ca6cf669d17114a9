using System.Buffers;

namespace WorkspaceStorage.Api.Files;

/// <summary>Copies between streams through one pooled buffer, reporting progress; never holds a whole body.</summary>
internal static class StreamCopy
{
    // 1 MiB, not 80 KiB: fewer, larger socket writes; measured 256 MiB GET through /files at 78-84% of a direct GET vs 65% (bench row 3).
    private const int BufferSize = 1024 * 1024;

    /// <summary>Copies until the end of <paramref name="source"/> (or <paramref name="limit"/> bytes, beyond which it throws). Returns the bytes copied.</summary>
    public static async Task<long> CopyAsync(Stream source, Stream destination, long limit, Action<long>? progress, CancellationToken cancellationToken)
    {
        var buffer = ArrayPool<byte>.Shared.Rent(BufferSize);
        try
        {
            long total = 0;
            int read;
            while ((read = await source.ReadAsync(buffer.AsMemory(0, BufferSize), cancellationToken)) > 0)
            {
                total += read;
                if (total > limit)
                {
                    throw new Errors.ApiException(StatusCodes.Status413PayloadTooLarge,
                        $"uploads without Content-Length may be at most {limit} bytes; send Content-Length or use multipart");
                }

                await destination.WriteAsync(buffer.AsMemory(0, read), cancellationToken);
                progress?.Invoke(read);
            }

            return total;
        }
        finally
        {
            ArrayPool<byte>.Shared.Return(buffer);
        }
    }
}
