using System.Net;
using Amazon.S3.Model;
using WorkspaceStorage.Core.Signing;
using WorkspaceStorage.Core.Workspaces;
using WorkspaceStorage.Storage.CephRgw;
using WorkspaceStorage.Storage.Iam;

namespace WorkspaceStorage.Storage.Tests.CephRgw;

/// <summary>STS credentials from the backend expire, stay inside W, and can be narrowed but never widened.</summary>
public sealed class RgwTemporaryCredentialsTests
{
    private static CancellationToken Ct => RgwBackendHarness.Ct;

    [Fact]
    public async Task Temporary_credentials_expire_within_the_requested_lifetime_and_work_for_W_only()
    {
        await using var h = await RgwBackendHarness.StartAsync();
        var w = h.NewWorkspace("tmp");
        var w2 = h.NewWorkspace("tmpother");
        await h.IdentityAsync(w);
        await h.PutAsAdminAsync(w2.Prefix + "secret.txt", "w2 secret");

        var before = DateTimeOffset.UtcNow;
        var issued = await h.Backend.IssueTemporaryCredentialsAsync(w, AccessLevel.ReadWrite, TimeSpan.FromSeconds(1200), Ct);
        var after = DateTimeOffset.UtcNow;
        TestContext.Current.TestOutputHelper?.WriteLine($"AssumeRole took {(after - before).TotalMilliseconds:0} ms");
        Assert.NotNull(issued.Credentials.SessionToken);
        Assert.InRange(issued.Expiration, before.AddSeconds(1200 - 5), after.AddSeconds(1200 + 5));
        Assert.DoesNotContain(issued.Credentials.SecretAccessKey, issued.Credentials.ToString(), StringComparison.Ordinal);

        using var s3 = h.Client(issued.Credentials);
        await s3.PutObjectAsync(new PutObjectRequest { BucketName = h.Bucket, Key = w.Prefix + "t.txt", ContentBody = "temp" }, Ct);
        using (var got = await s3.GetObjectAsync(h.Bucket, w.Prefix + "t.txt", Ct))
        {
            Assert.Equal("temp", await new StreamReader(got.ResponseStream).ReadToEndAsync(Ct));
        }

        await S3Outcome.Allowed(() => s3.ListObjectsV2Async(new ListObjectsV2Request { BucketName = h.Bucket, Prefix = w.Prefix }, Ct), "list W/");
        await S3Outcome.Denied(() => s3.ListObjectsV2Async(new ListObjectsV2Request { BucketName = h.Bucket }, Ct), "list root");
        await S3Outcome.Denied(() => s3.GetObjectAsync(h.Bucket, w2.Prefix + "secret.txt", Ct), "get W2");
        await S3Outcome.Denied(() => s3.PutBucketAsync(RgwTestServerNames.Bucket("tmpevil"), Ct), "create bucket");
        await h.DeniedPutAsync(issued.Credentials, w2.Prefix + "secret.txt", "put W2");
        Assert.Equal("w2 secret", await h.ReadAsAdminAsync(w2.Prefix + "secret.txt"));

        // A presigned URL signed with the session (token in the query) is confined the same way.
        Assert.Equal((HttpStatusCode.OK, "temp"), await h.GetUrlAsync(h.Presign("GET", w.Prefix + "t.txt", issued.Credentials)));
        Assert.Equal(HttpStatusCode.Forbidden, (await h.GetUrlAsync(h.Presign("GET", w2.Prefix + "secret.txt", issued.Credentials))).Status);
    }

    [Fact]
    public async Task Lifetimes_under_900_seconds_are_raised_to_900_and_the_real_expiration_is_reported()
    {
        await using var h = await RgwBackendHarness.StartAsync();
        var w = h.NewWorkspace("short");
        await h.IdentityAsync(w);

        var before = DateTimeOffset.UtcNow;
        var issued = await h.Backend.IssueTemporaryCredentialsAsync(w, AccessLevel.ReadOnly, TimeSpan.FromSeconds(60), Ct);
        Assert.InRange(issued.Expiration, before.AddSeconds(900 - 5), DateTimeOffset.UtcNow.AddSeconds(900 + 5));
    }

    [Fact]
    public async Task ReadOnly_session_narrows_a_ReadWrite_identity()
    {
        await using var h = await RgwBackendHarness.StartAsync();
        var w = h.NewWorkspace("narrow");
        await h.IdentityAsync(w);
        await h.PutAsAdminAsync(w.Prefix + "doc.txt", "doc");

        var issued = await h.Backend.IssueTemporaryCredentialsAsync(w, AccessLevel.ReadOnly, TimeSpan.FromMinutes(15), Ct);
        using var s3 = h.Client(issued.Credentials);
        await S3Outcome.Allowed(() => s3.GetObjectAsync(h.Bucket, w.Prefix + "doc.txt", Ct), "get");
        await S3Outcome.Allowed(() => s3.ListObjectsV2Async(new ListObjectsV2Request { BucketName = h.Bucket, Prefix = w.Prefix }, Ct), "list");
        await S3Outcome.Denied(() => s3.DeleteObjectAsync(h.Bucket, w.Prefix + "doc.txt", Ct), "delete");
        await h.DeniedPutAsync(issued.Credentials, w.Prefix + "new.txt", "put");
        Assert.Equal("doc", await h.ReadAsAdminAsync(w.Prefix + "doc.txt"));
    }

    [Fact]
    public async Task ReadWrite_request_on_a_ReadOnly_identity_stays_ReadOnly()
    {
        await using var h = await RgwBackendHarness.StartAsync();
        var w = h.NewWorkspace("rocap");
        await h.IdentityAsync(w, AccessLevel.ReadOnly);
        var issued = await h.Backend.IssueTemporaryCredentialsAsync(w, AccessLevel.ReadWrite, TimeSpan.FromMinutes(15), Ct);
        await h.DeniedPutAsync(issued.Credentials, w.Prefix + "new.txt", "put with a ReadWrite session on a ReadOnly identity");
    }

    [Fact]
    public async Task A_session_policy_granting_another_workspace_or_the_whole_bucket_gives_nothing_outside_W()
    {
        await using var h = await RgwBackendHarness.StartAsync();
        var w = h.NewWorkspace("widen");
        var w2 = h.NewWorkspace("widenvictim");
        await h.IdentityAsync(w);
        await h.PutAsAdminAsync(w2.Prefix + "secret.txt", "w2 secret");
        await h.PutAsAdminAsync("top.txt", "top");
        var role = RgwNames.For(w, CephRgwStorageBackend.MaxNameLength).Role;

        // Built by hand, as an attacker who could call AssumeRole with any session policy would.
        var everything = """{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":["s3:*"],"Resource":["arn:aws:s3:::*"]}]}""";
        var otherWorkspace = $$"""{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":["s3:*"],"Resource":["arn:aws:s3:::{{h.Bucket}}","arn:aws:s3:::{{h.Bucket}}/{{w2.Value}}/*"]}]}""";
        foreach (var (name, policy) in new[] { ("whole bucket", everything), ("W2", otherWorkspace), ("none", (string?)null) })
        {
            var session = await h.Sts.AssumeRoleAsync($"arn:aws:iam:::role/{role}", "attack-" + RgwBackendHarness.RandomPart(), TimeSpan.FromSeconds(900), policy, Ct);
            using var s3 = h.Client(session.Credentials);
            await S3Outcome.Denied(() => s3.GetObjectAsync(h.Bucket, w2.Prefix + "secret.txt", Ct), name + ": get W2");
            await S3Outcome.Denied(() => s3.GetObjectAsync(h.Bucket, "top.txt", Ct), name + ": get bucket top");
            await S3Outcome.Denied(() => s3.ListObjectsV2Async(new ListObjectsV2Request { BucketName = h.Bucket }, Ct), name + ": list root");
            await S3Outcome.Denied(() => s3.ListObjectsV2Async(new ListObjectsV2Request { BucketName = h.Bucket, Prefix = w2.Prefix }, Ct), name + ": list W2");
            await S3Outcome.Denied(() => s3.DeleteObjectAsync(h.Bucket, w2.Prefix + "secret.txt", Ct), name + ": delete W2");
            await S3Outcome.Denied(() => s3.PutBucketAsync(RgwTestServerNames.Bucket("wide"), Ct), name + ": create bucket");
            await h.DeniedPutAsync(session.Credentials, w2.Prefix + "secret.txt", name + ": put W2");
        }

        Assert.Equal("w2 secret", await h.ReadAsAdminAsync(w2.Prefix + "secret.txt"));
        Assert.Equal("top", await h.ReadAsAdminAsync("top.txt"));
    }

    [Fact]
    public async Task Only_the_admin_may_assume_a_workspace_role_not_the_workspace_identity_itself()
    {
        await using var h = await RgwBackendHarness.StartAsync();
        var w = h.NewWorkspace("trust");
        var key = await h.IdentityAsync(w);
        var role = RgwNames.For(w, CephRgwStorageBackend.MaxNameLength).Role;
        using var http = new HttpClient();
        var userConnection = new RgwConnection(h.Server.Endpoint, h.Server.Region, key,
            new Http.SignedHttpSender(http, new SigV4Signer(), new Http.RetryOptions { MaxAttempts = 1 }, Backends.NullBackendCallObserver.Instance, "test"));
        var error = await Assert.ThrowsAnyAsync<Backends.StorageBackendException>(() =>
            new StsClient(userConnection.Query).AssumeRoleAsync($"arn:aws:iam:::role/{role}", "self-" + RgwBackendHarness.RandomPart(), TimeSpan.FromSeconds(900), null, Ct));
        Assert.Equal(403, error.StatusCode);
    }
}
