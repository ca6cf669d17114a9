using Hypha.Rpc.Protocol;

namespace Hypha.Rpc.Tests.Unit;

public sealed class MessageCacheTests
{
    private readonly MessageCache cache = new(maxMessageBytes: 100, maxPending: 2, timeout: TimeSpan.FromMinutes(1));

    [Fact]
    public void Appended_and_indexed_chunks_join_in_order()
    {
        cache.Create("ws/a", "k", overwrite: false);
        cache.Set("ws/a", "k", 1, [3, 4]);
        cache.Set("ws/a", "k", 0, [1, 2]);
        cache.Append("ws/a", "k", [5]);

        Assert.Equal(new byte[] { 1, 2, 3, 4, 5 }, cache.Take("ws/a", "k"));
        Assert.Equal(0, cache.Count);
    }

    [Fact]
    public void Another_sender_cannot_add_to_or_take_a_message()
    {
        cache.Create("ws/a", "k", overwrite: false);

        Assert.Throws<MessageCacheException>(() => cache.Append("ws/intruder", "k", [1]));
        Assert.Throws<MessageCacheException>(() => cache.Take("ws/intruder", "k"));
        cache.Append("ws/a", "k", [9]);
        Assert.Equal(new byte[] { 9 }, cache.Take("ws/a", "k"));
    }

    [Fact]
    public void Missing_chunks_size_and_count_limits_are_refused()
    {
        cache.Create("ws/a", "gap", overwrite: false);
        cache.Set("ws/a", "gap", 1, [1]);
        Assert.Throws<MessageCacheException>(() => cache.Take("ws/a", "gap"));
        Assert.Equal(0, cache.Count); // a broken message is discarded, not kept half-done

        cache.Create("ws/a", "big", overwrite: false);
        cache.Append("ws/a", "big", new byte[60]);
        Assert.Throws<MessageCacheException>(() => cache.Append("ws/a", "big", new byte[41]));

        Assert.Throws<MessageCacheException>(() => cache.Create("ws/a", "big", overwrite: false));
        cache.Create("ws/b", "second", overwrite: false);
        Assert.Throws<MessageCacheException>(() => cache.Create("ws/b", "third", overwrite: false)); // two pending already
        Assert.Throws<MessageCacheException>(() => cache.Set("ws/a", "big", -1, [1]));
    }
}
