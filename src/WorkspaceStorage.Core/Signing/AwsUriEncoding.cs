using System.Text;

namespace WorkspaceStorage.Core.Signing;

/// <summary>RFC 3986 escaping exactly as SigV4 wants it: unreserved characters stay, all else is %XX (upper case).</summary>
public static class AwsUriEncoding
{
    private const string Hex = "0123456789ABCDEF";

    /// <summary>Escapes a query key or value, or a path when <paramref name="keepSlash"/> is set (S3 object keys).</summary>
    public static string Escape(string value, bool keepSlash = false)
    {
        if (IsAllUnreserved(value, keepSlash))
        {
            return value; // the common case allocates nothing
        }

        var bytes = Encoding.UTF8.GetBytes(value);
        var builder = new StringBuilder(bytes.Length * 3);
        foreach (var b in bytes)
        {
            if (IsUnreserved(b) || (keepSlash && b == '/'))
            {
                builder.Append((char)b);
            }
            else
            {
                builder.Append('%').Append(Hex[b >> 4]).Append(Hex[b & 0xF]);
            }
        }

        return builder.ToString();
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
