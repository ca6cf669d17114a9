using System.Net;
using Amazon.S3;
using Amazon.S3.Model;
using WorkspaceStorage.Core.Signing;
using WorkspaceStorage.Core.Workspaces;
using WorkspaceStorage.Storage.Backends;
using WorkspaceStorage.Storage.Tests.CephRgw;

namespace WorkspaceStorage.Storage.Tests.Contract;

/// <summary>What the shared contract needs of a backend under test, with its real server behind it.</summary>
internal interface IBackendContractHarness : IAsyncDisposable
{
    IStorageBackend Backend { get; }

    BackendCallCounter Counter { get; }

    string Bucket { get; }

    /// <summary>A fresh workspace id "ws-{stem}{random}{suffix}", removed afterwards.</summary>
    WorkspaceId NewWorkspace(string stem, string? random = null, string suffix = "");

    /// <summary>One more long-lived key for W, the way the operator gets one from this backend.</summary>
    Task<AwsCredentials> NewKeyAsync(WorkspaceId workspace);

    AmazonS3Client Client(AwsCredentials credentials);

    Task PutAsAdminAsync(string key, string content);

    Task<List<string>> KeysAsAdminAsync(string prefix);

    /// <summary>Whether the server still knows W's identity (user), asked as the admin.</summary>
    Task<bool> IdentityExistsAsync(WorkspaceId workspace);

    /// <summary>Gives W's identity, behind the backend's back, an extra policy allowing every S3 action everywhere.</summary>
    Task WidenBehindBackAsync(WorkspaceId workspace);

    /// <summary>Null when the server evaluates ListBucket's <c>s3:prefix</c> condition; otherwise why not (listing checks skip with it).</summary>
    string? ListConfinementLimit { get; }

    /// <summary>Null when the server accepts a signed list with a prefix such as "W/"; otherwise why not.</summary>
    string? PrefixListLimit { get; }

    /// <summary>Null when the server intersects a session with its session policy; otherwise why not.</summary>
    string? SessionPolicyLimit { get; }
}

/// <summary>
/// The backends' shared contract: the same attempts against every backend with a real server behind it (RGW, and AWS
/// on moto), so "W's identity reaches bucket/W/ and nothing else" is proven per backend, not assumed from another.
/// Where a server cannot evaluate a rule, the check says so (skipped, naming the server's limit) instead of passing.
/// </summary>
public abstract class BackendContract
{
    private protected static CancellationToken Ct => TestContext.Current.CancellationToken;

    private protected abstract Task<IBackendContractHarness> StartAsync();

    [Fact]
    public async Task Contract_ensuring_twice_reports_Unchanged_with_zero_writes_and_a_narrowed_access_level_settles_too()
    {
        await using var h = await StartAsync();
        var w = h.NewWorkspace("idem");
        Assert.Equal(EnsureOutcome.Created, await h.Backend.EnsureIdentityAsync(w, AccessLevel.ReadWrite, Ct));
        var key = await h.NewKeyAsync(w);

        h.Counter.Reset();
        Assert.Equal(EnsureOutcome.Unchanged, await h.Backend.EnsureIdentityAsync(w, AccessLevel.ReadWrite, Ct));
        Assert.Equal(EnsureOutcome.Unchanged, await h.Backend.EnsureKeyAsync(w, key, Ct));
        Assert.Equal(0, h.Counter.Writes);

        Assert.Equal(EnsureOutcome.Updated, await h.Backend.EnsureIdentityAsync(w, AccessLevel.ReadOnly, Ct));
        h.Counter.Reset();
        Assert.Equal(EnsureOutcome.Unchanged, await h.Backend.EnsureIdentityAsync(w, AccessLevel.ReadOnly, Ct));
        Assert.Equal(0, h.Counter.Writes);
        await DeniedPutAsync(h, key, w.Prefix + "x", "put after narrowing to ReadOnly");
    }

    [Fact]
    public async Task Contract_keys_of_A_are_refused_on_B_on_a_longer_id_sharing_As_start_and_on_top_level_objects()
    {
        await using var h = await StartAsync();
        var random = RgwBackendHarness.RandomPart();
        var a = h.NewWorkspace("a", random);          // ws-a<r>
        var ab = h.NewWorkspace("a", random, "b");    // ws-a<r>b: A's id is a prefix of this one's
        var b = h.NewWorkspace("b");
        await h.Backend.EnsureIdentityAsync(a, AccessLevel.ReadWrite, Ct);
        await h.Backend.EnsureIdentityAsync(ab, AccessLevel.ReadWrite, Ct);
        var key = await h.NewKeyAsync(a);
        await h.PutAsAdminAsync(ab.Prefix + "secret.txt", "ab secret");
        await h.PutAsAdminAsync(b.Prefix + "secret.txt", "b secret");
        await h.PutAsAdminAsync(a.Value + "-sibling.txt", "top-level object sharing A's start");
        using var s3 = h.Client(key);

        await S3Outcome.Allowed(() => s3.PutObjectAsync(new PutObjectRequest { BucketName = h.Bucket, Key = a.Prefix + "mine.txt", ContentBody = "mine" }, Ct), "put A/");
        await S3Outcome.Allowed(() => s3.GetObjectAsync(h.Bucket, a.Prefix + "mine.txt", Ct), "get A/");
        foreach (var victim in new[] { ab.Prefix + "secret.txt", b.Prefix + "secret.txt", a.Value + "-sibling.txt" })
        {
            await S3Outcome.Denied(() => s3.GetObjectAsync(h.Bucket, victim, Ct), "get " + victim);
            await S3Outcome.Denied(() => s3.DeleteObjectAsync(h.Bucket, victim, Ct), "delete " + victim);
            await DeniedPutAsync(h, key, victim, "put " + victim);
        }

        await S3Outcome.Denied(() => s3.PutBucketAsync(Testing.S3.RgwTestServer.UniqueBucketName("evil"), Ct), "create a bucket");
        await S3Outcome.Denied(() => s3.DeleteBucketAsync(h.Bucket, Ct), "delete the shared bucket");
        await S3Outcome.Allowed(() => s3.DeleteObjectAsync(h.Bucket, a.Prefix + "mine.txt", Ct), "delete A/");
        Assert.Equal([ab.Prefix + "secret.txt"], await h.KeysAsAdminAsync(ab.Prefix));
        Assert.Equal([b.Prefix + "secret.txt"], await h.KeysAsAdminAsync(b.Prefix));
    }

    [Fact]
    public async Task Contract_listing_reaches_W_only_not_the_bucket_root_nor_another_prefix()
    {
        await using var h = await StartAsync();
        var random = RgwBackendHarness.RandomPart();
        var a = h.NewWorkspace("la", random);
        var ab = h.NewWorkspace("la", random, "b");
        await h.Backend.EnsureIdentityAsync(a, AccessLevel.ReadWrite, Ct);
        var key = await h.NewKeyAsync(a);
        await h.PutAsAdminAsync(ab.Prefix + "secret.txt", "ab secret");
        using var s3 = h.Client(key);

        var root = await S3Outcome.Of(() => s3.ListObjectsV2Async(new ListObjectsV2Request { BucketName = h.Bucket }, Ct));
        if (root.Status == HttpStatusCode.OK && h.ListConfinementLimit is { } limit)
        {
            Assert.Skip($"{limit} (measured here: listing the bucket root with A's key was allowed)");
        }

        Assert.True(root.Status == HttpStatusCode.Forbidden, $"list bucket root: expected 403, got {(int)root.Status} {root.Code}");
        await S3Outcome.Denied(() => s3.ListObjectsV2Async(new ListObjectsV2Request { BucketName = h.Bucket, Prefix = a.Value }, Ct), "list A's id without its slash");
        await S3Outcome.Denied(() => s3.ListObjectsV2Async(new ListObjectsV2Request { BucketName = h.Bucket, Prefix = ab.Prefix }, Ct), "list AB/");
        await S3Outcome.Allowed(() => s3.ListObjectsV2Async(new ListObjectsV2Request { BucketName = h.Bucket, Prefix = a.Prefix }, Ct), "list A/");
    }

    [Fact]
    public async Task Contract_ReadOnly_identity_gets_but_cannot_put_or_delete()
    {
        await using var h = await StartAsync();
        var w = h.NewWorkspace("ro");
        await h.Backend.EnsureIdentityAsync(w, AccessLevel.ReadOnly, Ct);
        var key = await h.NewKeyAsync(w);
        await h.PutAsAdminAsync(w.Prefix + "doc.txt", "read me");
        using var s3 = h.Client(key);

        await S3Outcome.Allowed(() => s3.GetObjectAsync(h.Bucket, w.Prefix + "doc.txt", Ct), "get");
        await S3Outcome.Denied(() => s3.DeleteObjectAsync(h.Bucket, w.Prefix + "doc.txt", Ct), "delete");
        await DeniedPutAsync(h, key, w.Prefix + "new.txt", "put");
        Assert.Equal([w.Prefix + "doc.txt"], await h.KeysAsAdminAsync(w.Prefix));
    }

    [Fact]
    public async Task Contract_a_policy_widened_behind_the_backends_back_is_repaired_and_the_key_is_confined_again()
    {
        await using var h = await StartAsync();
        var w = h.NewWorkspace("drift");
        var other = h.NewWorkspace("driftother");
        await h.Backend.EnsureIdentityAsync(w, AccessLevel.ReadWrite, Ct);
        var key = await h.NewKeyAsync(w);
        await h.WidenBehindBackAsync(w);
        await S3Outcome.Allowed(() => PutAsync(h, key, other.Prefix + "before-repair.txt"), "the widened key reaches another prefix (the drift is real)");

        Assert.Equal(EnsureOutcome.Updated, await h.Backend.EnsureIdentityAsync(w, AccessLevel.ReadWrite, Ct));
        await DeniedPutAsync(h, key, other.Prefix + "after-repair.txt", "put on another prefix after the repair");
        await S3Outcome.Allowed(() => PutAsync(h, key, w.Prefix + "ok.txt"), "put W/ after the repair");
        h.Counter.Reset();
        Assert.Equal(EnsureOutcome.Unchanged, await h.Backend.EnsureIdentityAsync(w, AccessLevel.ReadWrite, Ct));
        Assert.Equal(0, h.Counter.Writes);
    }

    [Fact]
    public async Task Contract_rotation_both_keys_work_then_the_revoked_one_is_refused_and_the_new_one_works()
    {
        await using var h = await StartAsync();
        var w = h.NewWorkspace("rot");
        await h.Backend.EnsureIdentityAsync(w, AccessLevel.ReadWrite, Ct);
        var oldKey = await h.NewKeyAsync(w);
        var newKey = await h.NewKeyAsync(w);
        Assert.Equal(new[] { oldKey.AccessKeyId, newKey.AccessKeyId }.Order(StringComparer.Ordinal),
            (await h.Backend.ListKeysAsync(w, Ct)).Order(StringComparer.Ordinal));
        await S3Outcome.Allowed(() => PutAsync(h, oldKey, w.Prefix + "old.txt"), "old key put");
        await S3Outcome.Allowed(() => PutAsync(h, newKey, w.Prefix + "new.txt"), "new key put");

        Assert.Equal(EnsureOutcome.Deleted, await h.Backend.RevokeKeyAsync(w, oldKey.AccessKeyId, Ct));
        Assert.Equal(EnsureOutcome.Unchanged, await h.Backend.RevokeKeyAsync(w, oldKey.AccessKeyId, Ct));
        Assert.Equal([newKey.AccessKeyId], await h.Backend.ListKeysAsync(w, Ct));
        var (status, _) = await S3Outcome.Of(() => PutAsync(h, oldKey, w.Prefix + "late.txt"));
        Assert.Equal(HttpStatusCode.Forbidden, status);
        await S3Outcome.Allowed(() => PutAsync(h, newKey, w.Prefix + "after.txt"), "new key put after revoke");
    }

    [Fact]
    public async Task Contract_temporary_credentials_expire_within_the_lifetime_and_reach_W_only()
    {
        await using var h = await StartAsync();
        var w = h.NewWorkspace("tmp");
        var other = h.NewWorkspace("tmpother");
        await h.Backend.EnsureIdentityAsync(w, AccessLevel.ReadWrite, Ct);
        await h.PutAsAdminAsync(other.Prefix + "secret.txt", "other secret");

        var before = DateTimeOffset.UtcNow;
        var issued = await h.Backend.IssueTemporaryCredentialsAsync(w, AccessLevel.ReadWrite, TimeSpan.FromSeconds(60), Ct);
        Assert.NotNull(issued.Credentials.SessionToken);
        Assert.InRange(issued.Expiration, before.AddSeconds(900 - 5), DateTimeOffset.UtcNow.AddSeconds(900 + 5)); // raised to STS's 900 s minimum
        Assert.DoesNotContain(issued.Credentials.SecretAccessKey, issued.Credentials.ToString(), StringComparison.Ordinal);

        await S3Outcome.Allowed(() => PutAsync(h, issued.Credentials, w.Prefix + "t.txt"), "session put W/");
        using var s3 = h.Client(issued.Credentials);
        await S3Outcome.Allowed(() => s3.GetObjectAsync(h.Bucket, w.Prefix + "t.txt", Ct), "session get W/");
        await S3Outcome.Denied(() => s3.GetObjectAsync(h.Bucket, other.Prefix + "secret.txt", Ct), "session get another prefix");
        await DeniedPutAsync(h, issued.Credentials, other.Prefix + "secret.txt", "session put another prefix");
    }

    [Fact]
    public async Task Contract_a_ReadOnly_session_of_a_ReadWrite_identity_cannot_write()
    {
        await using var h = await StartAsync();
        var w = h.NewWorkspace("narrow");
        await h.Backend.EnsureIdentityAsync(w, AccessLevel.ReadWrite, Ct);
        var issued = await h.Backend.IssueTemporaryCredentialsAsync(w, AccessLevel.ReadOnly, TimeSpan.FromMinutes(15), Ct);

        var put = await S3Outcome.Of(() => PutAsync(h, issued.Credentials, w.Prefix + "x.txt"));
        if (put.Status == HttpStatusCode.OK && h.SessionPolicyLimit is { } limit)
        {
            Assert.Skip($"{limit} (measured here: a ReadOnly session of a ReadWrite role could put)");
        }

        Assert.True(put.Status == HttpStatusCode.Forbidden, $"ReadOnly session put: expected 403, got {(int)put.Status} {put.Code}");
    }

    [Fact]
    public async Task Contract_delete_with_data_removes_the_identity_and_Ws_objects_but_not_a_longer_id_sharing_its_start()
    {
        await using var h = await StartAsync();
        var random = RgwBackendHarness.RandomPart();
        var w = h.NewWorkspace("del", random);
        var wx = h.NewWorkspace("del", random, "b");
        await h.Backend.EnsureIdentityAsync(w, AccessLevel.ReadWrite, Ct);
        var key = await h.NewKeyAsync(w);
        await S3Outcome.Allowed(() => PutAsync(h, key, w.Prefix + "deep/a.txt"), "put W/");
        await h.PutAsAdminAsync(wx.Prefix + "keep.txt", "keep");

        try
        {
            Assert.Equal(EnsureOutcome.Deleted, await h.Backend.DeleteWorkspaceAsync(w, DataDeletion.Delete, Ct));
        }
        catch (BackendAuthenticationException ex) when (ex.ErrorCode == "SignatureDoesNotMatch" && h.PrefixListLimit is { } limit)
        {
            // The identity goes before the data: that half is checked, then the data half is reported as unproven here.
            Assert.False(await h.IdentityExistsAsync(w));
            Assert.Equal(HttpStatusCode.Forbidden, (await S3Outcome.Of(() => PutAsync(h, key, w.Prefix + "late.txt"))).Status);
            Assert.Skip($"identity removal checked; the objects' removal is not: {limit}");
        }

        Assert.Equal(EnsureOutcome.Unchanged, await h.Backend.DeleteWorkspaceAsync(w, DataDeletion.Delete, Ct));

        Assert.False(await h.IdentityExistsAsync(w));
        Assert.Empty(await h.Backend.ListKeysAsync(w, Ct));
        Assert.Equal(HttpStatusCode.Forbidden, (await S3Outcome.Of(() => PutAsync(h, key, w.Prefix + "late.txt"))).Status);
        Assert.Empty(await h.KeysAsAdminAsync(w.Prefix));
        Assert.Equal([wx.Prefix + "keep.txt"], await h.KeysAsAdminAsync(wx.Prefix));
    }

    [Fact]
    public async Task Contract_delete_with_Retain_removes_the_identity_and_keeps_the_data_for_a_new_identity()
    {
        await using var h = await StartAsync();
        var w = h.NewWorkspace("retain");
        await h.Backend.EnsureIdentityAsync(w, AccessLevel.ReadWrite, Ct);
        var key = await h.NewKeyAsync(w);
        await S3Outcome.Allowed(() => PutAsync(h, key, w.Prefix + "kept.txt"), "put W/");

        Assert.Equal(EnsureOutcome.Deleted, await h.Backend.DeleteWorkspaceAsync(w, DataDeletion.Retain, Ct));
        Assert.False(await h.IdentityExistsAsync(w));
        Assert.Equal([w.Prefix + "kept.txt"], await h.KeysAsAdminAsync(w.Prefix));

        Assert.Equal(EnsureOutcome.Created, await h.Backend.EnsureIdentityAsync(w, AccessLevel.ReadWrite, Ct));
        var again = await h.NewKeyAsync(w);
        using var s3 = h.Client(again);
        await S3Outcome.Allowed(() => s3.GetObjectAsync(h.Bucket, w.Prefix + "kept.txt", Ct), "the new identity reads the retained data");
    }

    private static async Task PutAsync(IBackendContractHarness h, AwsCredentials credentials, string key)
    {
        // A client of its own per attempt: a refused PUT can leave an unread body on a kept-alive connection.
        using var s3 = h.Client(credentials);
        await s3.PutObjectAsync(new PutObjectRequest { BucketName = h.Bucket, Key = key, ContentBody = "content of " + key }, Ct);
    }

    private static Task DeniedPutAsync(IBackendContractHarness h, AwsCredentials credentials, string key, string what) =>
        S3Outcome.Denied(() => PutAsync(h, credentials, key), what);
}
