using WorkspaceStorage.Api.Tests.Host;
using System.Net;
using System.Net.Http.Json;
using System.Text.Json;
using Amazon.S3;
using Amazon.S3.Model;
using WorkspaceStorage.Core.Signing;
using AccessLevel = WorkspaceStorage.Core.Workspaces.AccessLevel;

namespace WorkspaceStorage.Api.Tests.Storage;

/// <summary>Attacks on the storage routes that must fail, through real Kestrel and the real RGW.</summary>
public sealed class StorageSecurityTests
{
    private static CancellationToken Ct => StorageApiHarness.Ct;

    public static TheoryData<string> EscapingPaths => new()
    {
        "../{victim}/secret.txt",
        "a/../../{victim}/secret.txt",
        "%2e%2e%2f{victim}%2fsecret.txt",
        "%2E%2E/{victim}/secret.txt",
        "..%2f{victim}%2fsecret.txt",
        "..\\{victim}\\secret.txt",
        "%5c..%5c{victim}%5csecret.txt",
        "//{victim}/secret.txt",
        "a//../../{victim}/secret.txt",
    };

    [Theory]
    [MemberData(nameof(EscapingPaths))]
    public async Task Traversal_in_the_files_path_never_reads_or_writes_another_workspace(string template)
    {
        await using var h = await StorageApiHarness.StartAsync();
        var attacker = (await h.AddWorkspaceAsync("att")).Workspace;
        var victim = (await h.AddWorkspaceAsync("vic")).Workspace;
        await h.PutObjectAsync(victim.Prefix + "secret.txt", "victim secret"u8.ToArray());
        var token = h.Token(attacker, "rw");
        var target = $"/{attacker}/files/" + template.Replace("{victim}", victim.Value, StringComparison.Ordinal);

        foreach (var method in new[] { "GET", "PUT", "DELETE", "HEAD" })
        {
            var (status, body) = await RawAsync(h.Api.BaseAddress, method, target, token, method == "PUT" ? "pwned" : null);
            // Kestrel resolves dot segments before routing, so some of these land (harmlessly) inside the attacker's
            // own workspace; what must never happen is touching the victim's data or a server error.
            Assert.True(status is 200 or 400 or 403 or 404, $"{method} {target}: {status} {body}");
            Assert.DoesNotContain("victim secret", body, StringComparison.Ordinal);
        }

        Assert.Equal("victim secret"u8.ToArray(), await h.ReadObjectAsync(victim.Prefix + "secret.txt"));
    }

    [Theory]
    [InlineData("../{victim}/secret.txt")]
    [InlineData("..\\{victim}\\secret.txt")]
    [InlineData("%2e%2e%2f{victim}%2fsecret.txt")]
    [InlineData("a/./../{victim}/secret.txt")]
    [InlineData("C:\\{victim}\\secret.txt")]
    public async Task Traversal_in_method_arguments_is_a_400_naming_the_argument(string template)
    {
        await using var h = await StorageApiHarness.StartAsync();
        var attacker = (await h.AddWorkspaceAsync("atm")).Workspace;
        var victim = (await h.AddWorkspaceAsync("vim")).Workspace;
        var token = h.Token(attacker, "rw");
        var path = template.Replace("{victim}", victim.Value, StringComparison.Ordinal);

        foreach (var (method, argument, args) in new (string, string, object)[]
        {
            ("generate_presigned_url", "path", new { path }),
            ("generate_presigned_url", "path", new { path, client_method = "put_object" }),
            ("get_file", "file_path", new { file_path = path }),
            ("put_file", "file_path", new { file_path = new[] { "ok.txt", path } }),
            ("put_file_start_multipart", "file_path", new { file_path = path, part_count = 1 }),
            ("list_files", "path", new { path }),
            ("remove_file", "path", new { path }),
        })
        {
            using var response = await h.CallAsync(attacker, method, token, args);
            var body = await response.Content.ReadAsStringAsync(Ct);
            Assert.True(response.StatusCode == HttpStatusCode.BadRequest, $"{method}({path}): {(int)response.StatusCode} {body}");
            Assert.StartsWith(argument + " ", JsonDocument.Parse(body).RootElement.GetProperty("detail").GetString());
        }
    }

    [Fact]
    public async Task An_absolute_path_is_refused_by_the_service_and_stays_inside_the_workspace_on_files()
    {
        await using var h = await StorageApiHarness.StartAsync();
        var w = (await h.AddWorkspaceAsync("abs")).Workspace;
        var token = h.Token(w, "rw");

        // In Hypha a leading '/' means "bucket-wide, admins only"; this service serves no such path, for anyone.
        foreach (var (function, arguments) in new (string, object)[]
                 {
                     ("generate_presigned_url", new { path = "/etc/passwd", client_method = "put_object" }),
                     ("list_files", new { path = "/" }),
                     ("put_file", new { file_path = new[] { "ok.txt", "/other-ws/x" } }),
                     ("remove_file", new { path = "/ws-other/" }),
                 })
        {
            using var refused = await h.CallAsync(w, function, h.Token(w, "a"), arguments);
            Assert.Equal(HttpStatusCode.BadRequest, refused.StatusCode);
            Assert.Contains("absolute paths", await refused.Content.ReadAsStringAsync(Ct), StringComparison.Ordinal);
        }

        using var put = await h.PutFileAsync(w, "%2Fetc/passwd", "x"u8.ToArray(), token);
        Assert.True(put.StatusCode is HttpStatusCode.OK or HttpStatusCode.BadRequest);
        Assert.False(await h.AdminClient.HeadBucketAsync(Ct) is false);
    }

    [Fact]
    public async Task Workspace_ws_a_cannot_reach_ws_ab_by_prefix()
    {
        await using var h = await StorageApiHarness.StartAsync();
        var random = StorageApiHarness.RandomPart();
        var a = (await h.AddWorkspaceAsync("p", random: random)).Workspace;
        var ab = (await h.AddWorkspaceAsync("p", random: random, suffix: "b")).Workspace;
        Assert.StartsWith(a.Value, ab.Value, StringComparison.Ordinal);
        await h.PutObjectAsync(ab.Prefix + "secret.txt", "ab secret"u8.ToArray());
        var token = h.Token(a, "rw");

        using (var get = await h.SendAsync(HttpMethod.Get, $"/{ab}/files/secret.txt", token))
        {
            Assert.Equal(HttpStatusCode.Forbidden, get.StatusCode);
        }

        // ws-a's own temporary credentials cannot list or read ws-ab either.
        var credential = await h.CallOkAsync(a, "generate_credential", token);
        using var s3 = h.Server.CreateAwsS3Client(new AwsCredentials(credential.GetProperty("access_key_id").GetString()!,
            credential.GetProperty("secret_access_key").GetString()!, credential.GetProperty("session_token").GetString()));
        var read = await Assert.ThrowsAsync<AmazonS3Exception>(() => s3.GetObjectAsync(h.Location.Bucket, ab.Prefix + "secret.txt", Ct));
        Assert.Equal(HttpStatusCode.Forbidden, read.StatusCode);
        var list = await Assert.ThrowsAsync<AmazonS3Exception>(() =>
            s3.ListObjectsV2Async(new ListObjectsV2Request { BucketName = h.Location.Bucket, Prefix = a.Value }, Ct));
        Assert.Equal(HttpStatusCode.Forbidden, list.StatusCode);
    }

    [Fact]
    public async Task A_presigned_URL_edited_to_another_workspace_is_refused_by_S3()
    {
        await using var h = await StorageApiHarness.StartAsync();
        var random = StorageApiHarness.RandomPart();
        var a = (await h.AddWorkspaceAsync("e", random: random)).Workspace;
        var ab = (await h.AddWorkspaceAsync("e", random: random, suffix: "b")).Workspace;
        await h.PutObjectAsync(ab.Prefix + "secret.txt", "ab secret"u8.ToArray());
        await h.PutObjectAsync(a.Prefix + "secret.txt", "a own"u8.ToArray());
        var token = h.Token(a, "rw");

        var url = (await h.CallOkAsync(a, "generate_presigned_url", token, new { path = "secret.txt" })).GetString()!;
        using var urls = StorageApiHarness.UrlClient();
        Assert.Equal("a own", await urls.GetStringAsync(url, Ct));
        var edited = url.Replace($"/{a}/secret.txt", $"/{ab}/secret.txt", StringComparison.Ordinal);
        Assert.NotEqual(url, edited);
        using var response = await urls.GetAsync(edited, Ct);
        Assert.Equal(HttpStatusCode.Forbidden, response.StatusCode);

        // Re-signing does not help either: the URL carries ws-a's own key, which S3 confines to ws-a/.
        Assert.Contains("X-Amz-Credential=", url, StringComparison.Ordinal);
        Assert.DoesNotContain(h.Server.Admin.AccessKeyId, url, StringComparison.Ordinal);
        var handle = await h.Directory.FindAsync(a, Ct);
        Assert.Contains(handle!.Key.AccessKeyId, url, StringComparison.Ordinal);
        var resigned = h.Clients.Create(h.Location, handle.Key).Presign(HttpMethod.Get, ab.Prefix + "secret.txt", TimeSpan.FromMinutes(5));
        using var direct = await urls.GetAsync(resigned, Ct);
        Assert.Equal(HttpStatusCode.Forbidden, direct.StatusCode);
    }

    [Fact]
    public async Task Completing_another_workspaces_multipart_upload_fails()
    {
        await using var h = await StorageApiHarness.StartAsync();
        var a = (await h.AddWorkspaceAsync("mpa")).Workspace;
        var b = (await h.AddWorkspaceAsync("mpb")).Workspace;
        var started = await h.CallOkAsync(b, "put_file_start_multipart", h.Token(b, "rw"), new { file_path = "victim.bin", part_count = 1 });
        using var urls = StorageApiHarness.UrlClient();
        using var part = await urls.PutAsync(started.GetProperty("parts")[0].GetProperty("url").GetString(), new ByteArrayContent("b data"u8.ToArray()), Ct);
        var parts = new[] { new { part_number = 1, etag = part.Headers.ETag!.Tag } };
        var uploadId = started.GetProperty("upload_id").GetString()!;
        var tokenA = h.Token(a, "rw");

        using (var viaService = await h.CallAsync(a, "put_file_complete_multipart", tokenA, new { upload_id = uploadId, parts }))
        {
            Assert.Equal(HttpStatusCode.NotFound, viaService.StatusCode);
        }

        using (var viaRoute = await h.SendAsync(HttpMethod.Post, $"/{a}/complete-multipart-upload", tokenA, JsonContent.Create(new { upload_id = uploadId, parts })))
        {
            Assert.Equal(HttpStatusCode.NotFound, viaRoute.StatusCode);
        }

        // A token with its signature swapped or its payload edited is refused the same way.
        var pieces = uploadId.Split('.');
        foreach (var forged in new[] { pieces[0] + "." + pieces[1] + ".AAAA", "u1.e30.AAAA", "raw-s3-upload-id", pieces[0] + "." + pieces[1][..^2] + "." + pieces[2] })
        {
            using var response = await h.CallAsync(a, "put_file_complete_multipart", tokenA, new { upload_id = forged, parts });
            Assert.Equal(HttpStatusCode.NotFound, response.StatusCode);
        }

        Assert.False(await h.ExistsAsync(a.Prefix + "victim.bin"));
        Assert.False(await h.ExistsAsync(b.Prefix + "victim.bin"));
        // The rightful owner still completes it.
        var done = await h.CallOkAsync(b, "put_file_complete_multipart", h.Token(b, "rw"), new { upload_id = uploadId, parts });
        Assert.True(done.GetProperty("success").GetBoolean());
        Assert.Equal("b data"u8.ToArray(), await h.ReadObjectAsync(b.Prefix + "victim.bin"));
    }

    [Theory]
    [InlineData("delete_object")]
    [InlineData("list_objects_v2")]
    [InlineData("put_bucket_policy")]
    [InlineData("GET_OBJECT")]
    [InlineData("upload_part")]
    [InlineData("")]
    public async Task Client_methods_other_than_get_object_and_put_object_are_refused(string clientMethod)
    {
        await using var h = await StorageApiHarness.StartAsync();
        var w = (await h.AddWorkspaceAsync("cm")).Workspace;

        using var response = await h.CallAsync(w, "generate_presigned_url", h.Token(w, "a"), new { path = "x.txt", client_method = clientMethod });
        Assert.Equal(HttpStatusCode.BadRequest, response.StatusCode);
        Assert.StartsWith("client_method ", (await response.Content.ReadFromJsonAsync<JsonElement>(Ct)).GetProperty("detail").GetString());
    }

    [Fact]
    public async Task Read_only_callers_cannot_write_and_get_read_only_credentials()
    {
        await using var h = await StorageApiHarness.StartAsync();
        var w = (await h.AddWorkspaceAsync("ro")).Workspace;
        await h.PutObjectAsync(w.Prefix + "doc.txt", "doc"u8.ToArray());
        var reader = h.Token(w, "r");

        foreach (var (method, args) in new (string, object)[]
        {
            ("put_file", new { file_path = "x.txt" }),
            ("generate_presigned_url", new { path = "x.txt", client_method = "put_object" }),
            ("put_file_start_multipart", new { file_path = "x.txt", part_count = 1 }),
            ("put_file_complete_multipart", new { upload_id = "x", parts = new[] { new { part_number = 1, etag = "e" } } }),
            ("remove_file", new { path = "doc.txt" }),
        })
        {
            using var response = await h.CallAsync(w, method, reader, args);
            Assert.True(response.StatusCode == HttpStatusCode.Forbidden, $"{method}: {response.StatusCode}");
        }

        using (var put = await h.PutFileAsync(w, "x.txt", [1], reader))
        {
            Assert.Equal(HttpStatusCode.Forbidden, put.StatusCode);
        }

        using (var delete = await h.SendAsync(HttpMethod.Delete, $"/{w}/files/doc.txt", reader))
        {
            Assert.Equal(HttpStatusCode.Forbidden, delete.StatusCode);
        }

        using (var create = await h.SendAsync(HttpMethod.Post, $"/{w}/create-multipart-upload?path=x.txt&part_count=1", reader))
        {
            Assert.Equal(HttpStatusCode.Forbidden, create.StatusCode);
        }

        // Reading is allowed, and its credentials are read-only at S3 itself.
        using (var get = await h.SendAsync(HttpMethod.Get, $"/{w}/files/doc.txt", reader))
        {
            Assert.Equal("doc", await get.Content.ReadAsStringAsync(Ct));
        }

        var credential = await h.CallOkAsync(w, "generate_credential", reader);
        Assert.Equal("r", credential.GetProperty("access").GetString());
        var keys = new AwsCredentials(credential.GetProperty("access_key_id").GetString()!, credential.GetProperty("secret_access_key").GetString()!,
            credential.GetProperty("session_token").GetString());
        using var s3 = h.Server.CreateAwsS3Client(keys);
        using (var got = await s3.GetObjectAsync(h.Location.Bucket, w.Prefix + "doc.txt", Ct))
        {
            Assert.Equal("doc", await new StreamReader(got.ResponseStream).ReadToEndAsync(Ct));
        }

        var denied = await Assert.ThrowsAsync<AmazonS3Exception>(() => s3.DeleteObjectAsync(h.Location.Bucket, w.Prefix + "doc.txt", Ct));
        Assert.Equal(HttpStatusCode.Forbidden, denied.StatusCode);
        Assert.Equal("doc"u8.ToArray(), await h.ReadObjectAsync(w.Prefix + "doc.txt"));
    }

    [Fact]
    public async Task A_read_only_workspace_refuses_writes_even_to_rw_callers_and_its_credentials_are_read_only()
    {
        await using var h = await StorageApiHarness.StartAsync();
        var w = (await h.AddWorkspaceAsync("rows", AccessLevel.ReadOnly)).Workspace;
        var writer = h.Token(w, "rw");

        using (var put = await h.PutFileAsync(w, "x.txt", [1], writer))
        {
            Assert.Equal(HttpStatusCode.Forbidden, put.StatusCode);
        }

        using (var presign = await h.CallAsync(w, "put_file", writer, new { file_path = "x.txt" }))
        {
            Assert.Equal(HttpStatusCode.Forbidden, presign.StatusCode);
        }

        using (var create = await h.SendAsync(HttpMethod.Post, $"/{w}/create-multipart-upload?path=x.txt&part_count=1", writer))
        {
            Assert.Equal(HttpStatusCode.Forbidden, create.StatusCode);
        }

        var credential = await h.CallOkAsync(w, "generate_credential", writer);
        Assert.Equal("r", credential.GetProperty("access").GetString());
        Assert.Empty((await h.CallOkAsync(w, "list_files", writer)).EnumerateArray());
    }

    [Fact]
    public async Task A_valid_token_for_another_workspace_is_refused()
    {
        await using var h = await StorageApiHarness.StartAsync();
        var w = (await h.AddWorkspaceAsync("tw")).Workspace;
        var other = (await h.AddWorkspaceAsync("to")).Workspace;
        await h.PutObjectAsync(w.Prefix + "doc.txt", "doc"u8.ToArray());
        var foreign = h.Token(other, "a");

        using (var get = await h.SendAsync(HttpMethod.Get, $"/{w}/files/doc.txt", foreign))
        {
            Assert.Equal(HttpStatusCode.Forbidden, get.StatusCode);
        }

        foreach (var method in new[] { "list_files", "generate_credential", "get_file" })
        {
            using var response = await h.CallAsync(w, method, foreign, method == "get_file" ? new { file_path = "doc.txt" } : null);
            Assert.Equal(HttpStatusCode.Forbidden, response.StatusCode);
        }

        using var put = await h.PutFileAsync(w, "doc.txt", "overwritten"u8.ToArray(), foreign);
        Assert.Equal(HttpStatusCode.Forbidden, put.StatusCode);
        Assert.Equal("doc"u8.ToArray(), await h.ReadObjectAsync(w.Prefix + "doc.txt"));
    }

    [Fact]
    public async Task Each_generate_credential_call_is_fresh_and_earlier_credentials_stay_valid()
    {
        await using var h = await StorageApiHarness.StartAsync();
        var w = (await h.AddWorkspaceAsync("fresh")).Workspace;
        var token = h.Token(w, "rw");

        var first = await h.CallOkAsync(w, "generate_credential", token);
        var second = await h.CallOkAsync(w, "generate_credential", token);
        Assert.NotEqual(first.GetProperty("access_key_id").GetString(), second.GetProperty("access_key_id").GetString());
        Assert.Equal("rw", first.GetProperty("access").GetString());
        foreach (var credential in new[] { first, second })
        {
            using var s3 = h.Server.CreateAwsS3Client(new AwsCredentials(credential.GetProperty("access_key_id").GetString()!,
                credential.GetProperty("secret_access_key").GetString()!, credential.GetProperty("session_token").GetString()));
            await s3.PutObjectAsync(new PutObjectRequest { BucketName = h.Location.Bucket, Key = w.Prefix + "c.txt", ContentBody = "ok" }, Ct);
        }

        // Credentials are never W's long-lived key.
        var handle = await h.Directory.FindAsync(w, Ct);
        Assert.NotEqual(handle!.Key.AccessKeyId, first.GetProperty("access_key_id").GetString());
    }

    private static Task<(int Status, string Body)> RawAsync(Uri server, string method, string target, string token, string? body) =>
        RawHttp.SendAsync(server, method, target, new Dictionary<string, string> { ["Authorization"] = "Bearer " + token }, body ?? string.Empty, Ct);
}
