using System.Collections.Concurrent;
using System.Diagnostics;

namespace Hypha.Rpc.Protocol;

/// <summary>
/// Reassembles messages a sender cut into chunks through our <c>services.built-in.message_cache</c>
/// (<c>create</c>, <c>append</c>/<c>set</c>, <c>process</c>, <c>remove</c>). Entries are keyed by the sender's
/// address as well as its key, so no client can add to or take another's message; size, count and age are bounded.
/// </summary>
internal sealed class MessageCache(long maxMessageBytes, int maxPending, TimeSpan timeout)
{
    private const int MaxChunks = 1_000_000;
    private readonly ConcurrentDictionary<(string Sender, string Key), Entry> entries = new();

    public int Count => entries.Count;

    public void Create(string sender, string key, bool overwrite)
    {
        ValidateKey(key);
        DropExpired();
        var entryKey = (sender, key);
        if (!overwrite && entries.ContainsKey(entryKey))
        {
            throw new MessageCacheException($"Message with the same key ({key}) already exists in the cache store");
        }

        if (!entries.ContainsKey(entryKey) && entries.Count >= maxPending)
        {
            throw new MessageCacheException($"too many chunked messages in progress (limit {maxPending})");
        }

        entries[entryKey] = new Entry();
    }

    public void Append(string sender, string key, byte[] data) => Get(sender, key).Add(null, data, maxMessageBytes);

    public void Set(string sender, string key, long index, byte[] data)
    {
        if (index is < 0 or >= MaxChunks)
        {
            throw new MessageCacheException($"chunk index {index} is out of range");
        }

        Get(sender, key).Add((int)index, data, maxMessageBytes);
    }

    /// <summary>Removes the entry and returns its chunks joined in index order; every index up to the last must be present.</summary>
    public byte[] Take(string sender, string key)
    {
        if (!entries.TryRemove((sender, key), out var entry))
        {
            throw new MessageCacheException($"Message with key {key} does not exist");
        }

        return entry.Join();
    }

    public void Remove(string sender, string key)
    {
        if (!entries.TryRemove((sender, key), out _))
        {
            throw new MessageCacheException($"Message with key {key} does not exist");
        }
    }

    /// <summary>Forgets everything (the connection that delivered the chunks is gone).</summary>
    public void Clear() => entries.Clear();

    private Entry Get(string sender, string key) =>
        entries.TryGetValue((sender, key), out var entry) ? entry : throw new MessageCacheException($"Message with key {key} does not exist");

    private void DropExpired()
    {
        foreach (var (key, entry) in entries)
        {
            if (Stopwatch.GetElapsedTime(entry.Started) > timeout)
            {
                entries.TryRemove(key, out _);
            }
        }
    }

    private static void ValidateKey(string key)
    {
        if (string.IsNullOrEmpty(key) || key.Length > 256)
        {
            throw new MessageCacheException("the message key must have 1 to 256 characters");
        }
    }

    private sealed class Entry
    {
        private readonly SortedDictionary<int, byte[]> chunks = [];
        private long bytes;
        private int highest = -1;

        public long Started { get; } = Stopwatch.GetTimestamp();

        public void Add(int? index, byte[] data, long limit)
        {
            lock (chunks)
            {
                var at = index ?? highest + 1;
                var replaced = chunks.TryGetValue(at, out var old) ? old.Length : 0;
                if (bytes - replaced + data.Length > limit)
                {
                    throw new MessageCacheException($"the chunked message exceeds {limit} bytes");
                }

                chunks[at] = data;
                bytes += data.Length - replaced;
                highest = Math.Max(highest, at);
            }
        }

        public byte[] Join()
        {
            lock (chunks)
            {
                var result = new byte[bytes];
                var offset = 0;
                var expected = 0;
                foreach (var (index, data) in chunks)
                {
                    if (index != expected++)
                    {
                        throw new MessageCacheException($"chunk {expected - 1} of the message is missing");
                    }

                    data.CopyTo(result, offset);
                    offset += data.Length;
                }

                return result;
            }
        }
    }
}

/// <summary>A <c>message_cache</c> operation the sender got wrong; its text goes back to the sender.</summary>
internal sealed class MessageCacheException(string message) : Exception(message);
