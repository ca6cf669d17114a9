using System.Net;
using WorkspaceStorage.Core.Signing;
using WorkspaceStorage.Core.Workspaces;
using WorkspaceStorage.Storage.Aws;
using WorkspaceStorage.Storage.Backends;

namespace WorkspaceStorage.Storage.Tests.Aws;

/// <summary>Idempotent ensure, drift repair, IAM's two-key rule and deletion, against moto with IAM authorization on.</summary>
public sealed class AwsLifecycleTests
{
    private static CancellationToken Ct => AwsBackendHarness.Ct;

    [Fact]
    public async Task Ensuring_twice_makes_a_tagged_user_under_the_operators_path_then_reports_Unchanged_with_zero_writes()
    {
        await using var h = await AwsBackendHarness.StartAsync();
        var w = h.NewWorkspace("idem");
        Assert.Equal(EnsureOutcome.Created, await h.Backend.EnsureIdentityAsync(w, AccessLevel.ReadWrite, Ct));
        var key = await h.Backend.CreateKeyAsync(w, [], Ct);

        var user = await h.Iam.GetUserAsync(AwsBackendHarness.Names(w).Identity, Ct);
        Assert.NotNull(user);
        Assert.Equal(AwsBackendOptions.IamPath, user.Path);
        Assert.Contains(new Iam.IamTag(AwsStorageBackend.WorkspaceTag, w.Value), user.Tags);
        var role = await h.Iam.GetRoleAsync(AwsBackendHarness.Names(w).Role, Ct);
        Assert.NotNull(role);
        Assert.Contains(AwsBackendOptions.IamPath, role.Arn, StringComparison.Ordinal);

        h.Counter.Reset();
        Assert.Equal(EnsureOutcome.Unchanged, await h.Backend.EnsureIdentityAsync(w, AccessLevel.ReadWrite, Ct));
        Assert.Equal(EnsureOutcome.Unchanged, await h.Backend.EnsureKeyAsync(w, key, Ct));
        TestContext.Current.TestOutputHelper?.WriteLine($"second ensure + key: {h.Counter.Reads} reads, {h.Counter.Writes} writes");
        Assert.Equal(0, h.Counter.Writes);

        // A changed access level rewrites both policies, then settles again; the narrowed key can no longer write.
        Assert.Equal(EnsureOutcome.Updated, await h.Backend.EnsureIdentityAsync(w, AccessLevel.ReadOnly, Ct));
        h.Counter.Reset();
        Assert.Equal(EnsureOutcome.Unchanged, await h.Backend.EnsureIdentityAsync(w, AccessLevel.ReadOnly, Ct));
        Assert.Equal(0, h.Counter.Writes);
        Assert.Equal(HttpStatusCode.Forbidden, (await h.PutAsync(key, w.Prefix + "x")).Status);
    }
}
