using System.Net;
using Amazon.S3.Model;
using WorkspaceStorage.Core.Workspaces;

namespace WorkspaceStorage.Storage.Tests.CephRgw;

/// <summary>A workspace identity on the real RGW reaches bucket/W/ and nothing else, whatever it tries.</summary>
public sealed class RgwConfinementTests
{
    private static CancellationToken Ct => RgwBackendHarness.Ct;

    [Fact]
    public async Task ReadWrite_identity_puts_gets_lists_and_deletes_under_its_prefix_and_presigned_urls_with_its_key_work()
    {
        await using var h = await RgwBackendHarness.StartAsync();
        var w = h.NewWorkspace("rw");
        var key = await h.IdentityAsync(w);
        using var s3 = h.Client(key);

        await s3.PutObjectAsync(new PutObjectRequest { BucketName = h.Bucket, Key = w.Prefix + "dir/a.txt", ContentBody = "hello" }, Ct);
        using (var got = await s3.GetObjectAsync(h.Bucket, w.Prefix + "dir/a.txt", Ct))
        {
            Assert.Equal("hello", await new StreamReader(got.ResponseStream).ReadToEndAsync(Ct));
        }

        var deep = await s3.ListObjectsV2Async(new ListObjectsV2Request { BucketName = h.Bucket, Prefix = w.Prefix }, Ct);
        Assert.Equal([w.Prefix + "dir/a.txt"], deep.S3Objects.Select(o => o.Key));
        var home = await s3.ListObjectsV2Async(new ListObjectsV2Request { BucketName = h.Bucket, Prefix = w.Prefix, Delimiter = "/" }, Ct);
        Assert.Equal([w.Prefix + "dir/"], home.CommonPrefixes);

        var put = await h.GetUrlAsync(h.Presign("PUT", w.Prefix + "presigned.txt", key), HttpMethod.Put, "via url");
        Assert.Equal(HttpStatusCode.OK, put.Status);
        var get = await h.GetUrlAsync(h.Presign("GET", w.Prefix + "presigned.txt", key));
        Assert.Equal((HttpStatusCode.OK, "via url"), get);

        // A multipart upload (Hypha's large-file path) under W/ works with the same key.
        var upload = await s3.InitiateMultipartUploadAsync(h.Bucket, w.Prefix + "big.bin", Ct);
        var part = await s3.UploadPartAsync(new UploadPartRequest
        {
            BucketName = h.Bucket, Key = w.Prefix + "big.bin", UploadId = upload.UploadId, PartNumber = 1,
            InputStream = new MemoryStream(new byte[1024]),
        }, Ct);
        await s3.CompleteMultipartUploadAsync(new CompleteMultipartUploadRequest
        {
            BucketName = h.Bucket, Key = w.Prefix + "big.bin", UploadId = upload.UploadId,
            PartETags = [new PartETag(1, part.ETag)],
        }, Ct);
        Assert.Equal(1024, (await s3.GetObjectMetadataAsync(h.Bucket, w.Prefix + "big.bin", Ct)).ContentLength);

        await s3.DeleteObjectAsync(h.Bucket, w.Prefix + "dir/a.txt", Ct);
        Assert.Null(await h.ReadAsAdminAsync(w.Prefix + "dir/a.txt"));
    }

    [Fact]
    public async Task Identity_is_refused_the_bucket_root_other_prefixes_a_longer_id_sharing_its_start_and_bucket_creation()
    {
        await using var h = await RgwBackendHarness.StartAsync();
        var random = RgwBackendHarness.RandomPart();
        var w = h.NewWorkspace("a", random);          // ws-a<r>
        var wx = h.NewWorkspace("a", random, "b");    // ws-a<r>b: W's id is a prefix of this one's
        var other = h.NewWorkspace("other");
        var key = await h.IdentityAsync(w);
        await h.IdentityAsync(wx);
        await h.PutAsAdminAsync(wx.Prefix + "secret.txt", "wx secret");
        await h.PutAsAdminAsync(other.Prefix + "secret.txt", "other secret");
        await h.PutAsAdminAsync(w.Value + "-sibling.txt", "top-level object sharing W's start");
        using var s3 = h.Client(key);

        await S3Outcome.Denied(() => s3.ListObjectsV2Async(new ListObjectsV2Request { BucketName = h.Bucket }, Ct), "list bucket root");
        await S3Outcome.Denied(() => s3.ListObjectsV2Async(new ListObjectsV2Request { BucketName = h.Bucket, Delimiter = "/" }, Ct), "list root with delimiter");
        await S3Outcome.Denied(() => s3.ListObjectsV2Async(new ListObjectsV2Request { BucketName = h.Bucket, Prefix = w.Value }, Ct), "list prefix without slash");
        await S3Outcome.Denied(() => s3.ListObjectsV2Async(new ListObjectsV2Request { BucketName = h.Bucket, Prefix = wx.Prefix }, Ct), "list Wx/");
        await S3Outcome.Denied(() => s3.ListObjectsV2Async(new ListObjectsV2Request { BucketName = h.Bucket, Prefix = other.Prefix }, Ct), "list W2/");
        await S3Outcome.Denied(() => s3.ListObjectsV2Async(new ListObjectsV2Request { BucketName = h.Bucket, Prefix = "etc/" }, Ct), "list etc/");
        await S3Outcome.Denied(() => s3.ListVersionsAsync(new ListVersionsRequest { BucketName = h.Bucket }, Ct), "list versions of the bucket");
        await S3Outcome.Denied(() => s3.ListVersionsAsync(new ListVersionsRequest { BucketName = h.Bucket, Prefix = wx.Prefix }, Ct), "list versions of Wx/");
        await S3Outcome.Denied(() => s3.ListMultipartUploadsAsync(new ListMultipartUploadsRequest { BucketName = h.Bucket }, Ct), "list multipart uploads");
        await S3Outcome.Denied(() => s3.GetBucketPolicyAsync(h.Bucket, Ct), "read the bucket policy");
        await S3Outcome.Denied(() => s3.GetBucketAclAsync(new GetBucketAclRequest { BucketName = h.Bucket }, Ct), "read the bucket ACL");
        foreach (var victim in new[] { wx.Prefix + "secret.txt", other.Prefix + "secret.txt", w.Value + "-sibling.txt" })
        {
            await S3Outcome.Denied(() => s3.GetObjectAsync(h.Bucket, victim, Ct), "get " + victim);
            await S3Outcome.Denied(() => s3.DeleteObjectAsync(h.Bucket, victim, Ct), "delete " + victim);
            await h.DeniedPutAsync(key, victim, "put " + victim);
        }

        await h.DeniedPutAsync(key, "etc/" + w.Value + "/manifest.json", "put etc/");
        await S3Outcome.Denied(() => s3.PutBucketAsync(RgwTestServerNames.Bucket("evil"), Ct), "create bucket");
        await S3Outcome.Denied(() => s3.DeleteBucketAsync(h.Bucket, Ct), "delete the shared bucket");

        Assert.Equal("wx secret", await h.ReadAsAdminAsync(wx.Prefix + "secret.txt"));
        Assert.Equal("other secret", await h.ReadAsAdminAsync(other.Prefix + "secret.txt"));
        Assert.Equal("top-level object sharing W's start", await h.ReadAsAdminAsync(w.Value + "-sibling.txt"));
    }

    [Fact]
    public async Task Dot_dot_keys_never_reach_another_workspace_literally_or_percent_encoded()
    {
        await using var h = await RgwBackendHarness.StartAsync();
        var w = h.NewWorkspace("dots");
        var w2 = h.NewWorkspace("victim");
        var key = await h.IdentityAsync(w);
        await h.PutAsAdminAsync(w2.Prefix + "x", "original");
        using var s3 = h.Client(key);

        // Through the SDK: the key is an opaque string to S3, so either it is refused or it stays inside W.
        var traversal = $"{w.Value}/../{w2.Value}/x";
        var sdkPut = await S3Outcome.Of(() => s3.PutObjectAsync(new PutObjectRequest { BucketName = h.Bucket, Key = traversal, ContentBody = "pwned" }, Ct));
        var sdkGet = await S3Outcome.Of(async () =>
        {
            using var got = await s3.GetObjectAsync(h.Bucket, traversal, Ct);
            Assert.NotEqual("original", await new StreamReader(got.ResponseStream).ReadToEndAsync(Ct));
        });
        // What RGW answers (measured on the local RGW): the key is taken literally, "W/../W2/x" is an object under W/,
        // so the put succeeds and the get reads back what was put there, never W2's object.
        Assert.True(sdkPut.Status == HttpStatusCode.OK, $"SDK put: {sdkPut}");
        Assert.True(sdkGet.Status == HttpStatusCode.OK, $"SDK get: {sdkGet}");

        // Raw on the wire: literal dots and %2E%2E in several spellings, each signed once as sent and once over the
        // decoded path (what a server that decodes before verifying checks), so a refusal comes from the policy.
        var literal = $"/{h.Bucket}/{w.Value}/../{w2.Value}/x";
        foreach (var wire in new[]
                 {
                     literal,
                     $"/{h.Bucket}/{w.Value}/%2E%2E/{w2.Value}/x",
                     $"/{h.Bucket}/{w.Value}/%2e%2e/{w2.Value}/x",
                     $"/{h.Bucket}/{w.Value}/.%2E/{w2.Value}/x",
                     $"/{h.Bucket}/{w.Value}/%2E%2E%2F{w2.Value}/x",
                     $"/{h.Bucket}/{w.Value}/..%2F{w2.Value}%2Fx",
                 })
        {
            foreach (var signed in new[] { wire, literal })
            {
                var put = await h.SendRawAsync(HttpMethod.Put, wire, key, "pwned", signed);
                var get = await h.SendRawAsync(HttpMethod.Get, wire, key, signedPath: signed);
                TestContext.Current.TestOutputHelper?.WriteLine(
                    $"{wire} signed as {(signed == wire ? "sent" : "decoded")}: PUT {(int)put.Status} {Code(put.Body)}, GET {(int)get.Status} {Code(get.Body)}");
                Assert.DoesNotContain("original", get.Body, StringComparison.Ordinal);
                // What RGW answers (measured): it decodes the path before checking the signature, so an encoded path
                // signed as sent is refused (403 AccessDenied), and one signed over the decoded path is the literal key
                // "W/../W2/x" under W/ (200, and the get returns what this put wrote, not W2's object).
                var expected = signed == wire && wire != literal ? HttpStatusCode.Forbidden : HttpStatusCode.OK;
                Assert.True(put.Status == expected, $"raw put {wire} signed as {(signed == wire ? "sent" : "decoded")}: {put.Status} {Code(put.Body)}, expected {expected}");
                Assert.True(get.Status == expected, $"raw get {wire} signed as {(signed == wire ? "sent" : "decoded")}: {get.Status} {Code(get.Body)}, expected {expected}");
            }
        }

        // Listing is prefix matching on the literal string: a dotted prefix lists nothing of W2's.
        var dotted = await S3Outcome.Of(async () =>
        {
            var listed = await s3.ListObjectsV2Async(new ListObjectsV2Request { BucketName = h.Bucket, Prefix = $"{w.Prefix}../{w2.Value}/" }, Ct);
            Assert.DoesNotContain(listed.S3Objects ?? [], o => o.Key == w2.Prefix + "x");
        });
        Assert.True(dotted.Status == HttpStatusCode.OK, $"dotted list: {dotted}"); // a prefix under W/: allowed, and lists only W's own keys

        // W2's object is untouched, and nothing new appeared under W2/.
        Assert.Equal("original", await h.ReadAsAdminAsync(w2.Prefix + "x"));
        Assert.Equal([w2.Prefix + "x"], await h.KeysAsAdminAsync(w2.Prefix));
        // Whatever was written landed under W/ (as a literal key), which is W's own business.
        Assert.All(await h.KeysAsAdminAsync(""), k => Assert.True(k.StartsWith(w.Prefix, StringComparison.Ordinal) || k == w2.Prefix + "x", k));
    }

    private static string Code(string body)
    {
        var start = body.IndexOf("<Code>", StringComparison.Ordinal);
        var end = body.IndexOf("</Code>", StringComparison.Ordinal);
        return start >= 0 && end > start ? body[(start + 6)..end] : string.Empty;
    }

    [Fact]
    public async Task Presigned_urls_of_another_workspace_or_with_an_edited_path_are_refused()
    {
        await using var h = await RgwBackendHarness.StartAsync();
        var w = h.NewWorkspace("pa");
        var w2 = h.NewWorkspace("pb");
        var key = await h.IdentityAsync(w);
        var key2 = await h.IdentityAsync(w2);
        await h.PutAsAdminAsync(w.Prefix + "mine.txt", "w data");
        await h.PutAsAdminAsync(w2.Prefix + "theirs.txt", "w2 data");

        // W's key signing a URL into W2: a valid signature, refused by policy.
        var intoOther = await h.GetUrlAsync(h.Presign("GET", w2.Prefix + "theirs.txt", key));
        Assert.Equal(HttpStatusCode.Forbidden, intoOther.Status);
        var putIntoOther = await h.GetUrlAsync(h.Presign("PUT", w2.Prefix + "theirs.txt", key), HttpMethod.Put, "pwned");
        Assert.Equal(HttpStatusCode.Forbidden, putIntoOther.Status);

        // W2's own URL works for W2's object only.
        Assert.Equal((HttpStatusCode.OK, "w2 data"), await h.GetUrlAsync(h.Presign("GET", w2.Prefix + "theirs.txt", key2)));

        // A URL signed for W/mine.txt whose path is edited to W2's object: the signature no longer matches.
        var mine = h.Presign("GET", w.Prefix + "mine.txt", key);
        Assert.Equal((HttpStatusCode.OK, "w data"), await h.GetUrlAsync(mine));
        var edited = mine.Replace($"/{w.Value}/mine.txt", $"/{w2.Value}/theirs.txt", StringComparison.Ordinal);
        Assert.NotEqual(mine, edited);
        var editedResult = await h.GetUrlAsync(edited);
        Assert.Equal(HttpStatusCode.Forbidden, editedResult.Status);
        Assert.DoesNotContain("w2 data", editedResult.Body, StringComparison.Ordinal);

        // An edited PUT URL must not overwrite W2's object either.
        var editedPut = h.Presign("PUT", w.Prefix + "mine.txt", key).Replace($"/{w.Value}/mine.txt", $"/{w2.Value}/theirs.txt", StringComparison.Ordinal);
        Assert.Equal(HttpStatusCode.Forbidden, (await h.GetUrlAsync(editedPut, HttpMethod.Put, "pwned")).Status);
        Assert.Equal("w2 data", await h.ReadAsAdminAsync(w2.Prefix + "theirs.txt"));
    }

    [Fact]
    public async Task ReadOnly_identity_gets_and_lists_but_cannot_put_or_delete()
    {
        await using var h = await RgwBackendHarness.StartAsync();
        var w = h.NewWorkspace("ro");
        var key = await h.IdentityAsync(w, AccessLevel.ReadOnly);
        await h.PutAsAdminAsync(w.Prefix + "doc.txt", "read me");
        using var s3 = h.Client(key);

        await S3Outcome.Allowed(() => s3.GetObjectAsync(h.Bucket, w.Prefix + "doc.txt", Ct), "get");
        await S3Outcome.Allowed(() => s3.ListObjectsV2Async(new ListObjectsV2Request { BucketName = h.Bucket, Prefix = w.Prefix }, Ct), "list");
        await S3Outcome.Denied(() => s3.DeleteObjectAsync(h.Bucket, w.Prefix + "doc.txt", Ct), "delete");
        await h.DeniedPutAsync(key, w.Prefix + "new.txt", "put");
        await S3Outcome.Denied(() => s3.InitiateMultipartUploadAsync(h.Bucket, w.Prefix + "big.bin", Ct), "multipart");
        Assert.Equal(HttpStatusCode.Forbidden, (await h.GetUrlAsync(h.Presign("PUT", w.Prefix + "new.txt", key), HttpMethod.Put, "x")).Status);
        Assert.Equal("read me", await h.ReadAsAdminAsync(w.Prefix + "doc.txt"));
        Assert.Null(await h.ReadAsAdminAsync(w.Prefix + "new.txt"));
    }

    [Fact]
    public async Task Hypha_ids_with_a_pipe_work_end_to_end_and_pipe_and_hyphen_ids_stay_apart()
    {
        await using var h = await RgwBackendHarness.StartAsync();
        var random = RgwBackendHarness.RandomPart();
        var personal = h.NewWorkspace("user-github|", random);          // ws-user-github|<r>, as Hypha names personal workspaces
        var piped = h.NewWorkspace("a", random, "|b");                   // ws-a<r>|b
        var hyphened = h.NewWorkspace("a", random, "-b");                // ws-a<r>-b
        var personalKey = await h.IdentityAsync(personal);
        var pipedKey = await h.IdentityAsync(piped);
        var hyphenKey = await h.IdentityAsync(hyphened);

        Assert.NotEqual(BackendNames.For(piped, CephRgwNames.Max).Identity, BackendNames.For(hyphened, CephRgwNames.Max).Identity);
        Assert.NotNull(await h.AdminOps.GetUserAsync(BackendNames.For(piped, CephRgwNames.Max).Identity, Ct));
        Assert.NotNull(await h.AdminOps.GetUserAsync(BackendNames.For(hyphened, CephRgwNames.Max).Identity, Ct));

        using (var s3 = h.Client(personalKey))
        {
            await s3.PutObjectAsync(new PutObjectRequest { BucketName = h.Bucket, Key = personal.Prefix + "notes/n.txt", ContentBody = "pipe ok" }, Ct);
            var listed = await s3.ListObjectsV2Async(new ListObjectsV2Request { BucketName = h.Bucket, Prefix = personal.Prefix }, Ct);
            Assert.Equal([personal.Prefix + "notes/n.txt"], listed.S3Objects.Select(o => o.Key));
        }

        Assert.Equal((HttpStatusCode.OK, "pipe ok"), await h.GetUrlAsync(h.Presign("GET", personal.Prefix + "notes/n.txt", personalKey)));
        // (Not read back as the admin: on RGW the bucket owner may list and delete, but not read, objects another user wrote.)

        await h.PutAsAdminAsync(piped.Prefix + "p.txt", "piped");
        await h.PutAsAdminAsync(hyphened.Prefix + "h.txt", "hyphened");
        using var pipedS3 = h.Client(pipedKey);
        using var hyphenS3 = h.Client(hyphenKey);
        await S3Outcome.Allowed(() => pipedS3.GetObjectAsync(h.Bucket, piped.Prefix + "p.txt", Ct), "piped own");
        await S3Outcome.Allowed(() => hyphenS3.GetObjectAsync(h.Bucket, hyphened.Prefix + "h.txt", Ct), "hyphened own");
        await S3Outcome.Denied(() => pipedS3.GetObjectAsync(h.Bucket, hyphened.Prefix + "h.txt", Ct), "piped → hyphened");
        await S3Outcome.Denied(() => hyphenS3.GetObjectAsync(h.Bucket, piped.Prefix + "p.txt", Ct), "hyphened → piped");
        await S3Outcome.Denied(() => pipedS3.ListObjectsV2Async(new ListObjectsV2Request { BucketName = h.Bucket, Prefix = hyphened.Prefix }, Ct), "piped lists hyphened");
        await h.DeniedPutAsync(hyphenKey, piped.Prefix + "x", "hyphened writes piped");
        await h.DeniedPutAsync(pipedKey, hyphened.Prefix + "x", "piped writes hyphened");
    }
}

internal static class RgwTestServerNames
{
    public static string Bucket(string purpose) => Testing.S3.RgwTestServer.UniqueBucketName(purpose);
}

internal static class CephRgwNames
{
    public const int Max = Storage.CephRgw.CephRgwStorageBackend.MaxNameLength;
}
