using System.Diagnostics;
using System.Net;
using System.Net.Sockets;
using WorkspaceStorage.Core.Credentials;
using WorkspaceStorage.Core.Policies;
using WorkspaceStorage.Core.Signing;
using WorkspaceStorage.Core.Workspaces;
using WorkspaceStorage.Storage.Backends;
using WorkspaceStorage.Storage.Http;
using WorkspaceStorage.Storage.Minio;
using WorkspaceStorage.Storage.S3;
using WorkspaceStorage.Testing.Support;

namespace WorkspaceStorage.Storage.Tests.Minio;

/// <summary>
/// Behaviour of <see cref="MinioStorageBackend"/> against <see cref="FakeMinioAdminServer"/>, a scripted stateful fake of
/// the MinIO admin API. No MinIO server can run on this machine, so this fake is the only way to exercise the backend
/// here; the wire format itself is checked against madmin-go in <see cref="MadminOracleTests"/>.
/// </summary>
public sealed class MinioStorageBackendTests : IAsyncLifetime
{
    private const string Bucket = "hypha-workspaces";
    private static readonly WorkspaceId Workspace = WorkspaceId.Parse("ws-user-alice");

    private readonly FakeMinioAdminServer fake = new();
    private readonly BackendCallCounter calls = new();
    private readonly RecordingBucketOperations buckets = new();
    private readonly LogCapture<MinioStorageBackend> log = new();
    private readonly HttpClient http = new();

    public ValueTask InitializeAsync() => ValueTask.CompletedTask;

    public async ValueTask DisposeAsync()
    {
        http.Dispose();
        await fake.DisposeAsync();
    }

    private static CancellationToken Ct => TestContext.Current.CancellationToken;

    private BackendNames Names => BackendNames.For(Workspace);

    [Fact]
    public async Task Ensure_creates_user_policy_and_attachment_then_a_second_ensure_writes_nothing()
    {
        var backend = Backend();

        Assert.Equal(EnsureOutcome.Created, await backend.EnsureIdentityAsync(Workspace, AccessLevel.ReadWrite, Ct));
        Assert.Equal(3, calls.Writes);
        Assert.True(fake.Users[Names.Identity].Enabled);
        Assert.Equal([Names.Policy], fake.Users[Names.Identity].Policies);
        Assert.True(PolicyDocumentComparer.AreEquivalent(WorkspacePolicyBuilder.Build(Bucket, Workspace, AccessLevel.ReadWrite), fake.Policies[Names.Policy]));

        calls.Reset();
        Assert.Equal(EnsureOutcome.Unchanged, await backend.EnsureIdentityAsync(Workspace, AccessLevel.ReadWrite, Ct));
        Assert.Equal(0, calls.Writes);
        Assert.Equal(2, calls.Reads); // read and compared, nothing written
    }

    [Fact]
    public async Task Policy_removed_on_the_server_is_recreated_and_reattached()
    {
        var backend = Backend();
        await backend.EnsureIdentityAsync(Workspace, AccessLevel.ReadWrite, Ct);
        // An operator detached and deleted the policy by hand.
        fake.Users[Names.Identity].Policies.Clear();
        fake.Policies.Remove(Names.Policy);

        calls.Reset();
        Assert.Equal(EnsureOutcome.Updated, await backend.EnsureIdentityAsync(Workspace, AccessLevel.ReadWrite, Ct));

        Assert.Equal([Names.Policy], fake.Users[Names.Identity].Policies);
        Assert.True(fake.Policies.ContainsKey(Names.Policy));
        Assert.Equal(2, calls.Writes); // add-canned-policy, attach
        calls.Reset();
        Assert.Equal(EnsureOutcome.Unchanged, await backend.EnsureIdentityAsync(Workspace, AccessLevel.ReadWrite, Ct));
        Assert.Equal(0, calls.Writes);
    }

    [Fact]
    public async Task Widened_policy_document_and_foreign_policies_are_taken_back()
    {
        var backend = Backend();
        await backend.EnsureIdentityAsync(Workspace, AccessLevel.ReadOnly, Ct);
        fake.Policies[Names.Policy] = """{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":["s3:*"],"Resource":["arn:aws:s3:::*"]}]}""";
        fake.Policies["readwrite"] = """{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":["s3:*"],"Resource":["arn:aws:s3:::*"]}]}""";
        fake.Users[Names.Identity].Policies.Add("readwrite");

        Assert.Equal(EnsureOutcome.Updated, await backend.EnsureIdentityAsync(Workspace, AccessLevel.ReadOnly, Ct));

        Assert.Equal([Names.Policy], fake.Users[Names.Identity].Policies);
        Assert.True(PolicyDocumentComparer.AreEquivalent(WorkspacePolicyBuilder.Build(Bucket, Workspace, AccessLevel.ReadOnly), fake.Policies[Names.Policy]));
    }

    [Fact]
    public async Task Changing_the_access_level_rewrites_the_policy_and_a_disabled_user_is_enabled_again()
    {
        var backend = Backend();
        await backend.EnsureIdentityAsync(Workspace, AccessLevel.ReadOnly, Ct);
        fake.Users[Names.Identity].Status = "disabled";

        Assert.Equal(EnsureOutcome.Updated, await backend.EnsureIdentityAsync(Workspace, AccessLevel.ReadWrite, Ct));

        Assert.True(fake.Users[Names.Identity].Enabled);
        Assert.Contains("s3:PutObject", fake.Policies[Names.Policy], StringComparison.Ordinal);
    }

    [Fact]
    public async Task Older_server_without_attach_gets_set_policy_and_still_converges()
    {
        fake.LegacyPolicyMapping = true;
        var backend = Backend();

        Assert.Equal(EnsureOutcome.Created, await backend.EnsureIdentityAsync(Workspace, AccessLevel.ReadWrite, Ct));

        Assert.Equal([Names.Policy], fake.Users[Names.Identity].Policies);
        Assert.Contains(fake.Requests, r => r.Command == "set-user-or-group-policy");
        calls.Reset();
        Assert.Equal(EnsureOutcome.Unchanged, await backend.EnsureIdentityAsync(Workspace, AccessLevel.ReadWrite, Ct));
        Assert.Equal(0, calls.Writes);
    }

    [Fact]
    public async Task Rotation_adds_a_second_key_then_revokes_the_first()
    {
        var backend = Backend();
        await backend.EnsureIdentityAsync(Workspace, AccessLevel.ReadWrite, Ct);
        var first = AccessKeyGenerator.Generate();
        var second = AccessKeyGenerator.Generate();

        Assert.Equal(EnsureOutcome.Created, await backend.EnsureKeyAsync(Workspace, first, Ct));
        calls.Reset();
        Assert.Equal(EnsureOutcome.Unchanged, await backend.EnsureKeyAsync(Workspace, first, Ct));
        Assert.Equal(0, calls.Writes);

        Assert.Equal(EnsureOutcome.Created, await backend.EnsureKeyAsync(Workspace, second, Ct));
        Assert.Equal(new[] { first.AccessKeyId, second.AccessKeyId }.Order(StringComparer.Ordinal), await backend.ListKeysAsync(Workspace, Ct));
        Assert.All(new[] { first, second }, k => Assert.Null(fake.ServiceAccounts[k.AccessKeyId].SessionPolicy)); // inherit the user's policy

        Assert.Equal(EnsureOutcome.Deleted, await backend.RevokeKeyAsync(Workspace, first.AccessKeyId, Ct));
        Assert.Equal([second.AccessKeyId], await backend.ListKeysAsync(Workspace, Ct));
        Assert.Equal(EnsureOutcome.Unchanged, await backend.RevokeKeyAsync(Workspace, first.AccessKeyId, Ct));
    }

    [Fact]
    public async Task A_key_whose_secret_changed_on_the_server_is_set_back()
    {
        var backend = Backend();
        await backend.EnsureIdentityAsync(Workspace, AccessLevel.ReadWrite, Ct);
        var key = AccessKeyGenerator.Generate();
        await backend.EnsureKeyAsync(Workspace, key, Ct);
        fake.ServiceAccounts[key.AccessKeyId].Secret = "someone-else-set-this";

        Assert.Equal(EnsureOutcome.Updated, await backend.EnsureKeyAsync(Workspace, key, Ct));

        Assert.Equal(key.SecretAccessKey, fake.ServiceAccounts[key.AccessKeyId].Secret);
        calls.Reset();
        Assert.Equal(EnsureOutcome.Unchanged, await backend.EnsureKeyAsync(Workspace, key, Ct));
        Assert.Equal(0, calls.Writes);
    }

    [Fact]
    public async Task Keys_of_another_workspace_can_be_neither_claimed_nor_revoked()
    {
        var backend = Backend();
        var other = WorkspaceId.Parse("ws-user-bob");
        await backend.EnsureIdentityAsync(Workspace, AccessLevel.ReadWrite, Ct);
        await backend.EnsureIdentityAsync(other, AccessLevel.ReadWrite, Ct);
        var bobsKey = AccessKeyGenerator.Generate();
        await backend.EnsureKeyAsync(other, bobsKey, Ct);

        var claim = await Assert.ThrowsAsync<BackendValidationException>(() => backend.EnsureKeyAsync(Workspace, bobsKey, Ct));
        var revoke = await Assert.ThrowsAsync<BackendValidationException>(() => backend.RevokeKeyAsync(Workspace, bobsKey.AccessKeyId, Ct));

        Assert.Equal("key.AccessKeyId", claim.Field);
        Assert.Equal("accessKeyId", revoke.Field);
        Assert.Equal(BackendNames.For(other).Identity, fake.ServiceAccounts[bobsKey.AccessKeyId].Parent);
        Assert.Equal(bobsKey.SecretAccessKey, fake.ServiceAccounts[bobsKey.AccessKeyId].Secret);
        Assert.Empty(await backend.ListKeysAsync(Workspace, Ct));
    }

    [Fact]
    public async Task Temporary_credentials_expire_carry_a_read_only_session_policy_and_are_not_listed_as_keys()
    {
        var backend = Backend();
        await backend.EnsureIdentityAsync(Workspace, AccessLevel.ReadWrite, Ct);
        var before = DateTimeOffset.UtcNow;

        var issued = await backend.IssueTemporaryCredentialsAsync(Workspace, AccessLevel.ReadOnly, TimeSpan.FromHours(1), Ct);

        var account = fake.ServiceAccounts[issued.Credentials.AccessKeyId];
        Assert.Equal(Names.Identity, account.Parent);
        Assert.Equal(issued.Credentials.SecretAccessKey, account.Secret);
        Assert.InRange(issued.Expiration, before.AddHours(1).AddSeconds(-2), DateTimeOffset.UtcNow.AddHours(1).AddSeconds(1));
        Assert.Equal(issued.Expiration, account.Expiration);
        Assert.True(PolicyDocumentComparer.AreEquivalent(WorkspacePolicyBuilder.Build(Bucket, Workspace, AccessLevel.ReadOnly), account.SessionPolicy!));
        Assert.DoesNotContain("s3:PutObject", account.SessionPolicy, StringComparison.Ordinal);
        Assert.Matches("^[a-zA-Z][a-zA-Z0-9_-]{0,31}$", account.Name);
        Assert.Empty(await backend.ListKeysAsync(Workspace, Ct));

        var again = await backend.IssueTemporaryCredentialsAsync(Workspace, AccessLevel.ReadOnly, TimeSpan.FromHours(1), Ct);
        Assert.NotEqual(issued.Credentials.AccessKeyId, again.Credentials.AccessKeyId);
        Assert.True(fake.ServiceAccounts.ContainsKey(issued.Credentials.AccessKeyId)); // earlier credentials stay valid
    }

    [Fact]
    public async Task Temporary_credentials_at_minios_minimum_lifetime_are_accepted_by_the_server()
    {
        var backend = Backend();
        await backend.EnsureIdentityAsync(Workspace, AccessLevel.ReadWrite, Ct);

        var issued = await backend.IssueTemporaryCredentialsAsync(Workspace, AccessLevel.ReadWrite, TimeSpan.FromMinutes(15), Ct);

        Assert.InRange(issued.Expiration - DateTimeOffset.UtcNow, TimeSpan.FromMinutes(15), TimeSpan.FromMinutes(16));
    }

    [Fact]
    public async Task A_server_that_cannot_expire_accounts_gets_no_temporary_credentials_and_keeps_no_leftover()
    {
        fake.IgnoresServiceAccountOptions = true; // MinIO before RELEASE.2023-02-27
        var backend = Backend();
        await backend.EnsureIdentityAsync(Workspace, AccessLevel.ReadWrite, Ct);

        var error = await Assert.ThrowsAsync<BackendRequestRejectedException>(
            () => backend.IssueTemporaryCredentialsAsync(Workspace, AccessLevel.ReadOnly, TimeSpan.FromHours(1), Ct));

        Assert.Equal(MinioAdminClient.ExpiryUnsupported, error.ErrorCode);
        Assert.Empty(fake.ServiceAccounts);
    }

    [Theory]
    [InlineData(0)]
    [InlineData(5)]
    [InlineData(14.9)]
    [InlineData(60 * 24 * 366)]
    public async Task Temporary_lifetimes_minio_refuses_are_rejected_before_any_call(double minutes)
    {
        var backend = Backend();

        var error = await Assert.ThrowsAsync<BackendValidationException>(() =>
            backend.IssueTemporaryCredentialsAsync(Workspace, AccessLevel.ReadOnly, TimeSpan.FromMinutes(minutes), Ct));

        Assert.Equal("lifetime", error.Field);
        Assert.Empty(calls.Calls);
        Assert.Empty(fake.Requests);
    }

    [Fact]
    public async Task Delete_removes_service_accounts_policy_and_user_and_the_data_when_asked()
    {
        var backend = Backend();
        await backend.EnsureIdentityAsync(Workspace, AccessLevel.ReadWrite, Ct);
        await backend.EnsureKeyAsync(Workspace, AccessKeyGenerator.Generate(), Ct);
        await backend.IssueTemporaryCredentialsAsync(Workspace, AccessLevel.ReadOnly, TimeSpan.FromHours(1), Ct);

        Assert.Equal(EnsureOutcome.Deleted, await backend.DeleteWorkspaceAsync(Workspace, DataDeletion.Delete, Ct));

        Assert.False(fake.Users.ContainsKey(Names.Identity));
        Assert.False(fake.Policies.ContainsKey(Names.Policy));
        Assert.Empty(fake.ServiceAccounts);
        Assert.Equal([Workspace.Prefix], buckets.DeletedPrefixes);
        Assert.Contains(fake.Requests, r => r.Command == "delete-service-account");

        buckets.DeletedPrefixes.Clear();
        Assert.Equal(EnsureOutcome.Unchanged, await backend.DeleteWorkspaceAsync(Workspace, DataDeletion.Retain, Ct));
        Assert.Empty(buckets.DeletedPrefixes);
    }

    [Fact]
    public async Task Delete_succeeds_when_someone_attached_the_workspace_policy_to_another_user()
    {
        var backend = Backend();
        await backend.EnsureIdentityAsync(Workspace, AccessLevel.ReadWrite, Ct);
        fake.Users["hand-made-user"] = new FakeUser { Secret = "hand-made-secret" };
        fake.Users["hand-made-user"].Policies.Add(Names.Policy);

        Assert.Equal(EnsureOutcome.Deleted, await backend.DeleteWorkspaceAsync(Workspace, DataDeletion.Retain, Ct));

        Assert.False(fake.Policies.ContainsKey(Names.Policy));
        Assert.Empty(fake.Users["hand-made-user"].Policies);
        Assert.False(fake.Users.ContainsKey(Names.Identity));
    }

    [Fact]
    public async Task Delete_with_retain_keeps_the_data_and_leaves_other_workspaces_alone()
    {
        var backend = Backend();
        var other = WorkspaceId.Parse("ws-user-alice-2");
        await backend.EnsureIdentityAsync(Workspace, AccessLevel.ReadWrite, Ct);
        await backend.EnsureIdentityAsync(other, AccessLevel.ReadWrite, Ct);
        var othersKey = AccessKeyGenerator.Generate();
        await backend.EnsureKeyAsync(other, othersKey, Ct);

        Assert.Equal(EnsureOutcome.Deleted, await backend.DeleteWorkspaceAsync(Workspace, DataDeletion.Retain, Ct));

        Assert.Empty(buckets.DeletedPrefixes);
        Assert.True(fake.Users.ContainsKey(BackendNames.For(other).Identity));
        Assert.True(fake.Policies.ContainsKey(BackendNames.For(other).Policy));
        Assert.True(fake.ServiceAccounts.ContainsKey(othersKey.AccessKeyId));
    }

    [Fact]
    public async Task Wrong_admin_secret_is_an_authentication_error_and_makes_health_fail_with_a_clear_detail()
    {
        var backend = Backend(new AwsCredentials(fake.AdminKey, "not-the-admin-secret"));

        var error = await Assert.ThrowsAsync<BackendAuthenticationException>(() => backend.EnsureIdentityAsync(Workspace, AccessLevel.ReadWrite, Ct));
        var health = await backend.CheckHealthAsync(Ct);

        Assert.Equal("SignatureDoesNotMatch", error.ErrorCode);
        Assert.False(health.Healthy);
        Assert.Contains("refused the admin credentials", health.Detail, StringComparison.Ordinal);
        Assert.Contains("SignatureDoesNotMatch", health.Detail, StringComparison.Ordinal);
        Assert.DoesNotContain("not-the-admin-secret", health.Detail + error.Message, StringComparison.Ordinal);
        Assert.Empty(fake.Users);
    }

    [Fact]
    public async Task Unknown_admin_key_is_an_authentication_error()
    {
        var backend = Backend(new AwsCredentials("nobody", fake.AdminSecret));

        var error = await Assert.ThrowsAsync<BackendAuthenticationException>(() => backend.ListKeysAsync(Workspace, Ct));

        Assert.Equal("InvalidAccessKeyId", error.ErrorCode);
    }

    [Fact]
    public async Task Health_is_good_with_the_right_admin_key()
    {
        var health = await Backend().CheckHealthAsync(Ct);

        Assert.True(health.Healthy, health.Detail);
        Assert.Contains(fake.Requests, r => r.Path == MinioAdminClient.LivenessPath && r.Header("authorization") is null);
        Assert.Contains(fake.Requests, r => r.Command == "info" && r.Header("authorization") is not null);
    }

    [Fact]
    public async Task Refused_connection_is_unavailable_after_the_configured_attempts()
    {
        var retry = new RetryOptions { AttemptTimeout = TimeSpan.FromMilliseconds(500), MaxAttempts = 2, BaseDelay = TimeSpan.FromMilliseconds(10) };
        using var closed = FreeTcpPort.Refusing();
        var backend = Backend(endpoint: closed.Endpoint, retry: retry);

        var error = await Assert.ThrowsAsync<BackendUnavailableException>(() => backend.EnsureIdentityAsync(Workspace, AccessLevel.ReadWrite, Ct));
        var health = await backend.CheckHealthAsync(Ct);

        Assert.True(error.IsTransient);
        Assert.Equal(2, calls.Calls.Count(c => c.Operation == "user-info"));
        Assert.False(health.Healthy);
    }

    [Fact]
    public async Task Server_that_never_answers_is_unavailable_within_the_configured_timeout()
    {
        using var blackHole = new TcpListener(IPAddress.Loopback, 0);
        blackHole.Start(); // accepts connections (backlog) and never answers
        var endpoint = new Uri($"http://127.0.0.1:{((IPEndPoint)blackHole.LocalEndpoint).Port}");
        var retry = new RetryOptions { AttemptTimeout = TimeSpan.FromMilliseconds(400), MaxAttempts = 2, BaseDelay = TimeSpan.FromMilliseconds(10) };
        var backend = Backend(endpoint: endpoint, retry: retry);

        var watch = Stopwatch.StartNew();
        var error = await Assert.ThrowsAsync<BackendUnavailableException>(() => backend.EnsureIdentityAsync(Workspace, AccessLevel.ReadWrite, Ct));
        watch.Stop();

        Assert.Contains("no answer within", error.Message, StringComparison.Ordinal);
        Assert.InRange(watch.Elapsed, TimeSpan.FromMilliseconds(700), TimeSpan.FromSeconds(5));
        Assert.All(calls.Calls, c => Assert.Equal("Timeout", c.Error));
    }

    public static TheoryData<string, string, string> BadKeys => new()
    {
        { "ab", "long-enough-secret", "key.AccessKeyId" },
        { "AK=EQUALS", "long-enough-secret", "key.AccessKeyId" },
        { "AK,COMMA", "long-enough-secret", "key.AccessKeyId" },
        { "AK WITH SPACE", "long-enough-secret", "key.AccessKeyId" },
        { new string('A', 129), "long-enough-secret", "key.AccessKeyId" },
        { "AKGOOD12345", "short", "key.SecretAccessKey" },
        { "AKGOOD12345", "secret with spaces", "key.SecretAccessKey" },
    };

    [Theory]
    [MemberData(nameof(BadKeys))]
    public async Task Keys_breaking_minios_rules_are_refused_before_any_call(string accessKey, string secret, string field)
    {
        var backend = Backend();

        var error = await Assert.ThrowsAsync<BackendValidationException>(() => backend.EnsureKeyAsync(Workspace, new AwsCredentials(accessKey, secret), Ct));

        Assert.Equal(field, error.Field);
        Assert.DoesNotContain(secret, error.Message, StringComparison.Ordinal);
        Assert.Empty(calls.Calls);
        Assert.Empty(fake.Requests);
    }

    [Fact]
    public async Task Session_credentials_revocation_of_malformed_ids_and_missing_workspaces_are_refused_before_any_call()
    {
        var backend = Backend();

        await Assert.ThrowsAsync<BackendValidationException>(() =>
            backend.EnsureKeyAsync(Workspace, new AwsCredentials("AKGOOD12345", "long-enough-secret", "session-token"), Ct));
        await Assert.ThrowsAsync<BackendValidationException>(() => backend.RevokeKeyAsync(Workspace, "", Ct));
        await Assert.ThrowsAsync<BackendValidationException>(() => backend.RevokeKeyAsync(Workspace, "a,b,c", Ct));
        var missing = await Assert.ThrowsAsync<BackendValidationException>(() => backend.EnsureIdentityAsync(null!, AccessLevel.ReadWrite, Ct));
        await Assert.ThrowsAsync<BackendValidationException>(() => backend.EnsureIdentityAsync(Workspace, (AccessLevel)7, Ct));

        Assert.Equal("workspace", missing.Field);
        Assert.Empty(calls.Calls);
        Assert.Empty(fake.Requests);
    }

    [Theory]
    [InlineData("../etc")]
    [InlineData("ws/other")]
    [InlineData("WS-UPPER")]
    [InlineData("nohyphen")]
    [InlineData("ws-a,b")]
    public void Invalid_workspace_ids_never_become_a_workspace_the_backend_could_be_called_with(string id)
    {
        // The backend takes a parsed WorkspaceId, so an invalid id is refused before any backend call can exist.
        Assert.False(WorkspaceId.TryParse(id, out _, out var rule));
        Assert.NotEmpty(rule);
    }

    [Fact]
    public async Task Workspace_ids_with_a_bar_map_to_distinct_minio_names()
    {
        var backend = Backend();
        var barred = WorkspaceId.Parse("ws-a|b");
        var dashed = WorkspaceId.Parse("ws-a-b");

        await backend.EnsureIdentityAsync(barred, AccessLevel.ReadWrite, Ct);
        await backend.EnsureIdentityAsync(dashed, AccessLevel.ReadWrite, Ct);

        Assert.Contains("wso-ws-a_b", fake.Users.Keys);
        Assert.Contains("wso-ws-a-b", fake.Users.Keys);
        Assert.Contains("arn:aws:s3:::hypha-workspaces/ws-a|b/*", fake.Policies["wso-ws-a_b-policy"], StringComparison.Ordinal);
    }

    [Fact]
    public async Task Secrets_never_reach_the_log()
    {
        var backend = Backend();
        await backend.EnsureIdentityAsync(Workspace, AccessLevel.ReadWrite, Ct);
        var userSecret = fake.Users[Names.Identity].Secret;
        var key = AccessKeyGenerator.Generate();
        await backend.EnsureKeyAsync(Workspace, key, Ct);
        fake.ServiceAccounts[key.AccessKeyId].Secret = "drifted-secret-1";
        await backend.EnsureKeyAsync(Workspace, key, Ct);
        var temporary = await backend.IssueTemporaryCredentialsAsync(Workspace, AccessLevel.ReadOnly, TimeSpan.FromHours(1), Ct);
        await backend.DeleteWorkspaceAsync(Workspace, DataDeletion.Retain, Ct);

        Assert.NotEmpty(log.Lines);
        foreach (var message in log.Lines)
        {
            Assert.DoesNotContain(key.SecretAccessKey, message, StringComparison.Ordinal);
            Assert.DoesNotContain(temporary.Credentials.SecretAccessKey, message, StringComparison.Ordinal);
            Assert.DoesNotContain(fake.AdminSecret, message, StringComparison.Ordinal);
            Assert.DoesNotContain(userSecret, message, StringComparison.Ordinal);
        }

        Assert.DoesNotContain(temporary.Credentials.SecretAccessKey, temporary.ToString(), StringComparison.Ordinal);
    }

    [Fact]
    public async Task Secrets_travel_encrypted_never_in_clear()
    {
        var backend = Backend();
        await backend.EnsureIdentityAsync(Workspace, AccessLevel.ReadWrite, Ct);
        var key = AccessKeyGenerator.Generate();
        await backend.EnsureKeyAsync(Workspace, key, Ct);
        var temporary = await backend.IssueTemporaryCredentialsAsync(Workspace, AccessLevel.ReadOnly, TimeSpan.FromHours(1), Ct);

        var userSecret = fake.Users[Names.Identity].Secret;
        foreach (var request in fake.Requests)
        {
            var wire = System.Text.Encoding.UTF8.GetString(request.Body) + request.Path + string.Join('&', request.SortedQuery);
            Assert.DoesNotContain(key.SecretAccessKey, wire, StringComparison.Ordinal);
            Assert.DoesNotContain(temporary.Credentials.SecretAccessKey, wire, StringComparison.Ordinal);
            Assert.DoesNotContain(userSecret, wire, StringComparison.Ordinal);
        }

        Assert.True(userSecret.Length >= 8);
    }

    [Fact]
    public async Task Ensure_bucket_delegates_to_the_bucket_operations()
    {
        Assert.Equal(EnsureOutcome.Created, await Backend().EnsureBucketAsync(Ct));
        Assert.Equal(1, buckets.EnsureCalls);
        Assert.Empty(fake.Requests);
    }

    [Fact]
    public void Reports_its_type_and_location()
    {
        var backend = Backend();

        Assert.Equal("minio", backend.Type);
        Assert.Equal(Bucket, backend.Location.Bucket);
    }

    private MinioStorageBackend Backend(AwsCredentials? admin = null, Uri? endpoint = null, RetryOptions? retry = null)
    {
        var client = new MinioAdminClient(http, new MinioAdminOptions
        {
            Endpoint = endpoint ?? fake.Endpoint,
            AdminCredentials = admin ?? new AwsCredentials(fake.AdminKey, fake.AdminSecret),
            Retry = retry ?? new RetryOptions { AttemptTimeout = TimeSpan.FromSeconds(20), MaxAttempts = 2, BaseDelay = TimeSpan.FromMilliseconds(10) },
        }, calls);
        var location = new S3Location(fake.Endpoint, fake.Endpoint, "us-east-1", Bucket);
        return new MinioStorageBackend(client, buckets, location, log);
    }
}

internal sealed class RecordingBucketOperations : IAdminBucketOperations
{
    public int EnsureCalls { get; private set; }

    public List<string> DeletedPrefixes { get; } = [];

    public Task<EnsureOutcome> EnsureBucketAsync(CancellationToken cancellationToken)
    {
        EnsureCalls++;
        return Task.FromResult(EnsureCalls == 1 ? EnsureOutcome.Created : EnsureOutcome.Unchanged);
    }

    public Task<EnsureOutcome> EnsureCorsAsync(WorkspaceStorage.Core.Policies.BucketCorsRule rule, CancellationToken cancellationToken) =>
        Task.FromResult(EnsureOutcome.Unchanged);

    public Task<EnsureOutcome> RemoveCorsAsync(string ruleId, CancellationToken cancellationToken) => Task.FromResult(EnsureOutcome.Unchanged);

    public Task<int> DeletePrefixAsync(string prefix, CancellationToken cancellationToken)
    {
        DeletedPrefixes.Add(prefix);
        return Task.FromResult(3);
    }

    public Task<WorkspaceStorage.Core.Model.UsageFigures> MeasurePrefixAsync(string prefix, int maxPages, CancellationToken cancellationToken) =>
        Task.FromResult(new WorkspaceStorage.Core.Model.UsageFigures(0, 0, Complete: true));
}
