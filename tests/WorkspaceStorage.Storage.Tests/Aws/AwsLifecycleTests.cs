using System.Net;
using WorkspaceStorage.Core.Signing;
using WorkspaceStorage.Core.Workspaces;
using WorkspaceStorage.Storage.Aws;
using WorkspaceStorage.Storage.Backends;
using WorkspaceStorage.Storage.Tests.CephRgw;

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

/// <summary>AWS's own rules on the AWS backend, against moto (which enforces the two-key limit and IAM authorization).</summary>
public sealed class AwsRulesTests
{
    private static CancellationToken Ct => AwsBackendHarness.Ct;

    [Fact]
    public async Task Rotation_deletes_the_key_it_no_longer_keeps_before_creating_so_IAMs_two_key_limit_is_never_hit()
    {
        await using var h = await AwsBackendHarness.StartAsync();
        var w = h.NewWorkspace("keys");
        var names = AwsBackendHarness.Names(w);
        await h.Backend.EnsureIdentityAsync(w, AccessLevel.ReadWrite, Ct);
        var first = await h.Backend.CreateKeyAsync(w, [], Ct);
        var second = await h.Backend.CreateKeyAsync(w, [first.AccessKeyId], Ct);

        // The rule is real: IAM itself refuses a third key.
        var refused = await Assert.ThrowsAsync<BackendRequestRejectedException>(() => h.Iam.CreateAccessKeyAsync(names.Identity, Ct));
        Assert.Equal("LimitExceeded", refused.ErrorCode);

        // The next rotation keeps only the previous key: the oldest goes first, then IAM makes the new one.
        var third = await h.Backend.CreateKeyAsync(w, [second.AccessKeyId], Ct);
        Assert.Equal(new[] { second.AccessKeyId, third.AccessKeyId }.Order(StringComparer.Ordinal), (await h.Backend.ListKeysAsync(w, Ct)).Order(StringComparer.Ordinal));
        Assert.Equal(HttpStatusCode.Forbidden, (await h.PutAsync(first, w.Prefix + "old.txt")).Status);
        Assert.Equal(HttpStatusCode.OK, (await h.PutAsync(third, w.Prefix + "new.txt")).Status);

        // Asked to keep two and add a third, it refuses before calling IAM, with IAM's own code, and changes nothing.
        h.Counter.Reset();
        var tooMany = await Assert.ThrowsAsync<BackendRequestRejectedException>(() => h.Backend.CreateKeyAsync(w, [second.AccessKeyId, third.AccessKeyId], Ct));
        Assert.Equal("LimitExceeded", tooMany.ErrorCode);
        Assert.Equal(0, h.Counter.Writes);
        Assert.Equal(2, (await h.Backend.ListKeysAsync(w, Ct)).Count);
    }

    [Fact]
    public async Task A_key_made_by_an_interrupted_reconcile_is_revoked_before_the_next_key_is_made()
    {
        await using var h = await AwsBackendHarness.StartAsync();
        var w = h.NewWorkspace("orphan");
        var current = await h.IdentityAsync(w);
        var orphan = await h.Iam.CreateAccessKeyAsync(AwsBackendHarness.Names(w).Identity, Ct); // IAM made it; no Secret ever named it

        var next = await h.Backend.CreateKeyAsync(w, [current.AccessKeyId], Ct);

        Assert.DoesNotContain(orphan.AccessKeyId, await h.Backend.ListKeysAsync(w, Ct));
        Assert.Equal(HttpStatusCode.Forbidden, (await h.PutAsync(orphan, w.Prefix + "x.txt")).Status);
        Assert.Equal(HttpStatusCode.OK, (await h.PutAsync(next, w.Prefix + "x.txt")).Status);
    }

    [Fact]
    public async Task A_key_IAM_did_not_make_for_this_user_is_refused_with_a_clear_permanent_error_and_no_secret_in_it()
    {
        await using var h = await AwsBackendHarness.StartAsync();
        var w = h.NewWorkspace("byo");
        var victim = h.NewWorkspace("byovictim");
        await h.Backend.EnsureIdentityAsync(w, AccessLevel.ReadWrite, Ct);
        var victimKey = await h.IdentityAsync(victim);

        var error = await Assert.ThrowsAsync<BackendValidationException>(() => h.Backend.EnsureKeyAsync(w, victimKey, Ct));
        Assert.Equal("accessKeyId", error.Field);
        Assert.Contains("cannot import", error.Message, StringComparison.Ordinal);
        Assert.DoesNotContain(victimKey.SecretAccessKey, error.Message, StringComparison.Ordinal);
        Assert.False(error.IsTransient);
        Assert.Equal([victimKey.AccessKeyId], await h.Backend.ListKeysAsync(victim, Ct));
    }

    [Fact]
    public async Task A_managed_policy_or_group_granting_more_is_removed_by_the_next_ensure()
    {
        await using var h = await AwsBackendHarness.StartAsync();
        var w = h.NewWorkspace("widen");
        var other = h.NewWorkspace("widenother");
        var names = AwsBackendHarness.Names(w);
        var key = await h.IdentityAsync(w);
        var group = "wide-" + RgwBackendHarness.RandomPart();
        var managed = await h.AdminCallAsync("CreatePolicy", ("PolicyName", "wide-" + RgwBackendHarness.RandomPart()), ("PolicyDocument", RgwBackendHarness.WidePolicy));
        var managedArn = Iam.IamClient.Element(Iam.IamClient.Parse(managed, "test"), "Arn")!;
        await h.AdminCallAsync("AttachUserPolicy", ("UserName", names.Identity), ("PolicyArn", managedArn));
        await h.AdminCallAsync("CreateGroup", ("GroupName", group));
        await h.AdminCallAsync("PutGroupPolicy", ("GroupName", group), ("PolicyName", "wide"), ("PolicyDocument", RgwBackendHarness.WidePolicy));
        await h.AdminCallAsync("AddUserToGroup", ("GroupName", group), ("UserName", names.Identity));
        Assert.Equal(HttpStatusCode.OK, (await h.PutAsync(key, other.Prefix + "before.txt")).Status); // the drift is real

        Assert.Equal(EnsureOutcome.Updated, await h.Backend.EnsureIdentityAsync(w, AccessLevel.ReadWrite, Ct));

        Assert.Empty(await h.Iam.ListAttachedUserPoliciesAsync(names.Identity, Ct));
        Assert.Empty(await h.Iam.ListGroupsForUserAsync(names.Identity, Ct));
        Assert.Equal(HttpStatusCode.Forbidden, (await h.PutAsync(key, other.Prefix + "after.txt")).Status);
        Assert.Equal(HttpStatusCode.OK, (await h.PutAsync(key, w.Prefix + "after.txt")).Status);
        await h.AdminCallAsync("DeleteGroupPolicy", ("GroupName", group), ("PolicyName", "wide"));
        await h.AdminCallAsync("DeleteGroup", ("GroupName", group));
    }

    [Fact]
    public async Task A_user_of_the_same_name_outside_the_operators_path_is_not_adopted()
    {
        await using var h = await AwsBackendHarness.StartAsync();
        var w = h.NewWorkspace("foreign");
        var names = AwsBackendHarness.Names(w);
        Assert.True(await h.Iam.CreateUserAsync(names.Identity, "/", [], Ct));
        try
        {
            var error = await Assert.ThrowsAsync<BackendRequestRejectedException>(() => h.Backend.EnsureIdentityAsync(w, AccessLevel.ReadWrite, Ct));
            Assert.Contains(AwsBackendOptions.IamPath, error.Message, StringComparison.Ordinal);
            Assert.Empty(await h.Iam.ListUserPoliciesAsync(names.Identity, Ct));
            Assert.Null(await h.Iam.GetRoleAsync(names.Role, Ct));
        }
        finally
        {
            await h.Iam.DeleteUserAsync(names.Identity, Ct);
        }
    }

    [Fact]
    public async Task A_role_of_the_same_name_outside_the_operators_path_is_not_adopted()
    {
        await using var h = await AwsBackendHarness.StartAsync();
        var w = h.NewWorkspace("foreignrole");
        var names = AwsBackendHarness.Names(w);
        const string trustsAnyone = """{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Principal":{"AWS":"*"},"Action":"sts:AssumeRole"}]}""";
        Assert.NotNull(await h.Iam.CreateRoleAsync(names.Role, trustsAnyone, TimeSpan.FromHours(1), Ct));
        try
        {
            var error = await Assert.ThrowsAsync<BackendRequestRejectedException>(() => h.Backend.EnsureIdentityAsync(w, AccessLevel.ReadWrite, Ct));
            Assert.Contains(AwsBackendOptions.IamPath, error.Message, StringComparison.Ordinal);
            Assert.True(Iam.PolicyJson.Equivalent((await h.Iam.GetRoleAsync(names.Role, Ct))!.TrustPolicy, trustsAnyone));
            Assert.Empty(await h.Iam.ListRolePoliciesAsync(names.Role, Ct));
        }
        finally
        {
            await h.Iam.DeleteRoleAsync(names.Role, Ct);
        }
    }

    [Fact]
    public async Task Hypha_ids_with_a_pipe_and_ids_too_long_for_IAM_names_get_names_IAM_accepts_and_work()
    {
        await using var h = await AwsBackendHarness.StartAsync();
        var personal = h.NewWorkspace("user-github|");
        var longId = h.Track(WorkspaceId.Parse("ws-" + new string('l', 100) + RgwBackendHarness.RandomPart()));
        foreach (var w in new[] { personal, longId })
        {
            var names = AwsBackendHarness.Names(w);
            Assert.InRange(names.Role.Length, 1, AwsStorageBackend.MaxNameLength);
            Assert.Matches("^[A-Za-z0-9+=,.@_-]+$", names.Role);
            var key = await h.IdentityAsync(w);
            if (!w.Value.Contains('|', StringComparison.Ordinal))
            {
                // Not for the '|' id: moto 5.1.1 refuses any S3 request whose path holds '|' (SignatureDoesNotMatch, botocore's
                // own too: the same re-encoding as with '/' in list prefixes). RgwConfinementTests prove '|' ids on S3.
                Assert.Equal(HttpStatusCode.OK, (await h.PutAsync(key, w.Prefix + "n.txt")).Status);
            }

            var user = await h.Iam.GetUserAsync(names.Identity, Ct);
            Assert.Contains(new Iam.IamTag(AwsStorageBackend.WorkspaceTag, w.Value.Replace('|', '_')), user!.Tags);
        }

        var keyOfPersonal = (await h.Backend.ListKeysAsync(personal, Ct)).Single();
        Assert.DoesNotContain(keyOfPersonal, await h.Backend.ListKeysAsync(longId, Ct));
    }

    [Fact]
    public async Task Health_names_the_operators_principal_and_refused_credentials_without_their_secret()
    {
        await using var h = await AwsBackendHarness.StartAsync();
        var healthy = await h.Backend.CheckHealthAsync(Ct);
        Assert.True(healthy.Healthy, healthy.Detail);
        Assert.Contains(":user/", healthy.Detail, StringComparison.Ordinal);

        var bogus = new AwsCredentials("AKIAIOSFODNN7EXAMPLE", "wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY");
        await using var refused = AwsBackendHarness.WithAdmin(bogus);
        var unhealthy = await refused.Backend.CheckHealthAsync(Ct);
        Assert.False(unhealthy.Healthy);
        Assert.DoesNotContain(bogus.SecretAccessKey, unhealthy.Detail, StringComparison.Ordinal);
    }
}
