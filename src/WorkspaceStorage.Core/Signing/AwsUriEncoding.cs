using System.Buffers;
using System.Text;

namespace WorkspaceStorage.Core.Signing;

/// <summary>RFC 3986 escaping exactly as SigV4 wants it: unreserved characters stay, all else is %XX (upper case).</summary>
public static class AwsUriEncoding
{
    private const string Hex = "0123456789ABCDEF";

    /// <summary>Escapes a query key or value, or a path when <paramref name="keepSlash"/> is set (S3 object keys).</summary>
    /// <remarks>Presigning escapes on every call, so this works in stack buffers and allocates only the result.</remarks>
    public static string Escape(string value, bool keepSlash = false)
    {
        if (IsAllUnreserved(value, keepSlash))
        {
            return value; // the common case allocates nothing
        }

        byte[]? rentedBytes = null;
        char[]? rentedChars = null;
        try
        {
            var maxBytes = Encoding.UTF8.GetMaxByteCount(value.Length);
            var bytes = maxBytes <= 768 ? stackalloc byte[768] : (rentedBytes = ArrayPool<byte>.Shared.Rent(maxBytes));
            bytes = bytes[..Encoding.UTF8.GetBytes(value, bytes)];
            var chars = bytes.Length <= 256 ? stackalloc char[768] : (rentedChars = ArrayPool<char>.Shared.Rent(bytes.Length * 3));
            var length = 0;
            foreach (var b in bytes)
            {
                if (IsUnreserved(b) || (keepSlash && b == '/'))
                {
                    chars[length++] = (char)b;
                }
                else
                {
                    chars[length++] = '%';
                    chars[length++] = Hex[b >> 4];
                    chars[length++] = Hex[b & 0xF];
                }
            }

            return new string(chars[..length]);
        }
        finally
        {
            if (rentedBytes is not null)
            {
                ArrayPool<byte>.Shared.Return(rentedBytes);
            }

            if (rentedChars is not null)
            {
                ArrayPool<char>.Shared.Return(rentedChars);
            }
        }
    }

    private static bool IsAllUnreserved(string value, bool keepSlash)
    {
        foreach (var c in value)
        {
            if (c > 0x7F || !(IsUnreserved((byte)c) || (keepSlash && c == '/')))
            {
                return false;
            }
        }

        return true;
    }

    private static bool IsUnreserved(byte b) =>
        b is >= (byte)'A' and <= (byte)'Z' or >= (byte)'a' and <= (byte)'z' or >= (byte)'0' and <= (byte)'9'
            or (byte)'-' or (byte)'_' or (byte)'.' or (byte)'~';
}
