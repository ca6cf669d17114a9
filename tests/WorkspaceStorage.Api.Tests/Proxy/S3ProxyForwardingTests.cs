using System.Diagnostics;
using System.IO.Compression;
using System.Net;
using System.Net.Http.Headers;
using System.Text;
using System.Text.Json;
using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.DependencyInjection;
using WorkspaceStorage.Api.Tests.Host;
using WorkspaceStorage.Storage.Backends;
using WorkspaceStorage.Testing.Support;

namespace WorkspaceStorage.Api.Tests.Proxy;

/// <summary>The proxy against a fake S3 that records exactly what arrives: headers, raw targets, timeouts, failures.</summary>
public sealed class S3ProxyForwardingTests
{
    private const string Bucket = "hypha-workspaces";
    private static readonly Uri PublicEndpoint = new("http://s3.public.test:9000");

    private static CancellationToken Cancel => TestContext.Current.CancellationToken;

    private static async Task<(FakeS3 Fake, ProxyApi Api)> StartAsync(TimeSpan? headersTimeout = null, bool enabled = true)
    {
        var fake = await FakeS3.StartAsync();
        var api = await ProxyApi.StartAsync([new S3Location(fake.Endpoint, PublicEndpoint, "us-east-1", Bucket)], enabled, headersTimeout);
        return (fake, api);
    }

    [Fact]
    public async Task ForwardsRawPathAndQueryWithTheSignedHostAndAddsNoCredentials()
    {
        var (fake, api) = await StartAsync();
        await using var _ = fake;
        await using var __ = api;

        const string target = "/s3/hypha-workspaces/ws-a/dir%2Fx/a%20b%2Bc%7C%C3%BC.txt?X-Amz-Algorithm=AWS4-HMAC-SHA256&X-Amz-Credential=AK%2F20260101%2Fus-east-1%2Fs3%2Faws4_request&X-Amz-Signature=abc&a=%7e&b=+&c";
        using var request = new HttpRequestMessage(HttpMethod.Get, ProxyApi.Exact(api.BaseAddress.ToString().TrimEnd('/') + target));
        request.Headers.Range = new RangeHeaderValue(0, 10);
        request.Headers.IfNoneMatch.ParseAdd("\"etag-1\"");
        request.Headers.TryAddWithoutValidation("x-amz-meta-note", "kept");
        request.Headers.TryAddWithoutValidation("Cookie", "access_token=hypha-session-token");
        request.Headers.TryAddWithoutValidation("X-Forwarded-Proto", "https");
        using var response = await api.Client.SendAsync(request, Cancel);

        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        Assert.Equal("fake-s3-body", await response.Content.ReadAsStringAsync(Cancel));
        var seen = fake.Single();
        Assert.Equal("GET", seen.Method);
        Assert.Equal(target["/s3".Length..], seen.RawTarget);
        Assert.Equal("s3.public.test:9000", seen.Header("Host"));
        Assert.Equal("bytes=0-10", seen.Header("Range"));
        Assert.Equal("\"etag-1\"", seen.Header("If-None-Match"));
        Assert.Equal("kept", seen.Header("x-amz-meta-note"));
        Assert.Null(seen.Header("Authorization"));
        Assert.Null(seen.Header("Cookie"));
        Assert.Null(seen.Header("X-Forwarded-Proto"));
        Assert.Null(seen.Header("traceparent"));
        Assert.DoesNotContain(seen.Headers.Keys, k => k.StartsWith("X-Amz-", StringComparison.OrdinalIgnoreCase) && !k.Equals("x-amz-meta-note", StringComparison.OrdinalIgnoreCase));
    }

    [Fact]
    public async Task HyphaBearerTokenStaysHereButAnS3SignatureHeaderGoesThrough()
    {
        var (fake, api) = await StartAsync();
        await using var _ = fake;
        await using var __ = api;

        using (var bearer = new HttpRequestMessage(HttpMethod.Get, "/s3/hypha-workspaces/ws-a/x"))
        {
            bearer.Headers.Authorization = new AuthenticationHeaderValue("Bearer", "not-for-s3");
            using var response = await api.Client.SendAsync(bearer, Cancel);
            Assert.Equal(HttpStatusCode.OK, response.StatusCode); // no Hypha authentication on /s3
        }

        const string sigV4 = "AWS4-HMAC-SHA256 Credential=AK/20260101/us-east-1/s3/aws4_request, SignedHeaders=host, Signature=00";
        using (var signed = new HttpRequestMessage(HttpMethod.Get, "/s3/hypha-workspaces/ws-a/y"))
        {
            signed.Headers.TryAddWithoutValidation("Authorization", sigV4);
            using var response = await api.Client.SendAsync(signed, Cancel);
            Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        }

        var seen = fake.Seen.ToArray();
        Assert.Null(seen[0].Header("Authorization"));
        Assert.Equal(sigV4, seen[1].Header("Authorization"));
    }

    [Fact]
    public async Task HopByHopHeadersAreDroppedBothWays()
    {
        var (fake, api) = await StartAsync();
        await using var _ = fake;
        await using var __ = api;
        fake.Respond = async context =>
        {
            context.Response.Headers["X-Hop"] = "upstream-private";
            context.Response.Headers.Connection = "X-Hop";
            context.Response.Headers["Keep-Alive"] = "timeout=5";
            context.Response.Headers["Access-Control-Allow-Origin"] = "*";
            context.Response.Headers.ETag = "\"e1\"";
            context.Response.Headers["x-amz-request-id"] = "req-1";
            context.Response.Headers.LastModified = "Wed, 21 Oct 2026 07:28:00 GMT";
            await context.Response.WriteAsync("body");
        };

        using var request = new HttpRequestMessage(HttpMethod.Get, "/s3/hypha-workspaces/ws-a/x");
        request.Headers.Connection.Add("X-Private");
        request.Headers.TryAddWithoutValidation("X-Private", "client-hop");
        request.Headers.TryAddWithoutValidation("Proxy-Authorization", "Basic abc");
        request.Headers.TryAddWithoutValidation("Origin", "https://app.example.org");
        using var response = await api.Client.SendAsync(request, Cancel);

        var seen = fake.Single();
        Assert.Null(seen.Header("X-Private"));
        Assert.Null(seen.Header("Proxy-Authorization"));
        Assert.False(response.Headers.Contains("X-Hop"));
        Assert.False(response.Headers.Contains("Keep-Alive"));
        Assert.Equal("\"e1\"", response.Headers.ETag?.ToString());
        Assert.Equal("req-1", response.Headers.GetValues("x-amz-request-id").Single());
        Assert.NotNull(response.Content.Headers.LastModified);
        // The API's CORS policy answers (origin echoed), not S3's '*'.
        Assert.Equal("https://app.example.org", response.Headers.GetValues("Access-Control-Allow-Origin").Single());
    }

    [Theory]
    [InlineData(206)]
    [InlineData(304)]
    [InlineData(403)]
    [InlineData(404)]
    [InlineData(416)]
    [InlineData(500)]
    [InlineData(503)]
    public async Task StatusAndBodyOfS3PassThrough(int status)
    {
        var (fake, api) = await StartAsync();
        await using var _ = fake;
        await using var __ = api;
        var body = status == 304 ? "" : $"<Error><Code>S{status}</Code></Error>";
        fake.Respond = async context =>
        {
            context.Response.StatusCode = status;
            if (status == 206)
            {
                context.Response.Headers.ContentRange = "bytes 0-10/100";
            }

            if (body.Length > 0)
            {
                context.Response.ContentType = "application/xml";
                await context.Response.WriteAsync(body);
            }
        };

        using var response = await api.Client.GetAsync("/s3/hypha-workspaces/ws-a/x", Cancel);
        Assert.Equal(status, (int)response.StatusCode);
        Assert.Equal(body, await response.Content.ReadAsStringAsync(Cancel));
        if (status == 206)
        {
            Assert.Equal("bytes 0-10/100", response.Content.Headers.ContentRange?.ToString());
        }
    }

    [Fact]
    public async Task HeadKeepsContentLengthWithoutABody()
    {
        var (fake, api) = await StartAsync();
        await using var _ = fake;
        await using var __ = api;
        fake.Respond = context =>
        {
            context.Response.ContentLength = 12345;
            context.Response.Headers.ETag = "\"h\"";
            return Task.CompletedTask;
        };

        using var request = new HttpRequestMessage(HttpMethod.Head, "/s3/hypha-workspaces/ws-a/x");
        using var response = await api.Client.SendAsync(request, Cancel);
        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        Assert.Equal(12345, response.Content.Headers.ContentLength);
        Assert.Equal("HEAD", fake.Single().Method);
    }

    [Fact]
    public async Task UnknownBucketIs404AndNothingIsForwarded()
    {
        var (fake, api) = await StartAsync();
        await using var _ = fake;
        await using var __ = api;

        using var response = await api.Client.GetAsync("/s3/other-bucket/ws-a/x", Cancel);
        Assert.Equal(HttpStatusCode.NotFound, response.StatusCode);
        Assert.Contains("not served", await ErrorDetail(response), StringComparison.Ordinal);
        Assert.Empty(fake.Seen);
    }

    [Theory]
    [InlineData("/s3/hypha-workspaces/../admin/user?uid=x")]
    [InlineData("/s3/hypha-workspaces/%2e%2e/admin/user")]
    [InlineData("/s3/hypha-workspaces/ws-a/./x")]
    [InlineData("/s3/hypha-workspaces/ws-a/%2E/x")]
    [InlineData("/s3/hypha-workspaces/ws-a/..%5c..%5cadmin")]
    public async Task DotSegmentsCannotLeaveTheBucket(string target)
    {
        var (fake, api) = await StartAsync();
        await using var _ = fake;
        await using var __ = api;

        var (status, _) = await RawHttp.GetAsync(api.BaseAddress, target, new Dictionary<string, string>(), Cancel);
        Assert.True(status is 400 or 404, $"status {status}");
        Assert.Empty(fake.Seen);
    }

    [Fact]
    public async Task S3DownIs502WithJsonDetail()
    {
        using var closed = FreeTcpPort.Refusing();
        var deadEndpoint = closed.Endpoint;
        await using var api = await ProxyApi.StartAsync([new S3Location(deadEndpoint, PublicEndpoint, "us-east-1", Bucket)]);

        using var response = await api.Client.GetAsync("/s3/hypha-workspaces/ws-a/x", Cancel);
        Assert.Equal(HttpStatusCode.BadGateway, response.StatusCode);
        Assert.Equal("application/json; charset=utf-8", response.Content.Headers.ContentType?.ToString());
        Assert.Contains("S3 is unreachable", await ErrorDetail(response), StringComparison.Ordinal);
    }

    [Fact]
    public async Task S3ThatNeverAnswersIs504AfterTheHeaderTimeout()
    {
        var (fake, api) = await StartAsync(headersTimeout: TimeSpan.FromSeconds(1));
        await using var _ = fake;
        await using var __ = api;
        fake.Respond = async context => await Task.Delay(TimeSpan.FromSeconds(10), context.RequestAborted); // an S3 that never answers: what is tested

        var clock = Stopwatch.StartNew();
        using var response = await api.Client.GetAsync("/s3/hypha-workspaces/ws-a/x", Cancel);
        // The 504 itself shows the header timeout fired (the fake would have answered 200 after 10 s); the lower bound
        // that it did not fire early cannot be broken by a slow machine.
        Assert.Equal(HttpStatusCode.GatewayTimeout, response.StatusCode);
        Assert.Contains("did not answer", await ErrorDetail(response), StringComparison.Ordinal);
        Assert.True(clock.Elapsed >= TimeSpan.FromSeconds(0.9), $"504 after {clock.Elapsed}, before the 1 s header timeout");
    }

    [Fact]
    public async Task SlowResponseBodyOutlastsTheHeaderTimeout()
    {
        var (fake, api) = await StartAsync(headersTimeout: TimeSpan.FromSeconds(1));
        await using var _ = fake;
        await using var __ = api;
        var chunk = PatternStream.Bytes(1024);
        fake.Respond = async context =>
        {
            context.Response.ContentLength = chunk.Length * 30L;
            await context.Response.StartAsync(context.RequestAborted);
            for (var i = 0; i < 30; i++)
            {
                await context.Response.Body.WriteAsync(chunk, context.RequestAborted);
                await context.Response.Body.FlushAsync(context.RequestAborted);
                await Task.Delay(100, context.RequestAborted); // ~3 s in all: a slow body is what is tested
            }
        };

        var clock = Stopwatch.StartNew();
        var bytes = await api.Client.GetByteArrayAsync("/s3/hypha-workspaces/ws-a/slow", Cancel);
        Assert.True(clock.Elapsed > TimeSpan.FromSeconds(2.5), $"took {clock.Elapsed}");
        Assert.Equal(chunk.Length * 30, bytes.Length);
        Assert.Equal(Enumerable.Repeat(chunk, 30).SelectMany(c => c), bytes);
    }

    [Fact]
    public async Task S3ThatStallsMidBodyIsCutAfterTheIdleTimeout()
    {
        var (fake, api) = await StartAsync(headersTimeout: TimeSpan.FromSeconds(1));
        await using var _ = fake;
        await using var __ = api;
        var chunk = PatternStream.Bytes(1024);
        fake.Respond = async context =>
        {
            context.Response.ContentLength = chunk.Length * 2L;
            await context.Response.Body.WriteAsync(chunk, context.RequestAborted);
            await context.Response.Body.FlushAsync(context.RequestAborted);
            await Task.Delay(Timeout.Infinite, context.RequestAborted); // the second half never comes
        };

        // Without an idle bound the proxy would hold this connection (and the client) for ever.
        var clock = Stopwatch.StartNew();
        using var wait = CancellationTokenSource.CreateLinkedTokenSource(Cancel);
        wait.CancelAfter(TimeSpan.FromSeconds(20));
        var failure = await Record.ExceptionAsync(() => api.Client.GetByteArrayAsync("/s3/hypha-workspaces/ws-a/stalled", wait.Token));
        Assert.False(wait.IsCancellationRequested, $"the body was not cut within 20 s ({failure?.GetType().Name})");
        Assert.IsAssignableFrom<HttpRequestException>(failure);
        Assert.True(clock.Elapsed >= TimeSpan.FromSeconds(0.9), $"cut after {clock.Elapsed}, before the 1 s idle timeout");
    }

    [Fact]
    public async Task SlowUploadOutlastsTheHeaderTimeout()
    {
        var (fake, api) = await StartAsync(headersTimeout: TimeSpan.FromSeconds(1));
        await using var _ = fake;
        await using var __ = api;

        using var content = new SlowContent(chunks: 25, chunkSize: 4096, delay: TimeSpan.FromMilliseconds(100));
        using var response = await api.Client.PutAsync("/s3/hypha-workspaces/ws-a/slow-upload", content, Cancel);
        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        var seen = fake.Single();
        Assert.Equal(25 * 4096, seen.BodyLength);
        Assert.Equal((25 * 4096).ToString(System.Globalization.CultureInfo.InvariantCulture), seen.Header("Content-Length"));
    }

    [Fact]
    public async Task BodyWithoutContentLengthIs411()
    {
        var (fake, api) = await StartAsync();
        await using var _ = fake;
        await using var __ = api;

        using var content = new StreamContent(new MemoryStream(Encoding.UTF8.GetBytes("chunked body")));
        using var request = new HttpRequestMessage(HttpMethod.Put, "/s3/hypha-workspaces/ws-a/x") { Content = content };
        request.Headers.TransferEncodingChunked = true;
        using var response = await api.Client.SendAsync(request, Cancel);
        Assert.Equal(HttpStatusCode.LengthRequired, response.StatusCode);
        Assert.Empty(fake.Seen);
    }

    [Fact]
    public async Task ProxyDoesNotCompressAndDoesNotDecompress()
    {
        var (fake, api) = await StartAsync();
        await using var _ = fake;
        await using var __ = api;
        var text = string.Concat(Enumerable.Repeat("highly compressible text ", 4000));
        fake.Respond = context => context.Response.WriteAsync(text);

        using (var request = new HttpRequestMessage(HttpMethod.Get, "/s3/hypha-workspaces/ws-a/plain.txt"))
        {
            request.Headers.AcceptEncoding.ParseAdd("gzip, br");
            using var response = await api.Client.SendAsync(request, Cancel);
            Assert.Empty(response.Content.Headers.ContentEncoding);
            Assert.Equal(text, await response.Content.ReadAsStringAsync(Cancel));
            Assert.Equal("gzip, br", fake.Single().Header("Accept-Encoding"));
        }

        // An object S3 stores gzip-encoded comes back exactly as stored, header included.
        var gzipped = Gzip(text);
        fake.Respond = async context =>
        {
            context.Response.Headers.ContentEncoding = "gzip";
            context.Response.ContentLength = gzipped.Length;
            await context.Response.Body.WriteAsync(gzipped);
        };
        using var encoded = await api.Client.GetAsync("/s3/hypha-workspaces/ws-a/text.gz", Cancel);
        Assert.Equal("gzip", encoded.Content.Headers.ContentEncoding.Single());
        Assert.Equal(gzipped, await encoded.Content.ReadAsByteArrayAsync(Cancel));
    }

    [Fact]
    public async Task CorsPreflightForRangeIsAnswered()
    {
        var (fake, api) = await StartAsync();
        await using var _ = fake;
        await using var __ = api;

        using var request = new HttpRequestMessage(HttpMethod.Options, "/s3/hypha-workspaces/ws-a/video.mp4");
        request.Headers.TryAddWithoutValidation("Origin", "https://app.example.org");
        request.Headers.TryAddWithoutValidation("Access-Control-Request-Method", "GET");
        request.Headers.TryAddWithoutValidation("Access-Control-Request-Headers", "range");
        using var response = await api.Client.SendAsync(request, Cancel);

        Assert.Equal(HttpStatusCode.NoContent, response.StatusCode);
        Assert.Equal("https://app.example.org", response.Headers.GetValues("Access-Control-Allow-Origin").Single());
        Assert.Contains("range", response.Headers.GetValues("Access-Control-Allow-Headers").Single(), StringComparison.OrdinalIgnoreCase);
        Assert.Empty(fake.Seen);
    }

    [Fact]
    public async Task DisabledProxyMountsNothing()
    {
        var (fake, api) = await StartAsync(enabled: false);
        await using var _ = fake;
        await using var __ = api;

        using var response = await api.Client.GetAsync("/s3/hypha-workspaces/ws-a/x", Cancel);
        Assert.Equal(HttpStatusCode.NotFound, response.StatusCode);
        Assert.Empty(fake.Seen);
        const string url = "http://s3.public.test:9000/hypha-workspaces/ws-a/x?X-Amz-Signature=1";
        Assert.Equal(url, api.Rewriter.Rewrite(Core.Workspaces.WorkspaceId.Parse("ws-a"), url));
    }

    [Fact]
    public async Task BytesStreamedAreCounted()
    {
        var (fake, api) = await StartAsync();
        await using var _ = fake;
        await using var __ = api;

        using var put = await api.Client.PutAsync("/s3/hypha-workspaces/ws-a/x", new ByteArrayContent(new byte[1000]), Cancel);
        using var get = await api.Client.GetAsync("/s3/hypha-workspaces/ws-a/x", Cancel);
        await get.Content.ReadAsByteArrayAsync(Cancel);
        var metrics = await api.Client.GetStringAsync("/metrics", Cancel);
        Assert.Contains("workspace_storage_api_streamed_bytes_total{direction=\"upload\"} 1000", metrics, StringComparison.Ordinal);
        Assert.Contains("workspace_storage_api_streamed_bytes_total{direction=\"download\"} ", metrics, StringComparison.Ordinal);
    }

    [Fact]
    public async Task BucketsComeFromTheStorageBackendsConfiguration()
    {
        await using var fake = await FakeS3.StartAsync();
        await using var api = await TestApi.StartAsync(settings: new Dictionary<string, string?>
        {
            ["Api:S3Proxy:Enabled"] = "true",
            ["Storage:Backends:main:Endpoint"] = fake.Endpoint.ToString(),
            ["Storage:Backends:main:PublicEndpoint"] = "https://s3.example.org",
            ["Storage:Backends:main:Bucket"] = "configured-bucket",
        });

        using var served = await api.Client.GetAsync("/s3/configured-bucket/ws-a/x?X-Amz-Signature=1", Cancel);
        Assert.Equal(HttpStatusCode.OK, served.StatusCode);
        Assert.Equal("s3.example.org", fake.Single().Header("Host"));
        using var other = await api.Client.GetAsync("/s3/hypha-workspaces/ws-a/x", Cancel);
        Assert.Equal(HttpStatusCode.NotFound, other.StatusCode);

        var rewriter = api.App.Services.GetRequiredService<Presigning.IPresignedUrlRewriter>();
        Assert.Equal("http://127.0.0.1:8080/s3/configured-bucket/ws-a/x?X-Amz-Signature=1",
            rewriter.Rewrite(Core.Workspaces.WorkspaceId.Parse("ws-a"), "https://s3.example.org/configured-bucket/ws-a/x?X-Amz-Signature=1"));
    }

    private static async Task<string> ErrorDetail(HttpResponseMessage response)
    {
        using var json = JsonDocument.Parse(await response.Content.ReadAsStringAsync(Cancel));
        Assert.False(json.RootElement.GetProperty("success").GetBoolean());
        return json.RootElement.GetProperty("detail").GetString()!;
    }

    private static byte[] Gzip(string text)
    {
        using var buffer = new MemoryStream();
        using (var gzip = new GZipStream(buffer, CompressionLevel.Fastest))
        {
            gzip.Write(Encoding.UTF8.GetBytes(text));
        }

        return buffer.ToArray();
    }

    /// <summary>A body with a known length that arrives slowly.</summary>
    private sealed class SlowContent(int chunks, int chunkSize, TimeSpan delay) : HttpContent
    {
        protected override async Task SerializeToStreamAsync(Stream stream, TransportContext? context)
        {
            var chunk = PatternStream.Bytes(chunkSize);
            for (var i = 0; i < chunks; i++)
            {
                await stream.WriteAsync(chunk);
                await stream.FlushAsync();
                await Task.Delay(delay); // a body that arrives slowly: what is tested
            }
        }

        protected override bool TryComputeLength(out long length)
        {
            length = (long)chunks * chunkSize;
            return true;
        }
    }
}
