using System.Globalization;

namespace WorkspaceStorage.Storage.S3;

/// <summary>
/// A single HTTP byte range: <c>bytes=From-To</c>, <c>bytes=From-</c> or the last <see cref="SuffixLength"/> bytes (<c>bytes=-N</c>).
/// Multi-range requests are not offered: S3 answers them with the whole object anyway.
/// </summary>
public sealed record S3ByteRange
{
    private S3ByteRange(long? from, long? to, long? suffixLength)
    {
        From = from;
        To = to;
        SuffixLength = suffixLength;
    }

    public long? From { get; }

    /// <summary>Inclusive last byte, or null for "to the end".</summary>
    public long? To { get; }

    public long? SuffixLength { get; }

    /// <summary>Bytes <paramref name="from"/> to <paramref name="to"/>, both inclusive.</summary>
    public static S3ByteRange Between(long from, long to)
    {
        ArgumentOutOfRangeException.ThrowIfNegative(from);
        if (to < from)
        {
            throw new ArgumentOutOfRangeException(nameof(to), to, "the last byte must not come before the first");
        }

        return new(from, to, null);
    }

    public static S3ByteRange StartingAt(long from)
    {
        ArgumentOutOfRangeException.ThrowIfNegative(from);
        return new(from, null, null);
    }

    public static S3ByteRange Last(long length)
    {
        ArgumentOutOfRangeException.ThrowIfNegativeOrZero(length);
        return new(null, null, length);
    }

    /// <summary>Reads a client's Range header. Multiple ranges and other units are refused (false), so the caller can serve the whole object.</summary>
    public static bool TryParse(string? header, out S3ByteRange range)
    {
        range = null!;
        if (header is null || !header.StartsWith("bytes=", StringComparison.OrdinalIgnoreCase))
        {
            return false;
        }

        var spec = header.AsSpan(6).Trim();
        var dash = spec.IndexOf('-');
        if (dash < 0 || spec.Contains(','))
        {
            return false;
        }

        var first = spec[..dash].Trim();
        var last = spec[(dash + 1)..].Trim();
        const NumberStyles digits = NumberStyles.None;
        if (first.IsEmpty)
        {
            if (!long.TryParse(last, digits, CultureInfo.InvariantCulture, out var suffix) || suffix <= 0)
            {
                return false;
            }

            range = new(null, null, suffix);
            return true;
        }

        if (!long.TryParse(first, digits, CultureInfo.InvariantCulture, out var from))
        {
            return false;
        }

        if (last.IsEmpty)
        {
            range = new(from, null, null);
            return true;
        }

        if (!long.TryParse(last, digits, CultureInfo.InvariantCulture, out var to) || to < from)
        {
            return false;
        }

        range = new(from, to, null);
        return true;
    }

    /// <summary>The Range header value.</summary>
    public override string ToString() => SuffixLength is { } suffix
        ? string.Create(CultureInfo.InvariantCulture, $"bytes=-{suffix}")
        : string.Create(CultureInfo.InvariantCulture, $"bytes={From}-{To}");
}
