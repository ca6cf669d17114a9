using WorkspaceStorage.Api.Auth;

namespace WorkspaceStorage.Api.Tests.Auth;

/// <summary>The cache of verified tokens on its own: bounded, exact, and empty when it should be.</summary>
public sealed class VerifiedTokenCacheTests
{
    private static readonly HyphaPrincipal Someone = new()
    {
        UserId = "u-1",
        Scope = WorkspaceScope.Empty,
        ExpiresAt = DateTimeOffset.UtcNow.AddHours(1),
    };

    [Fact]
    public void Holds_no_more_than_its_capacity()
    {
        using var cache = new VerifiedTokenCache(capacity: 3);
        for (var i = 0; i < 50; i++)
        {
            cache.Add($"header.payload-{i}.signature", Someone, TimeSpan.FromHours(1));
        }

        Assert.InRange(cache.Count, 1, 3);
    }

    [Fact]
    public void A_token_one_character_away_is_a_miss()
    {
        using var cache = new VerifiedTokenCache(capacity: 10);
        cache.Add("header.payload.signature", Someone, TimeSpan.FromHours(1));

        Assert.True(cache.TryGet("header.payload.signature", out var found));
        Assert.Same(Someone, found);
        Assert.False(cache.TryGet("header.payload.signaturf", out _));
        Assert.False(cache.TryGet("header.payload.signature ", out _));
    }

    [Fact]
    public void Keeps_nothing_for_a_token_at_its_end_or_when_turned_off()
    {
        using var cache = new VerifiedTokenCache(capacity: 10);
        cache.Add("expiring.now.token", Someone, TimeSpan.Zero);
        Assert.False(cache.TryGet("expiring.now.token", out _));

        using var off = new VerifiedTokenCache(capacity: 0);
        off.Add("header.payload.signature", Someone, TimeSpan.FromHours(1));
        Assert.False(off.TryGet("header.payload.signature", out _));
        Assert.Equal(0, off.Count);
    }
}
