using WorkspaceStorage.Benchmarks.Harness;
using WorkspaceStorage.Testing.Streams;

namespace WorkspaceStorage.Benchmarks.Benchmarks;

public static partial class ApiBenchmarks
{
    // ---- row 17 --------------------------------------------------------------------------------------------------

    /// <summary>
    /// Row 17: the <c>/s3</c> proxy (presigned URLs relayed to RGW with their own signature) against the same URLs sent
    /// to RGW directly, 256 MiB each way, with the API process's RSS growth. Rows 3 and 4 go through <c>/files</c>;
    /// this row is the one that shows what the forwarder itself costs.
    /// </summary>
    private static async Task<BenchRow> S3ProxyTransfersAsync(BenchContext context, ApiWorld world)
    {
        var fixture = world.Fixture;
        var rounds = Math.Min(context.Rounds, 3);
        var proxying = await world.StartProxyingApiAsync(context.CancellationToken);
        var proxyOrigin = new Uri(proxying.Urls.Single()).GetLeftPart(UriPartial.Authority);
        var work = Directory.CreateTempSubdirectory("wso-bench-");
        var file = Path.Combine(work.FullName, "256MiB.bin");
        try
        {
            await WriteRandomFileAsync(file, ObjectSize, context.CancellationToken);
            var idle = await IdleResidentAsync();
            using var sampler = new MemorySampler(Environment.ProcessId, TimeSpan.FromMilliseconds(20));
            var getKey = fixture.Workspace.Prefix + "bench/proxy-get.bin";
            var getUrl = fixture.Owner.Presign(HttpMethod.Get, getKey, TimeSpan.FromHours(1));
            await CurlAsync(context, ["-T", file, fixture.Owner.Presign(HttpMethod.Put, getKey, TimeSpan.FromHours(1))], "put");
            (List<double> Candidate, List<double> Baseline) get;
            try
            {
                get = await SideBySide.RunAsync(rounds,
                    _ => CurlAsync(context, [ThroughProxy(getUrl, proxyOrigin)], "get"),
                    _ => CurlAsync(context, [getUrl], "get"),
                    m => BenchContext.Progress($"#17 GET 256 MiB through /s3 (MiB/s) {m}"));
            }
            finally
            {
                await fixture.Owner.DeleteAsync(getKey, CancellationToken.None);
                await RgwGarbage.CollectAsync(CancellationToken.None);
            }

            async Task<double> Put(string key, bool proxied)
            {
                try
                {
                    var url = fixture.Owner.Presign(HttpMethod.Put, key, TimeSpan.FromHours(1));
                    return await CurlAsync(context, ["-T", file, proxied ? ThroughProxy(url, proxyOrigin) : url], "put");
                }
                finally
                {
                    await fixture.Owner.DeleteAsync(key, CancellationToken.None);
                    await RgwGarbage.CollectAsync(CancellationToken.None);
                }
            }

            var put = await SideBySide.RunAsync(rounds,
                _ => Put(fixture.Workspace.Prefix + "bench/proxy-put.bin", proxied: true),
                _ => Put(fixture.Workspace.Prefix + "bench/direct-put.bin", proxied: false),
                m => BenchContext.Progress($"#17 PUT 256 MiB through /s3 (MiB/s) {m}"));
            var getRatio = SideBySide.Median(get.Candidate) / SideBySide.Median(get.Baseline);
            var putRatio = SideBySide.Median(put.Candidate) / SideBySide.Median(put.Baseline);
            var growth = Math.Max(0, sampler.PeakBytes - idle) / 1048576.0;
            return new BenchRow("17", "GET and PUT /s3/{bucket}/{key} (the presigned-URL proxy), 256 MiB")
            {
                Measured = SideBySide.Fig(get.Candidate, "MiB/s"),
                BaselineName = "the same presigned GET sent to RGW (curl)",
                Baseline = SideBySide.Fig(get.Baseline, "MiB/s"),
                Ratio = getRatio * 100,
                RatioUnit = "%",
                Target = "≥ 90% of direct, GET and PUT; growth < 64 MiB",
                TargetMet = getRatio >= 0.9 && putRatio >= 0.9 && growth < 64,
                Extra = new Dictionary<string, Figure>
                {
                    ["PUT through /s3"] = SideBySide.Fig(put.Candidate, "MiB/s"),
                    ["PUT direct"] = SideBySide.Fig(put.Baseline, "MiB/s"),
                    ["PUT vs direct"] = new(putRatio * 100, "%"),
                    ["API memory growth"] = new(growth, "MiB (peak RSS − idle)"),
                },
                Note = $"{rounds} rounds, curl; the proxy forwards the client's own SigV4 signature, so both sides send the same URL's path and query",
            };
        }
        finally
        {
            work.Delete(recursive: true);
            // Stopped before disposed, as a host is: disposing a running app cancels its background services mid-tick.
            await proxying.StopAsync(CancellationToken.None);
            await proxying.DisposeAsync();
        }
    }

    /// <summary>A presigned URL on RGW, sent to the proxy instead: <c>{proxy}/s3</c> + the URL's raw path and query.</summary>
    private static string ThroughProxy(string presignedUrl, string proxyOrigin)
    {
        var pathStart = presignedUrl.IndexOf('/', presignedUrl.IndexOf("://", StringComparison.Ordinal) + 3);
        return string.Concat(proxyOrigin, "/s3", presignedUrl.AsSpan(pathStart));
    }
}
