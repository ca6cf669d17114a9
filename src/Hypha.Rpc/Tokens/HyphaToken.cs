using System.Buffers.Text;
using System.Text.Json;

namespace Hypha.Rpc.Tokens;

/// <summary>
/// A Hypha token and, when it is a JWT with <c>exp</c>, its expiry. The value never appears in
/// <see cref="ToString"/>, so logging the object is safe.
/// </summary>
public sealed class HyphaToken
{
    public HyphaToken(string value, DateTimeOffset? expiresAt = null)
    {
        if (string.IsNullOrWhiteSpace(value))
        {
            throw new ArgumentException("a Hypha token must not be empty", nameof(value));
        }

        Value = value.Trim();
        ExpiresAt = expiresAt ?? JwtExpiry(Value);
    }

    /// <summary>The secret itself: send it, never log it.</summary>
    public string Value { get; }

    public DateTimeOffset? ExpiresAt { get; }

    public bool IsValidAt(DateTimeOffset now, TimeSpan margin) => ExpiresAt is not { } expiry || expiry - margin > now;

    public override string ToString() => ExpiresAt is { } e ? $"HyphaToken(expires {e:O})" : "HyphaToken(no expiry)";

    /// <summary>The <c>exp</c> claim of a JWT (read, not verified: only to plan renewal); null for anything else.</summary>
    internal static DateTimeOffset? JwtExpiry(string token)
    {
        var parts = token.Split('.');
        if (parts.Length != 3)
        {
            return null;
        }

        try
        {
            var payload = Base64Url.DecodeFromChars(parts[1]);
            using var document = JsonDocument.Parse(payload);
            return document.RootElement.TryGetProperty("exp", out var exp) && exp.TryGetInt64(out var seconds)
                ? DateTimeOffset.FromUnixTimeSeconds(seconds)
                : null;
        }
        catch (Exception ex) when (ex is FormatException or JsonException or ArgumentException)
        {
            return null;
        }
    }
}
