using System.Net;
using System.Security.Cryptography;

namespace WorkspaceStorage.Api.Tests.Storage;

/// <summary>Big transfers run alone: RGW's memstore holds 1 GiB, and memory figures need a quiet process.</summary>
[CollectionDefinition(Name, DisableParallelization = true)]
public sealed class BigTransfers
{
    public const string Name = "big transfers";
}

/// <summary>
/// 256 MiB up and down through /files with the API in this process: its peak memory growth (managed heap and working
/// set, sampled every 20 ms) must stay far below the body size, proving bodies stream and are never held whole.
/// </summary>
[Collection(BigTransfers.Name)]
public sealed class StreamingMemoryTests
{
    private const long Size = 256L * 1024 * 1024;
    private const long Budget = 64L * 1024 * 1024;

    private static CancellationToken Ct => StorageApiHarness.Ct;

    [Fact]
    public async Task Upload_and_download_of_256_MiB_through_files_stream_with_under_64_MiB_peak_growth()
    {
        await using var h = await StorageApiHarness.StartAsync();
        var w = (await h.AddWorkspaceAsync("big")).Workspace;
        var token = h.Token(w, "rw");
        using var http = StorageApiHarness.UrlClient();
        http.Timeout = TimeSpan.FromMinutes(10);
        http.BaseAddress = h.Api.BaseAddress;

        try
        {
            GC.Collect();
            GC.WaitForPendingFinalizers();
            GC.Collect();
            using var sampler = new MemorySampler();

            using (var generated = new PatternStream(Size, seed: 42))
            using (var request = h.Request(HttpMethod.Put, $"/{w}/files/big/blob.bin", token, new StreamContent(generated, 81920)))
            {
                request.Content!.Headers.ContentLength = Size;
                using var put = await http.SendAsync(request, Ct);
                Assert.Equal(HttpStatusCode.OK, put.StatusCode);
            }

            var uploadPeak = sampler.Snapshot();
            byte[] expectedHash;
            using (var reference = new PatternStream(Size, seed: 42))
            {
                expectedHash = await SHA256.HashDataAsync(reference, Ct);
            }

            using (var request = h.Request(HttpMethod.Get, $"/{w}/files/big/blob.bin", token))
            using (var get = await http.SendAsync(request, HttpCompletionOption.ResponseHeadersRead, Ct))
            {
                Assert.Equal(HttpStatusCode.OK, get.StatusCode);
                Assert.Equal(Size, get.Content.Headers.ContentLength);
                await using var body = await get.Content.ReadAsStreamAsync(Ct);
                Assert.Equal(expectedHash, await SHA256.HashDataAsync(body, Ct));
            }

            var peak = sampler.Snapshot();
            var report = $"streaming 256 MiB: upload peak managed +{Mb(uploadPeak.ManagedGrowth)} MiB, working set +{Mb(uploadPeak.WorkingSetGrowth)} MiB; " +
                $"overall peak managed +{Mb(peak.ManagedGrowth)} MiB, working set +{Mb(peak.WorkingSetGrowth)} MiB ({peak.Samples} samples)";
            TestContext.Current.TestOutputHelper?.WriteLine(report);
            await File.WriteAllTextAsync(Path.Combine(Path.GetTempPath(), "wso-api-streaming-memory.txt"), report + "\n", Ct);
            Assert.True(peak.ManagedGrowth < Budget, report);
            Assert.True(peak.WorkingSetGrowth < Budget, report);
        }
        finally
        {
            await h.OwnerClient(w.Prefix + "x").DeleteAsync(w.Prefix + "big/blob.bin", CancellationToken.None);
        }
    }

    private static string Mb(long bytes) => (bytes / 1024.0 / 1024.0).ToString("F1", System.Globalization.CultureInfo.InvariantCulture);
}
