using System.Diagnostics.CodeAnalysis;
using System.Runtime.InteropServices;
using System.Security.Cryptography;
using Microsoft.Extensions.Caching.Memory;

namespace WorkspaceStorage.Api.Auth;

/// <summary>
/// Principals of tokens already verified, so a client's repeated calls skip the signature and claim checks. Keyed by
/// the token's SHA-256, so the cache holds no token. Bounded: at <c>capacity</c> entries a new token is simply verified
/// on every call until older entries age out. An entry lives until its token expires or <see cref="MaxAge"/>, whichever
/// comes first; the caller still checks expiry by its own clock on every hit. Only verified tokens are kept.
/// </summary>
public sealed class VerifiedTokenCache(int capacity) : IDisposable
{
    /// <summary>Longest an entry lives, however long its token does.</summary>
    public static readonly TimeSpan MaxAge = TimeSpan.FromMinutes(5);

    private readonly MemoryCache? cache = capacity > 0 ? new(new MemoryCacheOptions { SizeLimit = capacity }) : null;

    /// <summary>Entries held now (at most the capacity).</summary>
    public int Count => cache?.Count ?? 0;

    public bool TryGet(string token, [NotNullWhen(true)] out HyphaPrincipal? principal)
    {
        principal = null;
        return cache is not null && cache.TryGetValue(Digest.Of(token), out principal) && principal is not null;
    }

    /// <summary>Remembers a verified token for <paramref name="remainingLifetime"/> (capped at <see cref="MaxAge"/>).</summary>
    public void Add(string token, HyphaPrincipal principal, TimeSpan remainingLifetime)
    {
        if (cache is null || remainingLifetime <= TimeSpan.Zero)
        {
            return;
        }

        cache.Set(Digest.Of(token), principal, new MemoryCacheEntryOptions
        {
            Size = 1,
            AbsoluteExpirationRelativeToNow = remainingLifetime < MaxAge ? remainingLifetime : MaxAge,
        });
    }

    public void Dispose() => cache?.Dispose();

    /// <summary>A token's SHA-256 (of its UTF-16 code units: no copy, and one token has one spelling).</summary>
    private readonly record struct Digest(UInt128 High, UInt128 Low)
    {
        public static Digest Of(string token)
        {
            Span<byte> hash = stackalloc byte[SHA256.HashSizeInBytes];
            SHA256.HashData(MemoryMarshal.AsBytes(token.AsSpan()), hash);
            return new Digest(MemoryMarshal.Read<UInt128>(hash), MemoryMarshal.Read<UInt128>(hash[16..]));
        }
    }
}
