using System.Text.Json;
using Amazon.S3;
using Amazon.S3.Model;
using WorkspaceStorage.Core.Model;
using WorkspaceStorage.Resources;
using WorkspaceStorage.Testing.Support;

namespace WorkspaceStorage.EndToEnd.Tests.WholeSystem;

/// <summary>
/// One system (no /s3 proxy: presigned URLs point straight at RGW) and one browser run for the class: Debian's Chromium,
/// headless, loads a page from http://localhost:PORT that uses npm's hypha-rpc browser build, axios and the AWS SDK
/// (WholeSystem/JavaScript/browser_run.mjs), and every case runs in that one launch. The run starts with the first test
/// that needs it, so a missing Hypha, Node.js or Chromium skips (or, under make test, fails) each test with the reason.
/// </summary>
public sealed class BrowserSession(SoleModeHypha hypha) : IAsyncDisposable
{
    private const string ControlKey = "no-cors/control.txt";

    private readonly Lock gate = new();
    private Task<BrowserOutcome>? outcome;
    private HyphaSystem? system;
    private AmazonS3Client? admin;
    private string? controlBucket;

    internal Task<BrowserOutcome> OutcomeAsync()
    {
        lock (gate)
        {
            return outcome ??= RunAsync();
        }
    }

    public async ValueTask DisposeAsync()
    {
        if (admin is not null && controlBucket is not null)
        {
            await admin.DeleteObjectAsync(controlBucket, ControlKey);
            await admin.DeleteBucketAsync(controlBucket);
        }

        admin?.Dispose();
        if (system is not null)
        {
            await system.DisposeAsync();
        }
    }

    private async Task<BrowserOutcome> RunAsync()
    {
        using var limit = new CancellationTokenSource(TimeSpan.FromMinutes(6));
        var ct = limit.Token;
        var node = NodeJs.Require();
        var chromium = NodeJs.RequireChromium();
        system = await HyphaSystem.StartAsync(hypha, ct, extra: new Dictionary<string, string?> { ["Api:S3Proxy:Enabled"] = "false" });
        await Eventually.WaitAsync("the StorageBackend Ready (its reconcile applies the bucket's CORS rule first)", TimeSpan.FromSeconds(60), async _ =>
        {
            var backend = (await system.Cluster.Kube.GetAsync<StorageBackendResource>(system.Cluster.BackendName))!;
            return (backend.Status.IsTrue(ConditionTypes.Ready), backend.Status?.Conditions.FirstOrDefault()?.Message ?? "no status");
        }, ct);
        var controlUrl = await ControlUrlAsync(ct);
        var run = await node.RunAsync("browser_run.mjs", ["presignedFetch", "axiosPut", "s3Client", "noCorsControl"], new Dictionary<string, string>
        {
            ["HYPHA_SERVER_URL"] = system.Hypha.Url.ToString().TrimEnd('/'),
            ["HYPHA_TOKEN"] = StorageClientRun.NewUserToken(system, "browser-" + Guid.NewGuid().ToString("N")[..8]),
            ["CONTROL_PUT_URL"] = controlUrl,
            ["CHROMIUM"] = chromium,
        }, TimeSpan.FromMinutes(4), ct);
        Assert.True(run.ExitCode == 0, $"browser_run.mjs failed:\n{run}\n--- companion log tail\n{system.Companion.Logs.Tail(20)}");
        return new BrowserOutcome(run.Result(), run.Duration, system.Cluster.Rgw.Endpoint.GetLeftPart(UriPartial.Authority), controlUrl);
    }

    /// <summary>A presigned PUT (the admin's key) into a new bucket that has no CORS rule: what the browser must refuse.</summary>
    private async Task<string> ControlUrlAsync(CancellationToken ct)
    {
        var rgw = system!.Cluster.Rgw;
        admin = rgw.CreateAwsS3Client(rgw.Admin);
        var bucket = Testing.S3.RgwTestServer.UniqueBucketName("nocors");
        await admin.PutBucketAsync(bucket, ct);
        controlBucket = bucket;
        return await admin.GetPreSignedURLAsync(new GetPreSignedUrlRequest
        {
            BucketName = bucket,
            Key = ControlKey,
            Verb = HttpVerb.PUT,
            Expires = DateTime.UtcNow.AddMinutes(15),
            Protocol = rgw.Endpoint.Scheme == "https" ? Protocol.HTTPS : Protocol.HTTP,
        });
    }
}

/// <summary>What browser_run.mjs reported, and where RGW and the control URL were.</summary>
internal sealed record BrowserOutcome(JsonElement Result, TimeSpan Duration, string RgwOrigin, string ControlUrl)
{
    public string PageOrigin => Result.GetProperty("page_origin").GetString()!;

    public JsonElement Case(string name)
    {
        var result = Result.GetProperty("cases").GetProperty(name);
        Assert.False(result.TryGetProperty("error", out var error), $"{name} failed in the browser: {error}\nconsole: {Result.GetProperty("console")}");
        return result;
    }

    /// <summary>The browser's own log of its requests to RGW for a path ending with <paramref name="keySuffix"/>.</summary>
    public IReadOnlyList<JsonElement> RgwRequests(string keySuffix) =>
        Result.GetProperty("network").EnumerateArray()
            .Where(r => r.GetProperty("origin").GetString() == RgwOrigin && r.GetProperty("path").GetString()!.EndsWith(keySuffix, StringComparison.Ordinal))
            .ToList();
}

/// <summary>
/// The seed's browser examples, in a real browser against a real Hypha with the companion registered: the page's origin
/// is not RGW's, so every upload is a cross-origin request that RGW answers only because the operator put Hypha's CORS
/// rule on the bucket; a bucket without it is the control.
/// </summary>
[Collection(SoleModeHyphaCollection.Name)]
public sealed class BrowserTests(BrowserSession session) : IClassFixture<BrowserSession>
{
    [Fact]
    public async Task A_page_calls_the_service_with_hypha_rpc_uploads_with_fetch_straight_to_RGW_across_origins_and_reads_the_same_bytes_back()
    {
        var outcome = await session.OutcomeAsync();
        var result = outcome.Case("presignedFetch");

        Assert.NotEqual(outcome.RgwOrigin, outcome.PageOrigin);
        Assert.StartsWith("http://localhost:", outcome.PageOrigin, StringComparison.Ordinal);
        Assert.Equal(outcome.RgwOrigin, result.GetProperty("s3_origin").GetString());
        Assert.StartsWith("ws-user-browser-", result.GetProperty("workspace").GetString(), StringComparison.Ordinal);
        Assert.Equal(200, result.GetProperty("put_status").GetInt32());
        Assert.Equal(200, result.GetProperty("get_status").GetInt32());
        Assert.Equal(1024 * 1024, result.GetProperty("read_bytes").GetInt32());
        Assert.Equal(result.GetProperty("sent_sha256").GetString(), result.GetProperty("read_sha256").GetString());
        Assert.Equal(["fetch.bin:1048576"], result.GetProperty("listed").EnumerateArray().Select(e => e.GetString()));
        AssertCrossOriginUpload(outcome, "/browser/fetch.bin");
        TestContext.Current.TestOutputHelper?.WriteLine(
            $"{outcome.Result.GetProperty("browser").GetString()}: timings {outcome.Result.GetProperty("timings")}, whole run {outcome.Duration.TotalSeconds:0.0} s");
    }

    [Fact]
    public async Task The_seeds_axios_put_to_a_presigned_URL_works_in_the_browser()
    {
        var outcome = await session.OutcomeAsync();
        var result = outcome.Case("axiosPut");

        Assert.Equal(outcome.RgwOrigin, result.GetProperty("s3_origin").GetString());
        Assert.Equal(200, result.GetProperty("put_status").GetInt32());
        Assert.Equal(200, result.GetProperty("get_status").GetInt32());
        Assert.True(result.GetProperty("read_back_matches").GetBoolean(), "axios read back other bytes");
        AssertCrossOriginUpload(outcome, "/browser/axios.txt");
    }

    [Fact]
    public async Task The_seeds_S3Client_with_generate_credentials_keys_works_in_the_browser_and_stays_in_its_prefix()
    {
        var outcome = await session.OutcomeAsync();
        var result = outcome.Case("s3Client");

        Assert.Equal(outcome.RgwOrigin, result.GetProperty("s3_origin").GetString());
        Assert.Equal(200, result.GetProperty("put_status").GetInt32());
        Assert.True(result.GetProperty("read_back_matches").GetBoolean(), "S3Client read back other bytes");
        Assert.Equal(["browser/axios.txt", "browser/fetch.bin", "browser/sdk.txt"], result.GetProperty("listed").EnumerateArray().Select(e => e.GetString()));
        Assert.Equal("AccessDenied", result.GetProperty("outside_write").GetString());
        AssertCrossOriginUpload(outcome, "/browser/sdk.txt");
    }

    [Fact]
    public async Task Without_the_buckets_CORS_rule_the_browser_refuses_the_same_upload_that_a_non_browser_client_makes()
    {
        var outcome = await session.OutcomeAsync();
        var result = outcome.Case("noCorsControl");

        Assert.Equal("TypeError: Failed to fetch", result.GetProperty("outcome").GetString());
        var preflight = Assert.Single(outcome.RgwRequests("/no-cors/control.txt"), r => r.GetProperty("method").GetString() == "OPTIONS");
        Assert.Equal(outcome.PageOrigin, preflight.GetProperty("origin_header").GetString());
        Assert.Equal(JsonValueKind.Null, preflight.GetProperty("allow_origin").ValueKind);
        Assert.DoesNotContain(outcome.RgwRequests("/no-cors/control.txt"), r => r.GetProperty("method").GetString() == "PUT" && r.GetProperty("status").ValueKind != JsonValueKind.Null);

        // The URL itself is good: outside a browser (no CORS) the same PUT succeeds.
        using var http = new HttpClient { Timeout = TimeSpan.FromSeconds(30) };
        using var response = await http.PutAsync(outcome.ControlUrl, new StringContent("outside a browser"), TestContext.Current.CancellationToken);
        Assert.Equal(System.Net.HttpStatusCode.OK, response.StatusCode);
    }

    /// <summary>The browser's own log shows CORS preflights from the page's origin that RGW allowed, then the upload RGW accepted.</summary>
    private static void AssertCrossOriginUpload(BrowserOutcome outcome, string keySuffix)
    {
        var requests = outcome.RgwRequests(keySuffix);
        var preflights = requests.Where(r => r.GetProperty("method").GetString() == "OPTIONS").ToList();
        Assert.NotEmpty(preflights);
        Assert.All(preflights, preflight =>
        {
            Assert.Equal(outcome.PageOrigin, preflight.GetProperty("origin_header").GetString());
            Assert.Equal(200, preflight.GetProperty("status").GetInt32());
            Assert.Equal(outcome.PageOrigin, preflight.GetProperty("allow_origin").GetString());
        });
        var upload = Assert.Single(requests, r => r.GetProperty("method").GetString() == "PUT");
        Assert.Equal(200, upload.GetProperty("status").GetInt32());
        Assert.Contains(upload.GetProperty("allow_origin").GetString(), new[] { "*", outcome.PageOrigin });
    }
}
