using System.Net;
using System.Net.Http.Headers;
using System.Text;
using WorkspaceStorage.Storage.S3;

namespace WorkspaceStorage.Api.Tests.Proxy;

/// <summary>The proxy in front of a real Ceph RGW: Hypha's checklist, signatures that must fail, awkward keys.</summary>
public sealed class S3ProxyRgwTests
{
    private static CancellationToken Cancel => TestContext.Current.CancellationToken;

    [Fact]
    public async Task PresignedPutThenGetThroughProxyReturnsIdenticalBytes()
    {
        await using var rgw = await RgwProxyContext.CreateAsync();
        var key = "ws-a/checklist.bin";
        var data = PatternStream.Bytes(300_000);

        using var put = await rgw.SendAsync(HttpMethod.Put, rgw.Proxied(HttpMethod.Put, key), new ByteArrayContent(data));
        Assert.Equal(HttpStatusCode.OK, put.StatusCode);
        Assert.NotNull(put.Headers.ETag);

        using var get = await rgw.SendAsync(HttpMethod.Get, rgw.Proxied(HttpMethod.Get, key));
        Assert.Equal(HttpStatusCode.OK, get.StatusCode);
        Assert.Equal(data, await get.Content.ReadAsByteArrayAsync(Cancel));
        Assert.Equal(data.Length, get.Content.Headers.ContentLength);
        Assert.Equal(put.Headers.ETag, get.Headers.ETag);
        Assert.Empty(get.Content.Headers.ContentEncoding);

        // and S3 itself holds exactly those bytes
        await using var direct = await rgw.Admin.GetAsync(key, cancellationToken: Cancel);
        using var copy = new MemoryStream();
        await direct.Body!.CopyToAsync(copy, Cancel);
        Assert.Equal(data, copy.ToArray());
    }

    [Fact]
    public async Task RangeWithOriginIs206ElevenBytesAndEchoesTheOrigin()
    {
        await using var rgw = await RgwProxyContext.CreateAsync();
        var data = PatternStream.Bytes(5000);
        using var _ = await rgw.SendAsync(HttpMethod.Put, rgw.Proxied(HttpMethod.Put, "ws-a/video.mp4"), new ByteArrayContent(data));

        using var get = await rgw.SendAsync(HttpMethod.Get, rgw.Proxied(HttpMethod.Get, "ws-a/video.mp4"), edit: r =>
        {
            r.Headers.Range = new RangeHeaderValue(0, 10);
            r.Headers.TryAddWithoutValidation("Origin", "https://app.example.org");
        });

        Assert.Equal(HttpStatusCode.PartialContent, get.StatusCode);
        var bytes = await get.Content.ReadAsByteArrayAsync(Cancel);
        Assert.Equal(data[..11], bytes);
        Assert.Equal(11, get.Content.Headers.ContentLength);
        Assert.Equal("bytes 0-10/5000", get.Content.Headers.ContentRange?.ToString());
        Assert.Equal("https://app.example.org", get.Headers.GetValues("Access-Control-Allow-Origin").Single());
        Assert.Contains("Content-Range", get.Headers.GetValues("Access-Control-Expose-Headers").Single(), StringComparison.Ordinal);
        Assert.Contains("bytes", get.Headers.AcceptRanges);
    }

    [Fact]
    public async Task ResponsesAreNotGzippedWhenTheClientDidNotAsk()
    {
        await using var rgw = await RgwProxyContext.CreateAsync();
        var text = Encoding.UTF8.GetBytes(string.Concat(Enumerable.Repeat("{\"compressible\": true}\n", 5000)));
        using var _ = await rgw.SendAsync(HttpMethod.Put, rgw.Proxied(HttpMethod.Put, "ws-a/data.json"), new ByteArrayContent(text)
        {
            Headers = { ContentType = new MediaTypeHeaderValue("application/json") },
        });

        foreach (var acceptEncoding in new[] { null, "gzip, deflate, br" })
        {
            using var get = await rgw.SendAsync(HttpMethod.Get, rgw.Proxied(HttpMethod.Get, "ws-a/data.json"), edit: r =>
            {
                if (acceptEncoding is not null)
                {
                    r.Headers.TryAddWithoutValidation("Accept-Encoding", acceptEncoding);
                }
            });
            Assert.Equal(HttpStatusCode.OK, get.StatusCode);
            Assert.Empty(get.Content.Headers.ContentEncoding);
            Assert.Equal("application/json", get.Content.Headers.ContentType?.MediaType);
            Assert.Equal(text, await get.Content.ReadAsByteArrayAsync(Cancel));
        }
    }

    [Fact]
    public async Task HostRewritingIsWhatMakesTheSignatureHold()
    {
        await using var rgw = await RgwProxyContext.CreateAsync();
        using var _ = await rgw.SendAsync(HttpMethod.Put, rgw.Proxied(HttpMethod.Put, "ws-a/host.txt"), new StringContent("host"));

        // The same presigned query sent straight to the internal endpoint (Host 127.0.0.1:PORT) fails: RGW checks
        // the signature against the Host it receives, and the URL was signed for localhost:PORT.
        var presigned = rgw.Admin.Presign(HttpMethod.Get, "ws-a/host.txt", TimeSpan.FromMinutes(5));
        var internalUrl = rgw.Location.Endpoint.GetLeftPart(UriPartial.Authority) + presigned[presigned.IndexOf('/', "http://".Length)..];
        using var plain = new HttpClient(new SocketsHttpHandler { UseProxy = false });
        using var direct = await plain.GetAsync(ProxyApi.Exact(internalUrl), Cancel);
        Assert.Equal(HttpStatusCode.Forbidden, direct.StatusCode);

        using var proxied = await rgw.SendAsync(HttpMethod.Get, rgw.Api.Proxied(presigned));
        Assert.Equal(HttpStatusCode.OK, proxied.StatusCode);
        Assert.Equal("host", await proxied.Content.ReadAsStringAsync(Cancel));
    }

    [Fact]
    public async Task RequestsWithoutAValidSignatureGetS3s403AndNothingChanges()
    {
        await using var rgw = await RgwProxyContext.CreateAsync();
        using var seed = await rgw.SendAsync(HttpMethod.Put, rgw.Proxied(HttpMethod.Put, "ws-a/secret.txt"), new StringContent("original"));
        Assert.Equal(HttpStatusCode.OK, seed.StatusCode);
        var getUrl = rgw.Proxied(HttpMethod.Get, "ws-a/secret.txt");
        var putUrl = rgw.Proxied(HttpMethod.Put, "ws-a/secret.txt");
        var proxyPath = getUrl[..getUrl.IndexOf('?', StringComparison.Ordinal)];

        // no signature at all
        using (var unsigned = await rgw.SendAsync(HttpMethod.Get, proxyPath))
        {
            Assert.Equal(HttpStatusCode.Forbidden, unsigned.StatusCode);
            var denial = await unsigned.Content.ReadAsStringAsync(Cancel);
            Assert.True(denial.Contains("AccessDenied", StringComparison.Ordinal), denial);
        }

        using (var unsignedPut = await rgw.SendAsync(HttpMethod.Put, proxyPath, new StringContent("overwritten")))
        {
            Assert.Equal(HttpStatusCode.Forbidden, unsignedPut.StatusCode);
        }

        // tampered signature (last hex digit changed)
        var tampered = getUrl[..^1] + (getUrl[^1] == '0' ? '1' : '0');
        using (var bad = await rgw.SendAsync(HttpMethod.Get, tampered))
        {
            Assert.Equal(HttpStatusCode.Forbidden, bad.StatusCode);
            // RGW's error document comes back as S3 wrote it (RGW answers a bad presigned signature with SignatureDoesNotMatch or AccessDenied).
            var error = await bad.Content.ReadAsStringAsync(Cancel);
            Assert.True(error.Contains("<Code>SignatureDoesNotMatch</Code>", StringComparison.Ordinal) || error.Contains("<Code>AccessDenied</Code>", StringComparison.Ordinal), error);
            Assert.Equal("application/xml", bad.Content.Headers.ContentType?.MediaType);
        }

        // a valid URL whose path was edited to another key
        var otherKey = putUrl.Replace("/ws-a/secret.txt?", "/ws-b/planted.txt?", StringComparison.Ordinal);
        Assert.NotEqual(putUrl, otherKey);
        using (var moved = await rgw.SendAsync(HttpMethod.Put, otherKey, new StringContent("planted")))
        {
            Assert.Equal(HttpStatusCode.Forbidden, moved.StatusCode);
        }

        // the PUT URL does not serve as a GET URL
        var putAsGet = await rgw.SendAsync(HttpMethod.Get, putUrl);
        Assert.Equal(HttpStatusCode.Forbidden, putAsGet.StatusCode);
        putAsGet.Dispose();

        // a bearer token for Hypha does not turn into access
        using (var bearer = await rgw.SendAsync(HttpMethod.Get, proxyPath, edit: r => r.Headers.Authorization = new AuthenticationHeaderValue("Bearer", "x.y.z")))
        {
            Assert.Equal(HttpStatusCode.Forbidden, bearer.StatusCode);
        }

        Assert.Null(await rgw.Admin.HeadAsync("ws-b/planted.txt", Cancel));
        using var check = await rgw.SendAsync(HttpMethod.Get, getUrl);
        Assert.Equal("original", await check.Content.ReadAsStringAsync(Cancel));
    }

    [Fact]
    public async Task ExpiredUrlIs403()
    {
        await using var rgw = await RgwProxyContext.CreateAsync();
        using var _ = await rgw.SendAsync(HttpMethod.Put, rgw.Proxied(HttpMethod.Put, "ws-a/e.txt"), new StringContent("e"));
        var url = rgw.Proxied(HttpMethod.Get, "ws-a/e.txt", TimeSpan.FromSeconds(1));
        await Task.Delay(TimeSpan.FromSeconds(2.2), Cancel); // the URL's 1 s expiry passing: what is tested
        using var get = await rgw.SendAsync(HttpMethod.Get, url);
        Assert.Equal(HttpStatusCode.Forbidden, get.StatusCode);
    }

    [Theory]
    [InlineData("ws-a/with space.txt")]
    [InlineData("ws-a/ünïcødé/日本語 ファイル.bin")]
    [InlineData("ws-user-github|12345/pipe.txt")]
    [InlineData("ws-a/a+b+c.txt")]
    [InlineData("ws-a/literal%2Fslash%20and%25percent.txt")]
    [InlineData("ws-a/sub dir/~tilde/(paren)/'quote'/x=1&y=2;z.txt")]
    public async Task AwkwardKeysSurviveTheRoundTrip(string key)
    {
        await using var rgw = await RgwProxyContext.CreateAsync();
        var body = Encoding.UTF8.GetBytes("content of " + key);

        using var put = await rgw.SendAsync(HttpMethod.Put, rgw.Proxied(HttpMethod.Put, key), new ByteArrayContent(body));
        Assert.Equal(HttpStatusCode.OK, put.StatusCode);
        using var get = await rgw.SendAsync(HttpMethod.Get, rgw.Proxied(HttpMethod.Get, key));
        Assert.Equal(HttpStatusCode.OK, get.StatusCode);
        Assert.Equal(body, await get.Content.ReadAsByteArrayAsync(Cancel));

        // stored under exactly that key, not a decoded or re-encoded variant
        var page = await rgw.Admin.ListAsync("", cancellationToken: Cancel);
        Assert.Equal([key], page.Objects.Select(o => o.Key));
    }

    [Fact]
    public async Task HeadConditionalRangeAndDeleteKeepS3sStatuses()
    {
        await using var rgw = await RgwProxyContext.CreateAsync();
        var data = PatternStream.Bytes(1000);
        using var put = await rgw.SendAsync(HttpMethod.Put, rgw.Proxied(HttpMethod.Put, "ws-a/s.bin"), new ByteArrayContent(data));
        var etag = put.Headers.ETag!;

        using (var head = await rgw.SendAsync(HttpMethod.Head, rgw.Api.Proxied(rgw.Admin.Presign(HttpMethod.Head, "ws-a/s.bin", TimeSpan.FromMinutes(5)))))
        {
            Assert.Equal(HttpStatusCode.OK, head.StatusCode);
            Assert.Equal(1000, head.Content.Headers.ContentLength);
            Assert.Equal(etag, head.Headers.ETag);
            Assert.NotNull(head.Content.Headers.LastModified);
        }

        using (var notModified = await rgw.SendAsync(HttpMethod.Get, rgw.Proxied(HttpMethod.Get, "ws-a/s.bin"), edit: r => r.Headers.IfNoneMatch.Add(etag)))
        {
            Assert.Equal(HttpStatusCode.NotModified, notModified.StatusCode);
            Assert.Empty(await notModified.Content.ReadAsByteArrayAsync(Cancel));
        }

        using (var unsatisfiable = await rgw.SendAsync(HttpMethod.Get, rgw.Proxied(HttpMethod.Get, "ws-a/s.bin"), edit: r => r.Headers.Range = new RangeHeaderValue(5000, 6000)))
        {
            Assert.Equal(HttpStatusCode.RequestedRangeNotSatisfiable, unsatisfiable.StatusCode);
        }

        using (var tail = await rgw.SendAsync(HttpMethod.Get, rgw.Proxied(HttpMethod.Get, "ws-a/s.bin"), edit: r => r.Headers.Range = new RangeHeaderValue(null, 24)))
        {
            Assert.Equal(HttpStatusCode.PartialContent, tail.StatusCode);
            Assert.Equal(data[^24..], await tail.Content.ReadAsByteArrayAsync(Cancel));
        }

        using (var delete = await rgw.SendAsync(HttpMethod.Delete, rgw.Proxied(HttpMethod.Delete, "ws-a/s.bin")))
        {
            Assert.Equal(HttpStatusCode.NoContent, delete.StatusCode);
        }

        using var gone = await rgw.SendAsync(HttpMethod.Get, rgw.Proxied(HttpMethod.Get, "ws-a/s.bin"));
        Assert.Equal(HttpStatusCode.NotFound, gone.StatusCode);
        Assert.Contains("NoSuchKey", await gone.Content.ReadAsStringAsync(Cancel), StringComparison.Ordinal);
    }

    [Fact]
    public async Task StoredContentEncodingComesBackUntouched()
    {
        await using var rgw = await RgwProxyContext.CreateAsync();
        using var buffer = new MemoryStream();
        await using (var gzip = new System.IO.Compression.GZipStream(buffer, System.IO.Compression.CompressionLevel.Fastest, leaveOpen: true))
        {
            await gzip.WriteAsync(Encoding.UTF8.GetBytes(string.Concat(Enumerable.Repeat("gz ", 10_000))), Cancel);
        }

        var gzipped = buffer.ToArray();
        var content = new ByteArrayContent(gzipped);
        content.Headers.ContentEncoding.Add("gzip");
        content.Headers.ContentType = new MediaTypeHeaderValue("text/plain");
        using var put = await rgw.SendAsync(HttpMethod.Put, rgw.Proxied(HttpMethod.Put, "ws-a/t.txt.gz"), content);
        Assert.Equal(HttpStatusCode.OK, put.StatusCode);

        using var get = await rgw.SendAsync(HttpMethod.Get, rgw.Proxied(HttpMethod.Get, "ws-a/t.txt.gz"));
        Assert.Equal("gzip", Assert.Single(get.Content.Headers.ContentEncoding));
        Assert.Equal(gzipped.Length, get.Content.Headers.ContentLength);
        Assert.Equal(gzipped, await get.Content.ReadAsByteArrayAsync(Cancel));
    }

    [Fact]
    public async Task MultipartPartUrlsWorkThroughTheProxy()
    {
        await using var rgw = await RgwProxyContext.CreateAsync();
        const string key = "ws-a/multi part.bin";
        var uploadId = await rgw.Admin.CreateMultipartUploadAsync(key, cancellationToken: Cancel);
        var part1 = PatternStream.Bytes(5 * 1024 * 1024, seed: 1);
        var part2 = PatternStream.Bytes(1234, seed: 2);
        var etags = new List<S3CompletedPart>();
        foreach (var (number, bytes) in new[] { (1, part1), (2, part2) })
        {
            var url = rgw.Api.Proxied(rgw.Admin.PresignUploadPart(key, uploadId, number, TimeSpan.FromMinutes(5)));
            using var put = await rgw.SendAsync(HttpMethod.Put, url, new ByteArrayContent(bytes));
            Assert.Equal(HttpStatusCode.OK, put.StatusCode);
            etags.Add(new S3CompletedPart(number, put.Headers.ETag!.ToString()));
        }

        await rgw.Admin.CompleteMultipartUploadAsync(key, uploadId, etags, Cancel);
        using var get = await rgw.SendAsync(HttpMethod.Get, rgw.Proxied(HttpMethod.Get, key));
        var expected = part1.Concat(part2).ToArray();
        Assert.Equal(expected, await get.Content.ReadAsByteArrayAsync(Cancel));
    }
}
