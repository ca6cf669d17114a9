using System.Diagnostics;
using System.Net;
using System.Security.Cryptography;

namespace WorkspaceStorage.Api.Tests.Proxy;

/// <summary>Large and slow transfers share RGW's 1 GiB of RAM and the process's memory figure, so they never run alongside anything.</summary>
[CollectionDefinition(Name, DisableParallelization = true)]
public sealed class S3ProxyBigTransfers
{
    public const string Name = "S3 proxy big transfers";
}

[Collection(S3ProxyBigTransfers.Name)]
public sealed class S3ProxyStreamingTests
{
    private const long BigSize = 256L * 1024 * 1024;
    private const long MemoryBudget = 64L * 1024 * 1024;

    private static CancellationToken Cancel => TestContext.Current.CancellationToken;

    [Fact]
    public async Task QuarterGigabyteStreamsUpAndDownWithBoundedMemory()
    {
        await using var rgw = await RgwProxyContext.CreateAsync();
        using var client = new HttpClient(new SocketsHttpHandler { UseProxy = false, AutomaticDecompression = DecompressionMethods.None })
        {
            Timeout = Timeout.InfiniteTimeSpan,
        };
        const string key = "ws-a/quarter-gig.bin";
        try
        {
            // Warm up every code path first, so JIT and pools do not count as growth.
            await PutAsync(client, rgw.Proxied(HttpMethod.Put, "ws-a/warm-up.bin"), 4 * 1024 * 1024);
            await HashDownloadAsync(client, rgw.Proxied(HttpMethod.Get, "ws-a/warm-up.bin"), null);

            using var sampler = new MemorySampler();
            var clock = Stopwatch.StartNew();
            await PutAsync(client, rgw.Proxied(HttpMethod.Put, key), BigSize);
            var upload = clock.Elapsed;
            var hash = await HashDownloadAsync(client, rgw.Proxied(HttpMethod.Get, key), null);
            var total = clock.Elapsed;
            var peak = sampler.Snapshot();
            var (workingSetGrowth, heapGrowth) = (peak.WorkingSetGrowth, peak.ManagedGrowth);

            var report = $"S3 proxy 256 MiB: PUT {upload.TotalSeconds:0.0} s, GET {(total - upload).TotalSeconds:0.0} s; " +
                $"peak working-set growth {workingSetGrowth / 1048576.0:0.0} MiB, peak managed-heap growth {heapGrowth / 1048576.0:0.0} MiB " +
                $"({peak.Samples} samples)";
            TestContext.Current.TestOutputHelper?.WriteLine(report);
            Console.WriteLine(report);
            Assert.Equal(PatternStream.Hash(BigSize), hash);
            Assert.True(workingSetGrowth < MemoryBudget, report);
            Assert.True(heapGrowth < MemoryBudget, report);
        }
        finally
        {
            await rgw.Admin.DeleteAsync(key, CancellationToken.None);
        }
    }

    [Fact]
    public async Task SlowReaderOutlastsTheHeaderTimeout()
    {
        await using var rgw = await RgwProxyContext.CreateAsync(headersTimeout: TimeSpan.FromSeconds(1));
        const long size = 16 * 1024 * 1024;
        using var client = new HttpClient(new SocketsHttpHandler { UseProxy = false }) { Timeout = Timeout.InfiniteTimeSpan };
        await PutAsync(client, rgw.Proxied(HttpMethod.Put, "ws-a/slow.bin"), size);

        // 256 KiB every 50 ms: ~3.2 s for 16 MiB, far longer than socket buffers hide, and than the 1 s header timeout.
        var clock = Stopwatch.StartNew();
        var hash = await HashDownloadAsync(client, rgw.Proxied(HttpMethod.Get, "ws-a/slow.bin"), TimeSpan.FromMilliseconds(50));
        Assert.True(clock.Elapsed > TimeSpan.FromSeconds(2.5), $"took {clock.Elapsed}");
        Assert.Equal(PatternStream.Hash(size), hash);
    }

    private static async Task PutAsync(HttpClient client, string url, long size)
    {
        using var content = new StreamContent(new PatternStream(size), 64 * 1024) { Headers = { ContentLength = size } };
        using var request = new HttpRequestMessage(HttpMethod.Put, ProxyApi.Exact(url)) { Content = content };
        using var response = await client.SendAsync(request, Cancel);
        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
    }

    private static async Task<byte[]> HashDownloadAsync(HttpClient client, string url, TimeSpan? pause)
    {
        using var response = await client.GetAsync(ProxyApi.Exact(url), HttpCompletionOption.ResponseHeadersRead, Cancel);
        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        await using var body = await response.Content.ReadAsStreamAsync(Cancel);
        using var hash = IncrementalHash.CreateHash(HashAlgorithmName.SHA256);
        var buffer = new byte[256 * 1024];
        while (true)
        {
            var filled = 0;
            int n;
            while (filled < buffer.Length && (n = await body.ReadAsync(buffer.AsMemory(filled), Cancel)) > 0)
            {
                filled += n;
            }

            if (filled == 0)
            {
                break;
            }

            hash.AppendData(buffer, 0, filled);
            if (pause is { } delay)
            {
                await Task.Delay(delay, Cancel); // a slow reader, so backpressure is exercised: what is tested
            }
        }

        return hash.GetHashAndReset();
    }
}
