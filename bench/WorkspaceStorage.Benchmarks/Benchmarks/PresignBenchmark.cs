using System.Diagnostics;
using System.Text.Json;
using WorkspaceStorage.Benchmarks.Harness;
using WorkspaceStorage.Storage.Backends;
using WorkspaceStorage.Storage.S3;

namespace WorkspaceStorage.Benchmarks.Benchmarks;

/// <summary>Row 1: presigned URLs per second in process (S3ObjectClient.Presign) beside botocore's generate_presigned_url.</summary>
public static class PresignBenchmark
{
    private static readonly TimeSpan RoundLength = TimeSpan.FromSeconds(2);

    public static async Task<BenchRow> RunAsync(BenchContext context)
    {
        const string bucket = "bench-presign";
        const string key = "ws-bench/some/dir/file name.bin";
        using var factory = new S3ClientFactory();
        var client = factory.Create(new S3Location(context.RgwEndpoint, context.RgwEndpoint, context.Region, bucket), context.Admin);
        using var boto3 = new LineProcess(BenchContext.Python, [context.Baseline("boto3_presign.py")], context.PythonEnvironment());
        var request = JsonSerializer.Serialize(new { seconds = RoundLength.TotalSeconds, bucket, key });

        Presign(client, key, TimeSpan.FromSeconds(2)); // tiered JIT settles and the signing-key cache fills, as boto3's warm-up
        var (ours, theirs) = await SideBySide.RunAsync(context.Rounds,
            _ => Task.FromResult(Presign(client, key, RoundLength)),
            async _ =>
            {
                var answer = await boto3.AskAsync(request, TimeSpan.FromSeconds(60), context.CancellationToken);
                return JsonDocument.Parse(answer).RootElement.GetProperty("rate").GetDouble();
            },
            m => BenchContext.Progress($"#1 presign {m}"));

        var ratio = SideBySide.Median(ours) / SideBySide.Median(theirs);
        return new BenchRow("1", "presigned URL generation, in process")
        {
            Measured = SideBySide.Fig(ours, "URLs/s"),
            BaselineName = "botocore generate_presigned_url",
            Baseline = SideBySide.Fig(theirs, "URLs/s"),
            Ratio = ratio,
            RatioUnit = "×",
            Target = "≥ 20×",
            TargetMet = ratio >= 20,
            Note = "one thread each",
        };
    }

    private static double Presign(S3ObjectClient client, string key, TimeSpan length)
    {
        var count = 0L;
        var watch = Stopwatch.StartNew();
        while (watch.Elapsed < length)
        {
            for (var i = 0; i < 1000; i++)
            {
                _ = client.Presign(HttpMethod.Get, key, TimeSpan.FromHours(1));
            }

            count += 1000;
        }

        return count / watch.Elapsed.TotalSeconds;
    }
}
