using WorkspaceStorage.Core.Policies;
using WorkspaceStorage.Storage.Backends;

namespace WorkspaceStorage.Storage.Tests.S3;

/// <summary>
/// The operator's CORS rule on a bucket it shares, against the real Ceph RGW: known by its ID, merged among the
/// bucket's other rules (an admin's, another StorageBackend's), removed on its own, and not written again when there.
/// Requests are counted by the S3 client's call observer.
/// </summary>
public sealed class BucketCorsRgwTests
{
    private static CancellationToken Cancel => RgwS3Context.Cancel;

    private static readonly BucketCorsRule AdminRule = new(["https://admin.example.org"], ["GET"], ["authorization"], ["x-amz-request-id"], 60);
    private static readonly BucketCorsRule AdminRuleWithId = new(["https://tools.example.org"], ["GET", "PUT"], [], [], null, "admin-tools");

    [Fact]
    public async Task An_admins_rules_are_kept_through_ensure_change_and_remove()
    {
        await using var s3 = await RgwS3Context.CreateAsync();
        await s3.Admin.PutBucketCorsAsync([AdminRule, AdminRuleWithId], Cancel);
        var ours = BucketCorsRule.Hypha(["*"], BucketCorsRule.OperatorRuleId("local-ceph"));

        Assert.Equal(EnsureOutcome.Created, await s3.Bucket.EnsureCorsAsync(ours, Cancel));
        Assert.Equal([AdminRule, AdminRuleWithId, ours], await s3.Admin.GetBucketCorsAsync(Cancel));

        // Changed origins replace our rule where it stands; the admin's stay as they were.
        var narrowed = BucketCorsRule.Hypha(["https://app.example.org"], ours.Id);
        Assert.Equal(EnsureOutcome.Updated, await s3.Bucket.EnsureCorsAsync(narrowed, Cancel));
        Assert.Equal([AdminRule, AdminRuleWithId, narrowed], await s3.Admin.GetBucketCorsAsync(Cancel));

        // Removed: only ours goes.
        s3.Calls.Reset();
        Assert.Equal(EnsureOutcome.Deleted, await s3.Bucket.RemoveCorsAsync(ours.Id!, Cancel));
        Assert.Equal([AdminRule, AdminRuleWithId], await s3.Admin.GetBucketCorsAsync(Cancel));
        Assert.Equal(["PutBucketCors"], s3.Calls.Calls.Where(c => c.IsWrite).Select(c => c.Operation));

        // Already gone: one read, no write.
        s3.Calls.Reset();
        Assert.Equal(EnsureOutcome.Unchanged, await s3.Bucket.RemoveCorsAsync(ours.Id!, Cancel));
        Assert.Equal(0, s3.Calls.Writes);
    }

    [Fact]
    public async Task A_rule_that_only_looks_like_ours_is_not_ours()
    {
        await using var s3 = await RgwS3Context.CreateAsync();
        var ours = BucketCorsRule.Hypha(["*"], BucketCorsRule.OperatorRuleId("b"));
        // The same rule without an id, and one under the id of a StorageBackend whose name extends ours ("b" vs "bb").
        var lookalike = BucketCorsRule.Hypha(["*"]);
        var longerName = BucketCorsRule.Hypha(["*"], BucketCorsRule.OperatorRuleId("bb"));
        await s3.Admin.PutBucketCorsAsync([lookalike, longerName], Cancel);

        Assert.Equal(EnsureOutcome.Created, await s3.Bucket.EnsureCorsAsync(ours, Cancel));
        Assert.Equal(EnsureOutcome.Deleted, await s3.Bucket.RemoveCorsAsync(ours.Id!, Cancel));
        Assert.Equal([lookalike, longerName], await s3.Admin.GetBucketCorsAsync(Cancel));
    }

    [Fact]
    public async Task Two_backends_with_different_origins_keep_both_rules_and_a_resync_writes_nothing()
    {
        await using var s3 = await RgwS3Context.CreateAsync();
        var first = BucketCorsRule.Hypha(["https://a.example.org"], BucketCorsRule.OperatorRuleId("backend-a"));
        var second = BucketCorsRule.Hypha(["https://b.example.org"], BucketCorsRule.OperatorRuleId("backend-b"));

        Assert.Equal(EnsureOutcome.Created, await s3.Bucket.EnsureCorsAsync(first, Cancel));
        Assert.Equal(EnsureOutcome.Created, await s3.Bucket.EnsureCorsAsync(second, Cancel));

        s3.Calls.Reset();
        for (var resync = 0; resync < 3; resync++)
        {
            Assert.Equal(EnsureOutcome.Unchanged, await s3.Bucket.EnsureCorsAsync(first, Cancel));
            Assert.Equal(EnsureOutcome.Unchanged, await s3.Bucket.EnsureCorsAsync(second, Cancel));
        }

        Assert.Equal(0, s3.Calls.Writes);
        Assert.Equal(6, s3.Calls.Reads);
        Assert.Equal([first, second], await s3.Admin.GetBucketCorsAsync(Cancel));
    }

    [Fact]
    public async Task Removing_the_last_rule_deletes_the_configuration()
    {
        await using var s3 = await RgwS3Context.CreateAsync();
        var ours = BucketCorsRule.Hypha(["*"], BucketCorsRule.OperatorRuleId("solo"));
        await s3.Bucket.EnsureCorsAsync(ours, Cancel);

        s3.Calls.Reset();
        Assert.Equal(EnsureOutcome.Deleted, await s3.Bucket.RemoveCorsAsync(ours.Id!, Cancel));
        Assert.Equal(["DeleteBucketCors"], s3.Calls.Calls.Where(c => c.IsWrite).Select(c => c.Operation));
        Assert.Empty(await s3.Admin.GetBucketCorsAsync(Cancel));
    }
}
