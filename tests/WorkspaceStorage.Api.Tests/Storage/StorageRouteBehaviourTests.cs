using System.Net;
using System.Net.Http.Json;
using System.Text.Json;
using Microsoft.Extensions.DependencyInjection;
using WorkspaceStorage.Core.Workspaces;
using WorkspaceStorage.Testing.Support;

namespace WorkspaceStorage.Api.Tests.Storage;

/// <summary>Errors and the HTTP details Hypha clients and browsers rely on (and the places where Hypha was wrong).</summary>
public sealed class StorageRouteBehaviourTests
{
    private static CancellationToken Ct => StorageApiHarness.Ct;

    [Fact]
    public async Task Unknown_workspace_is_404_with_JSON_detail()
    {
        await using var h = await StorageApiHarness.StartAsync();
        var ghost = WorkspaceId.Parse("ws-ghost" + StorageApiHarness.RandomPart());
        var token = h.Token(ghost, "rw");

        using var call = await h.CallAsync(ghost, "list_files", token);
        Assert.Equal(HttpStatusCode.NotFound, call.StatusCode);
        var error = await call.Content.ReadFromJsonAsync<JsonElement>(Ct);
        Assert.False(error.GetProperty("success").GetBoolean());
        Assert.StartsWith($"workspace {ghost} has no storage: no WorkspaceStorage for it is Ready", error.GetProperty("detail").GetString(), StringComparison.Ordinal);
        using var file = await h.SendAsync(HttpMethod.Get, $"/{ghost}/files/a.txt", token);
        Assert.Equal(HttpStatusCode.NotFound, file.StatusCode);
    }

    [Fact]
    public async Task Unknown_method_is_404_and_the_service_description_lists_the_methods()
    {
        await using var h = await StorageApiHarness.StartAsync();
        var w = (await h.AddWorkspaceAsync("um")).Workspace;
        using var unknown = await h.CallAsync(w, "delete_bucket", h.Token(w, "a"));
        Assert.Equal(HttpStatusCode.NotFound, unknown.StatusCode);
        Assert.Contains("delete_bucket", (await unknown.Content.ReadFromJsonAsync<JsonElement>(Ct)).GetProperty("detail").GetString());

        using var description = await h.SendAsync(HttpMethod.Get, $"/{w}/services/s3-storage", h.Token(w, "r"));
        var service = await description.Content.ReadFromJsonAsync<JsonElement>(Ct);
        Assert.Equal("function", service.GetProperty("put_file_start_multipart").GetProperty("type").GetString());
    }

    public static TheoryData<string, string, string> BadArguments => new()
    {
        { "put_file_start_multipart", """{"file_path":"a.bin","part_count":0}""", "part_count" },
        { "put_file_start_multipart", """{"file_path":"a.bin","part_count":10001}""", "part_count" },
        { "put_file_start_multipart", """{"file_path":"a.bin"}""", "part_count" },
        { "get_file", """{"file_path":"a.bin","expires_in":604801}""", "expires_in" },
        { "get_file", """{}""", "file_path" },
        { "get_file", """{"file_path":42}""", "file_path" },
        { "put_file", """{"file_path":["a","b"],"ttl":[1]}""", "ttl" },
        { "put_file", """{"file_path":"a","ttl":"soon"}""", "ttl" },
        { "generate_presigned_url", """{"path":"a","expiration":0}""", "expiration" },
        { "generate_presigned_url", """{}""", "path" },
        { "list_files", """{"max_length":-1}""", "max_length" },
        { "list_files", """{"pth":"typo"}""", "pth" },
        { "put_file_complete_multipart", """{"upload_id":"x","parts":[{"part_number":0,"etag":"e"}]}""", "parts.part_number" },
        { "put_file_complete_multipart", """{"upload_id":"x"}""", "parts" },
        { "remove_file", """{}""", "path" },
        { "get_file", """{"file_path":"dir/"}""", "file_path" },
        { "get_file", """[1,2]""", "body" },
    };

    [Theory]
    [MemberData(nameof(BadArguments))]
    public async Task Bad_or_missing_arguments_are_400_naming_the_argument(string method, string json, string argument)
    {
        await using var h = await StorageApiHarness.StartAsync();
        var w = (await h.AddWorkspaceAsync("bad")).Workspace;
        using var response = await h.SendAsync(HttpMethod.Post, $"/{w}/services/s3-storage/{method}", h.Token(w, "rw"),
            new StringContent(json, System.Text.Encoding.UTF8, "application/json"));
        var body = await response.Content.ReadAsStringAsync(Ct);
        Assert.True(response.StatusCode == HttpStatusCode.BadRequest, $"{(int)response.StatusCode} {body}");
        Assert.StartsWith(argument + " ", JsonDocument.Parse(body).RootElement.GetProperty("detail").GetString());
    }

    [Fact]
    public async Task S3_down_is_503_with_JSON_detail()
    {
        await using var h = await StorageApiHarness.StartAsync();
        var live = await h.AddWorkspaceAsync("down");
        using var closed = FreeTcpPort.Refusing();
        var dead = closed.Endpoint;
        h.Directory.Put(live with { Location = live.Location with { Endpoint = dead, PublicEndpoint = dead } });
        var token = h.Token(live.Workspace, "rw");

        foreach (var (method, path) in new[] { (HttpMethod.Get, "a.txt"), (HttpMethod.Get, "dir/"), (HttpMethod.Delete, "a.txt") })
        {
            using var response = await h.SendAsync(method, $"/{live.Workspace}/files/{path}", token);
            Assert.Equal(HttpStatusCode.ServiceUnavailable, response.StatusCode);
            Assert.False((await response.Content.ReadFromJsonAsync<JsonElement>(Ct)).GetProperty("success").GetBoolean());
        }

        using var list = await h.CallAsync(live.Workspace, "list_files", token);
        Assert.Equal(HttpStatusCode.ServiceUnavailable, list.StatusCode);
        Assert.Contains("unavailable", (await list.Content.ReadFromJsonAsync<JsonElement>(Ct)).GetProperty("detail").GetString());
        using var put = await h.PutFileAsync(live.Workspace, "a.txt", [1, 2, 3], token);
        Assert.Equal(HttpStatusCode.ServiceUnavailable, put.StatusCode);
    }

    [Fact]
    public async Task HEAD_is_routed_and_GET_needs_only_read()
    {
        await using var h = await StorageApiHarness.StartAsync();
        var w = (await h.AddWorkspaceAsync("head")).Workspace;
        await h.PutObjectAsync(w.Prefix + "page.html", "<p>hi</p>"u8.ToArray());
        var reader = h.Token(w, "r");

        using var head = await h.SendAsync(HttpMethod.Head, $"/{w}/files/page.html", reader);
        Assert.Equal(HttpStatusCode.OK, head.StatusCode);
        Assert.Equal(9, head.Content.Headers.ContentLength);
        Assert.Equal("text/html", head.Content.Headers.ContentType?.MediaType);
        Assert.NotNull(head.Headers.ETag);
        Assert.NotNull(head.Content.Headers.LastModified);
        Assert.Contains("bytes", head.Headers.AcceptRanges);
        using var missing = await h.SendAsync(HttpMethod.Head, $"/{w}/files/none.html", reader);
        Assert.Equal(HttpStatusCode.NotFound, missing.StatusCode);

        using var get = await h.SendAsync(HttpMethod.Get, $"/{w}/files/page.html", reader);
        Assert.Equal(HttpStatusCode.OK, get.StatusCode);
        Assert.Equal(head.Headers.ETag, get.Headers.ETag);
        Assert.Equal("text/html", get.Content.Headers.ContentType?.MediaType);
    }

    [Fact]
    public async Task Ranges_206_suffix_open_ended_and_416_when_unsatisfiable()
    {
        await using var h = await StorageApiHarness.StartAsync();
        var w = (await h.AddWorkspaceAsync("range")).Workspace;
        var content = StorageApiHarness.RandomBytes(1000);
        await h.PutObjectAsync(w.Prefix + "v.mp4", content);
        var token = h.Token(w, "r");

        foreach (var (header, expected, contentRange) in new[]
        {
            ("bytes=0-0", content[..1], "bytes 0-0/1000"),
            ("bytes=990-", content[990..], "bytes 990-999/1000"),
            ("bytes=-10", content[990..], "bytes 990-999/1000"),
            ("bytes=995-5000", content[995..], "bytes 995-999/1000"),
        })
        {
            using var request = h.Request(HttpMethod.Get, $"/{w}/files/v.mp4", token);
            request.Headers.TryAddWithoutValidation("Range", header);
            using var response = await h.Http.SendAsync(request, Ct);
            Assert.Equal(HttpStatusCode.PartialContent, response.StatusCode);
            Assert.Equal(contentRange, response.Content.Headers.ContentRange?.ToString());
            Assert.Equal(expected, await response.Content.ReadAsByteArrayAsync(Ct));
        }

        using var beyond = h.Request(HttpMethod.Get, $"/{w}/files/v.mp4", token);
        beyond.Headers.TryAddWithoutValidation("Range", "bytes=5000-");
        using var unsatisfiable = await h.Http.SendAsync(beyond, Ct);
        Assert.Equal(HttpStatusCode.RequestedRangeNotSatisfiable, unsatisfiable.StatusCode);
        Assert.Equal("bytes */1000", unsatisfiable.Content.Headers.ContentRange?.ToString());

        using var several = h.Request(HttpMethod.Get, $"/{w}/files/v.mp4", token);
        several.Headers.TryAddWithoutValidation("Range", "bytes=0-1,5-6");
        using var whole = await h.Http.SendAsync(several, Ct);
        Assert.Equal(HttpStatusCode.OK, whole.StatusCode);
        Assert.Equal(content, await whole.Content.ReadAsByteArrayAsync(Ct));
    }

    [Fact]
    public async Task Directory_GET_and_DELETE_work_at_any_depth_and_empty_directories_are_404()
    {
        await using var h = await StorageApiHarness.StartAsync();
        var w = (await h.AddWorkspaceAsync("dir")).Workspace;
        var token = h.Token(w, "rw");
        await h.PutObjectAsync(w.Prefix + "a/b/c/one.txt", "1"u8.ToArray());
        await h.PutObjectAsync(w.Prefix + "a/b/c/d/two.txt", "22"u8.ToArray());
        await h.PutObjectAsync(w.Prefix + "a/b/cx/keep.txt", "k"u8.ToArray());

        using (var listing = await h.SendAsync(HttpMethod.Get, $"/{w}/files/a/b/c/", token))
        {
            Assert.Equal(HttpStatusCode.OK, listing.StatusCode);
            var body = await listing.Content.ReadFromJsonAsync<JsonElement>(Ct);
            Assert.True(body.GetProperty("success").GetBoolean());
            Assert.Equal("directory", body.GetProperty("type").GetString());
            Assert.Equal("c", body.GetProperty("name").GetString());
            var children = body.GetProperty("children").EnumerateArray().Select(c => (c.GetProperty("type").GetString(), c.GetProperty("name").GetString())).ToList();
            Assert.Equal([("file", "one.txt"), ("directory", "d")], children.OrderByDescending(c => c.Item1).ToList());
        }

        using (var empty = await h.SendAsync(HttpMethod.Get, $"/{w}/files/a/nothing/", token))
        {
            Assert.Equal(HttpStatusCode.NotFound, empty.StatusCode);
        }

        using (var delete = await h.SendAsync(HttpMethod.Delete, $"/{w}/files/a/b/c/", token))
        {
            Assert.Equal(HttpStatusCode.OK, delete.StatusCode);
        }

        Assert.False(await h.ExistsAsync(w.Prefix + "a/b/c/d/two.txt"));
        Assert.True(await h.ExistsAsync(w.Prefix + "a/b/cx/keep.txt"));
    }

    [Fact]
    public async Task A_chunked_upload_without_Content_Length_is_spooled_and_stored_and_counted_in_metrics()
    {
        await using var h = await StorageApiHarness.StartAsync();
        var w = (await h.AddWorkspaceAsync("chunk")).Workspace;
        var token = h.Token(w, "rw");
        var content = StorageApiHarness.RandomBytes(3 * 1024 * 1024 + 17);

        using var body = new StreamContent(new NonSeekableStream(content));
        using var request = h.Request(HttpMethod.Put, $"/{w}/files/chunked.bin", token, body);
        request.Headers.TransferEncodingChunked = true;
        using var response = await h.Http.SendAsync(request, Ct);
        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        Assert.Equal(content, await h.ReadObjectAsync(w.Prefix + "chunked.bin"));

        using var download = await h.SendAsync(HttpMethod.Get, $"/{w}/files/chunked.bin", token);
        Assert.Equal(content.Length, (await download.Content.ReadAsByteArrayAsync(Ct)).Length);
        var metrics = await h.Http.GetStringAsync("/metrics", Ct);
        Assert.Matches("workspace_storage_api_streamed_bytes_total\\{direction=\"upload\"\\} [1-9]", metrics);
        Assert.Matches("workspace_storage_api_streamed_bytes_total\\{direction=\"download\"\\} [1-9]", metrics);
    }

    [Fact]
    public async Task A_chunked_upload_over_the_spool_limit_is_413_and_nothing_is_stored()
    {
        await using var h = await StorageApiHarness.StartAsync(new Dictionary<string, string?> { ["Storage:ChunkedUploadLimitBytes"] = "1000" });
        var w = (await h.AddWorkspaceAsync("chunkbig")).Workspace;
        using var body = new StreamContent(new NonSeekableStream(new byte[5000]));
        using var request = h.Request(HttpMethod.Put, $"/{w}/files/big.bin", h.Token(w, "rw"), body);
        request.Headers.TransferEncodingChunked = true;
        using var response = await h.Http.SendAsync(request, Ct);
        Assert.Equal(HttpStatusCode.RequestEntityTooLarge, response.StatusCode);
        Assert.False(await h.ExistsAsync(w.Prefix + "big.bin"));
    }

    [Fact]
    public async Task GET_service_calls_accept_JSON_encoded_lists_and_numbers_as_text()
    {
        await using var h = await StorageApiHarness.StartAsync();
        var w = (await h.AddWorkspaceAsync("getq")).Workspace;
        var token = h.Token(w, "rw");
        var list = Uri.EscapeDataString("""["x/a.txt","x/b.txt"]""");
        using var response = await h.SendAsync(HttpMethod.Get, $"/{w}/services/s3-storage/put_file?file_path={list}&expires_in=60", token);
        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        var urls = await response.Content.ReadFromJsonAsync<JsonElement>(Ct);
        Assert.Equal(2, urls.EnumerateObject().Count());
        Assert.Contains("X-Amz-Expires=60", urls.GetProperty("x/a.txt").GetString(), StringComparison.Ordinal);

        using var capped = await h.SendAsync(HttpMethod.Get, $"/{w}/services/s3-storage/generate_presigned_url?path=a.txt&expiration=604800", token);
        Assert.Contains("X-Amz-Expires=604800", await capped.Content.ReadFromJsonAsync<string>(Ct), StringComparison.Ordinal);
    }

    [Fact]
    public async Task List_files_pages_with_offset_and_max_length_and_a_missing_directory_is_empty()
    {
        await using var h = await StorageApiHarness.StartAsync();
        var w = (await h.AddWorkspaceAsync("page")).Workspace;
        var token = h.Token(w, "r");
        for (var i = 0; i < 5; i++)
        {
            await h.PutObjectAsync($"{w.Prefix}p/f{i}.txt", [(byte)i]);
        }

        var page = await h.CallOkAsync(w, "list_files", token, new { path = "p/", offset = 1, max_length = 3 });
        Assert.Equal(["f1.txt", "f2.txt", "f3.txt"], page.EnumerateArray().Select(e => e.GetProperty("name").GetString()).ToList());
        var file = page[0];
        Assert.Equal("file", file.GetProperty("type").GetString());
        Assert.Equal(1, file.GetProperty("size").GetInt64());
        Assert.InRange(file.GetProperty("last_modified").GetDouble(), DateTimeOffset.UtcNow.AddMinutes(-5).ToUnixTimeSeconds(), DateTimeOffset.UtcNow.AddMinutes(5).ToUnixTimeSeconds());
        Assert.Empty((await h.CallOkAsync(w, "list_files", token, new { path = "missing" })).EnumerateArray());
    }

    [Fact]
    public async Task Every_presigned_URL_passes_through_the_registered_rewriter()
    {
        await using var h = await StorageApiHarness.StartAsync(configure: b =>
            b.Services.AddSingleton<WorkspaceStorage.Api.Presigning.IPresignedUrlRewriter>(new MarkingRewriter()));
        var w = (await h.AddWorkspaceAsync("rew")).Workspace;
        var token = h.Token(w, "rw");

        Assert.EndsWith("#rewritten-for-" + w, (await h.CallOkAsync(w, "generate_presigned_url", token, new { path = "a" })).GetString());
        Assert.EndsWith("#rewritten-for-" + w, (await h.CallOkAsync(w, "get_file", token, new { file_path = "a" })).GetString());
        Assert.EndsWith("#rewritten-for-" + w, (await h.CallOkAsync(w, "put_file", token, new { file_path = new[] { "a" } })).GetProperty("a").GetString());
        var parts = (await h.CallOkAsync(w, "put_file_start_multipart", token, new { file_path = "m", part_count = 2 })).GetProperty("parts");
        Assert.All(parts.EnumerateArray(), p => Assert.EndsWith("#rewritten-for-" + w, p.GetProperty("url").GetString()));
    }

    private sealed class MarkingRewriter : WorkspaceStorage.Api.Presigning.IPresignedUrlRewriter
    {
        public string Rewrite(WorkspaceId workspace, string presignedUrl) => presignedUrl + "#rewritten-for-" + workspace;
    }

    private sealed class NonSeekableStream(byte[] content) : Stream
    {
        private int position;

        public override bool CanRead => true;

        public override bool CanSeek => false;

        public override bool CanWrite => false;

        public override long Length => throw new NotSupportedException();

        public override long Position { get => position; set => throw new NotSupportedException(); }

        public override int Read(byte[] buffer, int offset, int count)
        {
            var n = Math.Min(count, Math.Min(content.Length - position, 65536));
            Array.Copy(content, position, buffer, offset, n);
            position += n;
            return n;
        }

        public override void Flush()
        {
        }

        public override long Seek(long offset, SeekOrigin origin) => throw new NotSupportedException();

        public override void SetLength(long value) => throw new NotSupportedException();

        public override void Write(byte[] buffer, int offset, int count) => throw new NotSupportedException();
    }
}
