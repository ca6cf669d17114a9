using System.Net;
using System.Net.Http.Headers;
using System.Security.Cryptography;
using System.Text;
using WorkspaceStorage.Core.Signing;
using WorkspaceStorage.Storage.Backends;
using WorkspaceStorage.Storage.S3;
using WorkspaceStorage.Testing.S3;

namespace WorkspaceStorage.Storage.Tests.S3;

/// <summary>The S3 client against the real Ceph RGW (scripts/s3-test-server.sh); skipped with the reason when it is not running.</summary>
public sealed class S3ObjectClientRgwTests
{
    private static CancellationToken Cancel => TestContext.Current.CancellationToken;

    [Fact]
    public async Task Put_head_get_list_delete_round_trip()
    {
        await using var s3 = await RgwS3Context.CreateAsync();
        var data = Encoding.UTF8.GetBytes("hello, workspace");

        var etag = await s3.Admin.PutAsync("ws-a/docs/hello.txt", new MemoryStream(data), data.Length, "text/plain", Cancel);
        await s3.Admin.PutAsync("ws-a/top.bin", new MemoryStream([1, 2, 3]), 3, null, Cancel);

#pragma warning disable CA5351 // S3's ETag of a single-part object is its MD5
        Assert.Equal($"\"{Convert.ToHexStringLower(MD5.HashData(data))}\"", etag);
#pragma warning restore CA5351
        var head = await s3.Admin.HeadAsync("ws-a/docs/hello.txt", Cancel);
        Assert.NotNull(head);
        Assert.Equal(data.Length, head.ContentLength);
        Assert.Equal(etag, head.ETag);
        Assert.Equal("text/plain", head.ContentType);
        Assert.InRange(head.LastModified!.Value, DateTimeOffset.UtcNow.AddMinutes(-5), DateTimeOffset.UtcNow.AddMinutes(5));

        await using (var get = await s3.Admin.GetAsync("ws-a/docs/hello.txt", null, Cancel))
        {
            Assert.Equal(S3GetStatus.Ok, get.Status);
            Assert.Equal(data.Length, get.ContentLength);
            Assert.Equal(etag, get.ETag);
            Assert.Equal("bytes", get.AcceptRanges);
            Assert.Null(get.ContentRange);
            Assert.Equal(data, await ReadAll(get.Body));
        }

        var root = await s3.Admin.ListAsync("ws-a/", "/", null, null, Cancel);
        Assert.Equal(["ws-a/top.bin"], root.Objects.Select(o => o.Key));
        Assert.Equal(3, root.Objects[0].Size);
        Assert.Equal(["ws-a/docs/"], root.CommonPrefixes);
        Assert.Null(root.NextContinuationToken);

        await s3.Admin.DeleteAsync("ws-a/docs/hello.txt", Cancel);
        Assert.Null(await s3.Admin.HeadAsync("ws-a/docs/hello.txt", Cancel));
        await using var missing = await s3.Admin.GetAsync("ws-a/docs/hello.txt", null, Cancel);
        Assert.Equal(S3GetStatus.NotFound, missing.Status);
        Assert.False(missing.HasBody);
    }

    [Theory]
    [InlineData("ws-a/my file.txt")]
    [InlineData("ws-user-github|12345/a+b=c&d.txt")]
    [InlineData("ws-a/100% done/é 日本語 ~!*'().txt")]
    [InlineData("ws-a/q?x=1#frag;semi,comma")]
    public async Task Awkward_keys_survive_put_list_get_and_presign(string key)
    {
        await using var s3 = await RgwS3Context.CreateAsync();

        await s3.Admin.PutAsync(key, new MemoryStream([42]), 1, null, Cancel);

        var listed = await s3.Admin.ListAsync(key[..(key.IndexOf('/') + 1)], null, null, null, Cancel);
        Assert.Equal([key], listed.Objects.Select(o => o.Key));
        Assert.NotNull(await s3.Admin.HeadAsync(key, Cancel));
        var url = s3.Admin.Presign(HttpMethod.Get, key, TimeSpan.FromMinutes(5));
        Assert.Equal([42], await s3.Plain.GetByteArrayAsync(url, Cancel));
        Assert.Empty((await s3.Admin.DeleteManyAsync([key], Cancel)).Errors);
        Assert.Null(await s3.Admin.HeadAsync(key, Cancel));
    }

    [Fact]
    public async Task Listing_pages_follow_the_continuation_token()
    {
        await using var s3 = await RgwS3Context.CreateAsync();
        var keys = Enumerable.Range(0, 5).Select(i => $"ws-a/f{i}").ToList();
        foreach (var key in keys)
        {
            await s3.Admin.PutAsync(key, new MemoryStream([1]), 1, null, Cancel);
        }

        var first = await s3.Admin.ListAsync("ws-a/", null, null, 2, Cancel);
        Assert.Equal(2, first.Objects.Count);
        Assert.NotNull(first.NextContinuationToken);

        var seen = new List<string>();
        string? token = null;
        do
        {
            var page = await s3.Admin.ListAsync("ws-a/", null, token, 2, Cancel);
            seen.AddRange(page.Objects.Select(o => o.Key));
            token = page.NextContinuationToken;
        }
        while (token is not null);

        Assert.Equal(keys, seen);
    }

    [Fact]
    public async Task Range_get_returns_206_with_exactly_those_bytes_and_unsatisfiable_ranges_416()
    {
        await using var s3 = await RgwS3Context.CreateAsync();
        const int size = 2 * 1024 * 1024;
        await s3.Admin.PutAsync("ws-a/video.bin", new PatternStream(size), size, "application/octet-stream", Cancel);

        await using (var part = await s3.Admin.GetAsync("ws-a/video.bin", S3ByteRange.Between(10, 1033), Cancel))
        {
            Assert.Equal(S3GetStatus.PartialContent, part.Status);
            Assert.Equal(206, part.HttpStatus);
            Assert.Equal($"bytes 10-1033/{size}", part.ContentRange);
            Assert.Equal(1024, part.ContentLength);
            Assert.Equal(size, part.ObjectSize);
            var bytes = await ReadAll(part.Body);
            Assert.Equal(Enumerable.Range(10, 1024).Select(i => PatternStream.At(i, 7)), bytes);
        }

        await using (var tail = await s3.Admin.GetAsync("ws-a/video.bin", S3ByteRange.Last(5), Cancel))
        {
            Assert.Equal($"bytes {size - 5}-{size - 1}/{size}", tail.ContentRange);
            Assert.Equal(Enumerable.Range(size - 5, 5).Select(i => PatternStream.At(i, 7)), await ReadAll(tail.Body));
        }

        await using var beyond = await s3.Admin.GetAsync("ws-a/video.bin", S3ByteRange.StartingAt(size + 10), Cancel);
        Assert.Equal(S3GetStatus.RangeNotSatisfiable, beyond.Status);
        Assert.Equal(416, beyond.HttpStatus);
        Assert.False(beyond.HasBody);
    }

    [Fact]
    public async Task Presigned_get_and_put_work_with_a_plain_http_client()
    {
        await using var s3 = await RgwS3Context.CreateAsync();

        var putUrl = s3.Admin.Presign(HttpMethod.Put, "ws-a/uploaded.txt", TimeSpan.FromMinutes(5));
        using (var put = await s3.Plain.PutAsync(putUrl, new ByteArrayContent("via presigned put"u8.ToArray()), Cancel))
        {
            Assert.Equal(HttpStatusCode.OK, put.StatusCode);
        }

        var getUrl = s3.Admin.Presign(HttpMethod.Get, "ws-a/uploaded.txt", TimeSpan.FromMinutes(5));
        Assert.Equal("via presigned put", await s3.Plain.GetStringAsync(getUrl, Cancel));

        using var ranged = new HttpRequestMessage(HttpMethod.Get, getUrl);
        ranged.Headers.Range = new RangeHeaderValue(0, 2);
        using var rangedResponse = await s3.Plain.SendAsync(ranged, Cancel);
        Assert.Equal(HttpStatusCode.PartialContent, rangedResponse.StatusCode);
        Assert.Equal("via", await rangedResponse.Content.ReadAsStringAsync(Cancel));
    }

    [Fact]
    public async Task A_presigned_url_edited_to_another_key_is_refused()
    {
        await using var s3 = await RgwS3Context.CreateAsync();
        await s3.Admin.PutAsync("ws-a/mine.txt", new MemoryStream([1]), 1, null, Cancel);
        await s3.Admin.PutAsync("ws-b/theirs.txt", new MemoryStream([2]), 1, null, Cancel);

        var getUrl = s3.Admin.Presign(HttpMethod.Get, "ws-a/mine.txt", TimeSpan.FromMinutes(5));
        var putUrl = s3.Admin.Presign(HttpMethod.Put, "ws-a/mine.txt", TimeSpan.FromMinutes(5));

        using var edited = await s3.Plain.GetAsync(getUrl.Replace("ws-a/mine.txt", "ws-b/theirs.txt", StringComparison.Ordinal), Cancel);
        Assert.Equal(HttpStatusCode.Forbidden, edited.StatusCode);
        using var editedPut = await s3.Plain.PutAsync(putUrl.Replace("ws-a/mine.txt", "ws-b/theirs.txt", StringComparison.Ordinal),
            new ByteArrayContent([9]), Cancel);
        Assert.Equal(HttpStatusCode.Forbidden, editedPut.StatusCode);
        using var getWithPutUrl = await s3.Plain.GetAsync(putUrl, Cancel);
        Assert.Equal(HttpStatusCode.Forbidden, getWithPutUrl.StatusCode);

        await using var theirs = await s3.Admin.GetAsync("ws-b/theirs.txt", null, Cancel);
        Assert.Equal([2], await ReadAll(theirs.Body));
    }

    [Fact]
    public async Task An_expired_presigned_url_is_refused()
    {
        await using var s3 = await RgwS3Context.CreateAsync();
        await s3.Admin.PutAsync("ws-a/soon.txt", new MemoryStream([1]), 1, null, Cancel);
        var getUrl = s3.Admin.Presign(HttpMethod.Get, "ws-a/soon.txt", TimeSpan.FromSeconds(1));
        var putUrl = s3.Admin.Presign(HttpMethod.Put, "ws-a/soon.txt", TimeSpan.FromSeconds(1));

        await Task.Delay(TimeSpan.FromSeconds(2.2), Cancel); // the URLs' 1 s expiry passing: what is tested

        using var get = await s3.Plain.GetAsync(getUrl, Cancel);
        Assert.Equal(HttpStatusCode.Forbidden, get.StatusCode);
        using var put = await s3.Plain.PutAsync(putUrl, new ByteArrayContent([5]), Cancel);
        Assert.Equal(HttpStatusCode.Forbidden, put.StatusCode);
    }

    [Fact]
    public async Task Multipart_upload_through_presigned_part_urls()
    {
        await using var s3 = await RgwS3Context.CreateAsync();
        const string key = "ws-a/big/model.bin";
        int[] sizes = [5 * 1024 * 1024, 5 * 1024 * 1024, (int)(2.5 * 1024 * 1024)];
        var whole = new byte[sizes.Sum()];
        Random.Shared.NextBytes(whole);

        var uploadId = await s3.Admin.CreateMultipartUploadAsync(key, "application/octet-stream", Cancel);
        var parts = new List<S3CompletedPart>();
        var offset = 0;
        for (var i = 0; i < sizes.Length; i++)
        {
            var url = s3.Admin.PresignUploadPart(key, uploadId, i + 1, TimeSpan.FromMinutes(10));
            using var response = await s3.Plain.PutAsync(url, new ByteArrayContent(whole, offset, sizes[i]), Cancel);
            Assert.Equal(HttpStatusCode.OK, response.StatusCode);
            var etag = response.Headers.ETag?.Tag;
            Assert.False(string.IsNullOrEmpty(etag));
            parts.Add(new S3CompletedPart(i + 1, etag!.Trim('"'))); // clients often strip the quotes
            offset += sizes[i];
        }

        var listed = await s3.Admin.ListPartsAsync(key, uploadId, Cancel);
        Assert.NotNull(listed);
        Assert.Equal([1, 2, 3], listed.Select(p => p.PartNumber));
        Assert.Equal(sizes.Select(s => (long)s), listed.Select(p => p.Size));
        Assert.Null(await s3.Admin.ListPartsAsync("ws-b/other.bin", uploadId, Cancel)); // the upload does not belong to another key
        Assert.Contains(await s3.Admin.ListMultipartUploadsAsync("ws-a/", Cancel), u => u.UploadId == uploadId && u.Key == key);
        Assert.DoesNotContain(await s3.Admin.ListMultipartUploadsAsync("ws-b/", Cancel), u => u.UploadId == uploadId);

        parts.Reverse(); // completion sorts them
        var completed = await s3.Admin.CompleteMultipartUploadAsync(key, uploadId, parts, Cancel);

        Assert.EndsWith("-3\"", completed.ETag, StringComparison.Ordinal);
        await using var get = await s3.Admin.GetAsync(key, null, Cancel);
        Assert.Equal(whole.Length, get.ContentLength);
        Assert.Equal(SHA256.HashData(whole), await SHA256.HashDataAsync(get.Body, Cancel));
        Assert.Null(await s3.Admin.ListPartsAsync(key, uploadId, Cancel));
        Assert.False(await s3.Admin.AbortMultipartUploadAsync(key, uploadId, Cancel));
    }

    [Fact]
    public async Task Completing_with_a_wrong_etag_fails_with_the_s3_code()
    {
        await using var s3 = await RgwS3Context.CreateAsync();
        var uploadId = await s3.Admin.CreateMultipartUploadAsync("ws-a/x.bin", null, Cancel);
        await s3.Plain.PutAsync(s3.Admin.PresignUploadPart("ws-a/x.bin", uploadId, 1, TimeSpan.FromMinutes(5)), new ByteArrayContent([1, 2]), Cancel);

        var ex = await Assert.ThrowsAsync<S3RequestException>(() =>
            s3.Admin.CompleteMultipartUploadAsync("ws-a/x.bin", uploadId, [new S3CompletedPart(1, "0123456789abcdef0123456789abcdef")], Cancel));
        Assert.Equal("InvalidPart", ex.ErrorCode);
        Assert.Equal(400, ex.StatusCode);

        // RGW answers a completion of an unknown upload id with 500 ("already in progress"), so callers check with ListParts first.
        Assert.Null(await s3.Admin.ListPartsAsync("ws-a/x.bin", "2~no-such-upload", Cancel));
        Assert.True(await s3.Admin.AbortMultipartUploadAsync("ws-a/x.bin", uploadId, Cancel));
    }

    [Fact]
    public async Task Delete_many_sends_batches_of_the_given_size()
    {
        await using var s3 = await RgwS3Context.CreateAsync();
        var keys = Enumerable.Range(0, 7).Select(i => $"ws-a/batch/{i} file").ToList();
        foreach (var key in keys)
        {
            await s3.Admin.PutAsync(key, new MemoryStream([1]), 1, null, Cancel);
        }

        s3.Calls.Reset();
        var result = await s3.Admin.DeleteManyAsync(keys.Append("ws-a/batch/never-existed"), 3, Cancel);

        Assert.Equal(8, result.Deleted); // S3 counts a missing key as deleted
        Assert.Empty(result.Errors);
        Assert.Equal(3, s3.Calls.Calls.Count(c => c.Operation == "DeleteObjects"));
        Assert.Empty((await s3.Admin.ListAsync("ws-a/", null, null, null, Cancel)).Objects);
    }

    [Fact]
    public async Task Delete_prefix_leaves_a_sibling_with_a_longer_name_untouched()
    {
        await using var s3 = await RgwS3Context.CreateAsync();
        string[] victims = ["ws-a/1.txt", "ws-a/deep/2.txt", "ws-a/deep/er/3.txt"];
        string[] survivors = ["ws-ab/keep.txt", "ws-a", "ws-a.txt", "ws-a-b/keep.txt"];
        foreach (var key in victims.Concat(survivors))
        {
            await s3.Admin.PutAsync(key, new MemoryStream([1]), 1, null, Cancel);
        }

        var victimUpload = await s3.Admin.CreateMultipartUploadAsync("ws-a/pending.bin", null, Cancel);
        var survivorUpload = await s3.Admin.CreateMultipartUploadAsync("ws-ab/pending.bin", null, Cancel);

        var deleted = await s3.Bucket.DeletePrefixAsync("ws-a/", Cancel);

        Assert.Equal(3, deleted);
        var remaining = new List<string>();
        await foreach (var page in s3.Admin.ListAllAsync("", null, null, Cancel))
        {
            remaining.AddRange(page.Objects.Select(o => o.Key));
        }

        Assert.Equal(survivors.Order(StringComparer.Ordinal), remaining.Order(StringComparer.Ordinal));
        Assert.Null(await s3.Admin.ListPartsAsync("ws-a/pending.bin", victimUpload, Cancel));
        Assert.NotNull(await s3.Admin.ListPartsAsync("ws-ab/pending.bin", survivorUpload, Cancel));
        Assert.Equal(0, await s3.Bucket.DeletePrefixAsync("ws-a/", Cancel)); // again: nothing left, no error
    }

    [Fact]
    public async Task Delete_prefix_walks_every_page_while_deleting()
    {
        await using var s3 = await RgwS3Context.CreateAsync();
        for (var i = 0; i < 7; i++)
        {
            await s3.Admin.PutAsync($"ws-p/{i:D2}/f", new MemoryStream([1]), 1, null, Cancel);
        }

        await s3.Admin.PutAsync("ws-q/f", new MemoryStream([1]), 1, null, Cancel);
        var operations = new AdminBucketOperations(s3.Admin) { PageSize = 2 };
        s3.Calls.Reset();

        Assert.Equal(7, await operations.DeletePrefixAsync("ws-p/", Cancel));

        Assert.Equal(4, s3.Calls.Calls.Count(c => c.Operation == "DeleteObjects"));
        Assert.Empty((await s3.Admin.ListAsync("ws-p/", null, null, null, Cancel)).Objects);
        Assert.Single((await s3.Admin.ListAsync("ws-q/", null, null, null, Cancel)).Objects);
    }

    [Fact]
    public async Task Ensure_bucket_creates_once_then_reports_unchanged()
    {
        await using var s3 = await RgwS3Context.CreateAsync(createBucket: false);

        Assert.False(await s3.Admin.HeadBucketAsync(Cancel));
        Assert.Equal(EnsureOutcome.Created, await s3.Bucket.EnsureBucketAsync(Cancel));
        Assert.Equal(EnsureOutcome.Unchanged, await s3.Bucket.EnsureBucketAsync(Cancel));
        Assert.True(await s3.Admin.HeadBucketAsync(Cancel));
    }

    [Fact]
    public async Task Ensure_bucket_with_a_key_that_may_not_create_buckets()
    {
        await using var s3 = await RgwS3Context.CreateAsync();
        await using var user = await RgwTestUser.CreateAsync(s3, s3.Plain);

        // The bucket exists and the key may use it but not create buckets (Hypha crash-looped on this): Unchanged, and no write.
        await user.AllowListingAsync(s3.Location.Bucket);
        var onExisting = new AdminBucketOperations(s3.Factory.Create(s3.Location, user.Credentials));
        s3.Calls.Reset();
        Assert.Equal(EnsureOutcome.Unchanged, await onExisting.EnsureBucketAsync(Cancel));
        Assert.Equal(0, s3.Calls.Writes);

        // A bucket that does not exist and cannot be made: the refusal comes back with S3's code.
        var missing = s3.Location with { Bucket = RgwTestServer.UniqueBucketName("nope") };
        var onMissing = new AdminBucketOperations(s3.Factory.Create(missing, user.Credentials));
        var ex = await Assert.ThrowsAsync<S3RequestException>(() => onMissing.EnsureBucketAsync(Cancel));
        Assert.False(string.IsNullOrEmpty(ex.ErrorCode));
        Assert.False(await s3.Factory.Create(missing, s3.Server.Admin).HeadBucketAsync(Cancel));
    }

    [Fact]
    public async Task A_body_shorter_than_declared_is_refused_and_an_empty_object_is_fine()
    {
        await using var s3 = await RgwS3Context.CreateAsync();

        var ex = await Assert.ThrowsAsync<BackendValidationException>(() =>
            s3.Admin.PutAsync("ws-a/short.bin", new PatternStream(100), 200, null, Cancel));
        Assert.Equal("contentLength", ex.Field);
        Assert.Null(await s3.Admin.HeadAsync("ws-a/short.bin", Cancel));

        await s3.Admin.PutAsync("ws-a/empty.txt", Stream.Null, 0, "text/plain", Cancel);
        Assert.Equal(0, (await s3.Admin.HeadAsync("ws-a/empty.txt", Cancel))!.ContentLength);
        await using var get = await s3.Admin.GetAsync("ws-a/empty.txt", null, Cancel);
        Assert.Equal(S3GetStatus.Ok, get.Status);
        Assert.Empty(await ReadAll(get.Body));
    }

    [Fact]
    public async Task A_refused_upload_leaves_the_shared_connections_answering_the_next_request_correctly()
    {
        // RGW answers a refused PUT with 403 before reading its body; a connection that went back to the pool with
        // those bytes unread would answer the next request (any workspace's, on the same pool) 400 instead.
        await using var s3 = await RgwS3Context.CreateAsync();
        await using var user = await RgwTestUser.CreateAsync(s3, s3.Plain);
        var refused = s3.Factory.Create(s3.Location, user.Credentials);
        var data = new byte[16 * 1024];
        await s3.Admin.PutAsync("ws-a/kept.bin", new MemoryStream(data), data.Length, null, Cancel);

        for (var i = 0; i < 5; i++)
        {
            var denied = await Assert.ThrowsAnyAsync<StorageBackendException>(() =>
                refused.PutAsync($"ws-b/pwned-{i}.bin", new MemoryStream(data), data.Length, null, Cancel));
            Assert.Equal(403, denied.StatusCode);

            await using var next = await s3.Admin.GetAsync("ws-a/kept.bin", null, Cancel);
            Assert.Equal(S3GetStatus.Ok, next.Status);
            Assert.Equal(data.Length, (await ReadAll(next.Body)).Length);
            var head = await s3.Admin.HeadAsync("ws-a/kept.bin", Cancel);
            Assert.Equal(data.Length, head!.ContentLength);
        }

        Assert.Null(await s3.Admin.HeadAsync("ws-b/pwned-0.bin", Cancel));
    }

    [Fact]
    public async Task Wrong_credentials_are_refused_with_a_typed_error_without_the_secret()
    {
        await using var s3 = await RgwS3Context.CreateAsync();
        var stranger = s3.Factory.Create(s3.Location, new AwsCredentials("NOSUCHKEY", "stranger-secret-value"));
        var forger = s3.Factory.Create(s3.Location, s3.Server.Admin with { SecretAccessKey = "forged-secret-value" });

        var unknown = await Assert.ThrowsAnyAsync<StorageBackendException>(() => stranger.ListAsync("ws-a/", null, null, null, Cancel));
        var forged = await Assert.ThrowsAnyAsync<StorageBackendException>(() => forger.GetAsync("ws-a/x", null, Cancel));

        // RGW Pacific answers both with AccessDenied; AWS and MinIO name the cause (then BackendAuthenticationException).
        string[] refusals = ["InvalidAccessKeyId", "SignatureDoesNotMatch", "AccessDenied"];
        foreach (var ex in new[] { unknown, forged })
        {
            Assert.Equal(403, ex.StatusCode);
            Assert.Contains(ex.ErrorCode, refusals);
            Assert.False(ex.IsTransient);
        }

        Assert.DoesNotContain("stranger-secret-value", unknown.ToString(), StringComparison.Ordinal);
        Assert.DoesNotContain("forged-secret-value", forged.ToString(), StringComparison.Ordinal);
        Assert.DoesNotContain(s3.Server.Admin.SecretAccessKey, forged.ToString(), StringComparison.Ordinal);
    }

    private static async Task<byte[]> ReadAll(Stream body)
    {
        using var copy = new MemoryStream();
        await body.CopyToAsync(copy, Cancel);
        return copy.ToArray();
    }
}

/// <summary>Memory figures are process-wide, so this runs alone, after the parallel tests.</summary>
[CollectionDefinition(nameof(S3StreamingMemoryTests), DisableParallelization = true)]
public sealed class S3StreamingMemoryCollection;

[Collection(nameof(S3StreamingMemoryTests))]
public sealed class S3StreamingMemoryTests
{
    private static CancellationToken Cancel => TestContext.Current.CancellationToken;

    [Fact]
    public async Task Streaming_64_MiB_up_and_down_keeps_memory_flat()
    {
        await using var s3 = await RgwS3Context.CreateAsync();
        const long size = 64L * 1024 * 1024;
        var expectedHash = PatternStream.Hash(size);
        await s3.Admin.PutAsync("ws-a/warmup", new PatternStream(1024 * 1024), 1024 * 1024, null, Cancel); // JIT and pool warm-up

        using var sampler = new MemorySampler();
        var etag = await s3.Admin.PutAsync("ws-a/large.bin", new PatternStream(size), size, "application/octet-stream", Cancel);

        byte[] downloadedHash;
        await using (var get = await s3.Admin.GetAsync("ws-a/large.bin", null, Cancel))
        {
            Assert.Equal(size, get.ContentLength);
            Assert.Equal(etag, get.ETag);
            using var hash = IncrementalHash.CreateHash(HashAlgorithmName.SHA256);
            var buffer = new byte[81920];
            int read;
            while ((read = await get.Body.ReadAsync(buffer, Cancel)) > 0)
            {
                hash.AppendData(buffer, 0, read);
            }

            downloadedHash = hash.GetHashAndReset();
        }

        var (managedGrowth, workingSetGrowth, _) = sampler.Snapshot();
        TestContext.Current.TestOutputHelper?.WriteLine(
            $"64 MiB PUT+GET: peak managed growth {managedGrowth / 1024.0 / 1024:F1} MiB, peak working-set growth {workingSetGrowth / 1024.0 / 1024:F1} MiB");
        Assert.Equal(expectedHash, downloadedHash);
        Assert.True(managedGrowth < 16L * 1024 * 1024, $"managed heap grew by {managedGrowth} bytes");
        Assert.True(workingSetGrowth < 32L * 1024 * 1024, $"working set grew by {workingSetGrowth} bytes");
        await s3.Admin.DeleteAsync("ws-a/large.bin", Cancel);
    }
}
