using System.Net;
using System.Text;
using WorkspaceStorage.Core.Signing;
using WorkspaceStorage.Storage.Backends;
using WorkspaceStorage.Storage.Http;
using WorkspaceStorage.Storage.S3;

namespace WorkspaceStorage.Storage.Tests.S3;

/// <summary>What goes on the wire and how answers map to results, with a scripted handler (timing and shapes RGW cannot be made to show).</summary>
public sealed class S3ObjectClientWireTests
{
    private static readonly S3Location Location = new(new Uri("http://s3.internal:7480"), new Uri("https://s3.example.org"), "us-east-1", "bucket");
    private static readonly AwsCredentials Key = new("AKID", "secret-value-that-must-not-leak");

    [Fact]
    public async Task Put_declares_content_length_signs_unsigned_payload_and_never_chunks()
    {
        HttpRequestMessage? seen = null;
        long? bodyLength = null;
        var handler = new ScriptedHandler(async (request, ct) =>
        {
            seen = request;
            bodyLength = (await request.Content!.ReadAsByteArrayAsync(ct)).Length;
            var response = new HttpResponseMessage(HttpStatusCode.OK);
            response.Headers.TryAddWithoutValidation("ETag", "\"abc\"");
            return response;
        });
        using var factory = new S3ClientFactory(handler: handler);

        var etag = await factory.Create(Location, Key).PutAsync("ws-a/my file.txt", new MemoryStream(new byte[1000]), 1000, "text/plain",
            TestContext.Current.CancellationToken);

        Assert.Equal("\"abc\"", etag);
        Assert.Equal("http://s3.internal:7480/bucket/ws-a/my%20file.txt", seen!.RequestUri!.OriginalString);
        Assert.Equal(1000, seen.Content!.Headers.ContentLength);
        Assert.NotEqual(true, seen.Headers.TransferEncodingChunked);
        Assert.Equal(SigV4Signer.UnsignedPayload, seen.Headers.GetValues("x-amz-content-sha256").Single());
        Assert.Contains("content-type", string.Join(",", seen.Headers.GetValues("Authorization")), StringComparison.Ordinal);
        Assert.Equal(1000, bodyLength);
    }

    [Fact]
    public async Task A_body_shorter_than_its_declared_length_is_a_validation_error()
    {
        var handler = new ScriptedHandler(async (request, ct) =>
        {
            await request.Content!.CopyToAsync(Stream.Null, ct);
            return new HttpResponseMessage(HttpStatusCode.OK);
        });
        using var factory = new S3ClientFactory(handler: handler);

        var ex = await Assert.ThrowsAsync<BackendValidationException>(() => factory.Create(Location, Key)
            .PutAsync("ws-a/x", new NonSeekableStream(new byte[10]), 20, null, TestContext.Current.CancellationToken));

        Assert.Equal("contentLength", ex.Field);
    }

    [Fact]
    public async Task Headers_that_never_come_time_out_and_are_retried_for_gets()
    {
        var calls = 0;
        var handler = new ScriptedHandler(async (_, ct) =>
        {
            Interlocked.Increment(ref calls);
            await Task.Delay(Timeout.Infinite, ct); // headers that never come: what is tested
            return new HttpResponseMessage(HttpStatusCode.OK);
        });
        var options = new S3ClientOptions
        {
            ResponseHeadersTimeout = TimeSpan.FromMilliseconds(200),
            Retry = new RetryOptions { MaxAttempts = 2, BaseDelay = TimeSpan.FromMilliseconds(10) },
        };
        using var factory = new S3ClientFactory(options, handler: handler);

        var ex = await Assert.ThrowsAsync<BackendUnavailableException>(() =>
            factory.Create(Location, Key).GetAsync("ws-a/x", null, TestContext.Current.CancellationToken));

        Assert.True(ex.IsTransient);
        Assert.Equal(2, calls);
    }

    [Fact]
    public async Task A_busy_server_is_retried_and_a_consumed_upload_is_not()
    {
        var calls = 0;
        var handler = new ScriptedHandler(async (request, ct) =>
        {
            if (request.Content is not null)
            {
                await request.Content.CopyToAsync(Stream.Null, ct);
            }

            return Interlocked.Increment(ref calls) == 1
                ? Xml(HttpStatusCode.ServiceUnavailable, "<Error><Code>SlowDown</Code></Error>")
                : new HttpResponseMessage(HttpStatusCode.OK) { Content = new ByteArrayContent([7]) };
        });
        var options = new S3ClientOptions { Retry = new RetryOptions { BaseDelay = TimeSpan.FromMilliseconds(5) } };
        using var factory = new S3ClientFactory(options, handler: handler);
        var client = factory.Create(Location, Key);

        await using (var get = await client.GetAsync("ws-a/x", null, TestContext.Current.CancellationToken))
        {
            Assert.Equal(S3GetStatus.Ok, get.Status);
        }

        Assert.Equal(2, calls);
        calls = 0;
        var ex = await Assert.ThrowsAsync<BackendUnavailableException>(() =>
            client.PutAsync("ws-a/x", new NonSeekableStream([1, 2]), 2, null, TestContext.Current.CancellationToken));
        Assert.Equal("SlowDown", ex.ErrorCode);
        Assert.Equal(1, calls); // the stream is spent: sending it again would upload nothing
    }

    [Fact]
    public async Task A_slow_body_after_fast_headers_is_not_cut_by_the_header_timeout()
    {
        var handler = new ScriptedHandler((_, _) => Task.FromResult(new HttpResponseMessage(HttpStatusCode.OK)
        {
            Content = new StreamContent(new SlowStream(chunks: 5, delay: TimeSpan.FromMilliseconds(150))),
        }));
        using var factory = new S3ClientFactory(new S3ClientOptions { ResponseHeadersTimeout = TimeSpan.FromMilliseconds(200) }, handler: handler);

        await using var result = await factory.Create(Location, Key).GetAsync("ws-a/x", null, TestContext.Current.CancellationToken);
        var copy = new MemoryStream();
        await result.Body.CopyToAsync(copy, TestContext.Current.CancellationToken);

        Assert.Equal(5, copy.Length); // 750 ms of body, well past the 200 ms header timeout
    }

    [Fact]
    public async Task Refusals_carry_the_s3_code_and_never_the_secret()
    {
        var handler = new ScriptedHandler((_, _) => Task.FromResult(Xml(HttpStatusCode.Forbidden,
            "<Error><Code>AccessDenied</Code><Message>denied</Message></Error>")));
        using var factory = new S3ClientFactory(handler: handler);

        var ex = await Assert.ThrowsAsync<S3RequestException>(() =>
            factory.Create(Location, Key).GetAsync("ws-b/x", null, TestContext.Current.CancellationToken));

        Assert.Equal("AccessDenied", ex.ErrorCode);
        Assert.Equal(403, ex.StatusCode);
        Assert.DoesNotContain(Key.SecretAccessKey, ex.ToString(), StringComparison.Ordinal);
    }

    [Fact]
    public async Task Refused_credentials_become_an_authentication_error()
    {
        var handler = new ScriptedHandler((_, _) => Task.FromResult(Xml(HttpStatusCode.Forbidden,
            "<Error><Code>SignatureDoesNotMatch</Code></Error>")));
        using var factory = new S3ClientFactory(handler: handler);

        var ex = await Assert.ThrowsAsync<BackendAuthenticationException>(() =>
            factory.Create(Location, Key).PutAsync("ws-a/x", new MemoryStream([1]), 1, null, TestContext.Current.CancellationToken));

        Assert.Equal("SignatureDoesNotMatch", ex.ErrorCode);
        Assert.DoesNotContain(Key.SecretAccessKey, ex.ToString(), StringComparison.Ordinal);
    }

    [Fact]
    public async Task Multi_delete_sends_content_md5_and_counts_per_key_errors()
    {
        var md5s = new List<string>();
        var handler = new ScriptedHandler((request, _) =>
        {
            md5s.Add(Convert.ToBase64String(request.Content!.Headers.ContentMD5!));
            Assert.Contains("content-md5", string.Join(",", request.Headers.GetValues("Authorization")), StringComparison.Ordinal);
            return Task.FromResult(Xml(HttpStatusCode.OK,
                "<DeleteResult><Error><Key>k1</Key><Code>AccessDenied</Code><Message>no</Message></Error></DeleteResult>"));
        });
        using var factory = new S3ClientFactory(handler: handler);

        var result = await factory.Create(Location, Key).DeleteManyAsync(["k1", "k2", "k3"], batchSize: 2, TestContext.Current.CancellationToken);

        Assert.Equal(2, md5s.Count);
        Assert.Equal(1, result.Deleted); // 2 + 1 sent, one error reported per batch
        Assert.Equal(["k1", "k1"], result.Errors.Select(e => e.Key));
    }

    [Fact]
    public async Task Complete_multipart_that_fails_inside_a_200_throws()
    {
        var handler = new ScriptedHandler((_, _) => Task.FromResult(Xml(HttpStatusCode.OK,
            "<Error><Code>InternalError</Code><Message>try again</Message></Error>")));
        using var factory = new S3ClientFactory(handler: handler);

        var ex = await Assert.ThrowsAnyAsync<StorageBackendException>(() => factory.Create(Location, Key)
            .CompleteMultipartUploadAsync("ws-a/x", "u1", [new S3CompletedPart(1, "e")], TestContext.Current.CancellationToken));

        Assert.Equal("InternalError", ex.ErrorCode);
    }

    [Fact]
    public void The_default_handler_ignores_environment_proxies_and_never_decompresses()
    {
        using var handler = S3ClientFactory.CreateHandler(new S3ClientOptions());

        Assert.False(handler.UseProxy);
        Assert.Equal(DecompressionMethods.None, handler.AutomaticDecompression);
    }

    private static HttpResponseMessage Xml(HttpStatusCode status, string body) =>
        new(status) { Content = new StringContent(body, Encoding.UTF8, "application/xml") };

    private sealed class ScriptedHandler(Func<HttpRequestMessage, CancellationToken, Task<HttpResponseMessage>> answer) : HttpMessageHandler
    {
        protected override Task<HttpResponseMessage> SendAsync(HttpRequestMessage request, CancellationToken cancellationToken) =>
            answer(request, cancellationToken);
    }

    private sealed class NonSeekableStream(byte[] data) : MemoryStream(data)
    {
        public override bool CanSeek => false;
    }

    private sealed class SlowStream(int chunks, TimeSpan delay) : Stream
    {
        private int left = chunks;

        public override bool CanRead => true;

        public override bool CanSeek => false;

        public override bool CanWrite => false;

        public override long Length => throw new NotSupportedException();

        public override long Position { get => throw new NotSupportedException(); set => throw new NotSupportedException(); }

        public override async ValueTask<int> ReadAsync(Memory<byte> buffer, CancellationToken cancellationToken = default)
        {
            if (left == 0)
            {
                return 0;
            }

            await Task.Delay(delay, cancellationToken); // a body that trickles: what is tested
            left--;
            buffer.Span[0] = 1;
            return 1;
        }

        public override int Read(byte[] buffer, int offset, int count) => ReadAsync(buffer.AsMemory(offset, count)).AsTask().GetAwaiter().GetResult();

        public override void Flush()
        {
        }

        public override long Seek(long offset, SeekOrigin origin) => throw new NotSupportedException();

        public override void SetLength(long value) => throw new NotSupportedException();

        public override void Write(byte[] buffer, int offset, int count) => throw new NotSupportedException();
    }
}
