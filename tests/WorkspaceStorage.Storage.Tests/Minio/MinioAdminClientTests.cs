using System.Text;
using WorkspaceStorage.Core.Signing;
using WorkspaceStorage.Storage.Backends;
using WorkspaceStorage.Storage.Minio;

namespace WorkspaceStorage.Storage.Tests.Minio;

/// <summary>Protocol details of <see cref="MinioAdminClient"/> against scripted answers (no MinIO server runs here).</summary>
public sealed class MinioAdminClientTests
{
    private const string AdminKey = "admin-key";
    private const string AdminSecret = "admin-secret-123";

    private static CancellationToken Ct => TestContext.Current.CancellationToken;

    [Fact]
    public async Task Every_request_is_signed_for_s3_in_the_configured_region_with_octet_stream_and_the_body_hash()
    {
        await using var server = new RecordingAdminServer(_ => ScriptedResponse.Empty(200));
        var client = Client(server, region: "eu-west-9");

        await client.AddUserAsync("wso-ws-a", "user-secret-1", enabled: true, Ct);
        await client.SetUserStatusAsync("wso-ws-a", enabled: true, Ct);

        Assert.All(server.Requests, r =>
        {
            Assert.Equal("application/octet-stream", r.Header("content-type"));
            Assert.Equal(SigV4Signer.HashHex(r.Body), r.Header("x-amz-content-sha256"));
            Assert.Contains("/eu-west-9/s3/aws4_request", r.Header("authorization"), StringComparison.Ordinal);
        });
        var addUser = server.Requests[0];
        Assert.DoesNotContain("user-secret-1", Encoding.UTF8.GetString(addUser.Body), StringComparison.Ordinal);
        Assert.Contains("\"secretKey\":\"user-secret-1\"", Encoding.UTF8.GetString(MinioPayloadCipher.Decrypt(AdminSecret, addUser.Body)), StringComparison.Ordinal);
    }

    [Fact]
    public async Task Query_values_are_escaped_as_minio_rebuilds_them()
    {
        await using var server = new RecordingAdminServer(_ => ScriptedResponse.Json("""{"status":"enabled"}"""));

        await Client(server).GetUserInfoAsync("name with space+plus/slash", Ct);

        var request = Assert.Single(server.Requests);
        Assert.Equal([new("accessKey", "name with space+plus/slash")], request.Query);
    }

    [Theory]
    [InlineData(200)]
    [InlineData(201)] // early servers answer attach with 201 and no body
    [InlineData(204)]
    public async Task Attach_accepts_every_success_status(int status)
    {
        await using var server = new RecordingAdminServer(_ => ScriptedResponse.Empty(status));

        Assert.True(await Client(server).AttachPolicyAsync(MinioPolicyTarget.User("u"), ["p"], Ct));
    }

    [Fact]
    public async Task Attach_that_is_already_applied_is_success_without_change()
    {
        await using var server = new RecordingAdminServer(_ => ScriptedResponse.Error(400, MinioAdminException.PolicyChangeAlreadyApplied));

        Assert.False(await Client(server).AttachPolicyAsync(MinioPolicyTarget.User("u"), ["p"], Ct));
        Assert.False(await Client(server).DetachPolicyAsync(MinioPolicyTarget.User("u"), ["p"], Ct));
    }

    [Fact]
    public async Task Attach_on_an_older_server_falls_back_to_set_policy_with_the_union()
    {
        await using var server = new RecordingAdminServer(r => r.Command switch
        {
            "idp/builtin/policy/attach" => ScriptedResponse.Error(426, MinioAdminException.VersionMismatch),
            "user-info" => ScriptedResponse.Json("""{"policyName":"existing","status":"enabled"}"""),
            _ => ScriptedResponse.Empty(200),
        });

        Assert.True(await Client(server).AttachPolicyAsync(MinioPolicyTarget.User("wso-ws-a"), ["wso-ws-a-policy"], Ct));

        var set = Assert.Single(server.Requests, r => r.Command == "set-user-or-group-policy");
        Assert.Equal("PUT", set.Method);
        Assert.Equal(["isGroup=false", "policyName=existing,wso-ws-a-policy", "userOrGroup=wso-ws-a"], set.SortedQuery);
    }

    [Fact]
    public async Task Detach_on_an_older_server_sets_the_remaining_policies_and_skips_when_nothing_is_attached()
    {
        await using var server = new RecordingAdminServer(r => r.Command switch
        {
            "idp/builtin/policy/detach" => ScriptedResponse.Error(426, MinioAdminException.VersionMismatch),
            "group" => ScriptedResponse.Json("""{"name":"g","status":"enabled","members":[],"policy":"a,b"}"""),
            _ => ScriptedResponse.Empty(200),
        });
        var client = Client(server);

        Assert.True(await client.DetachPolicyAsync(MinioPolicyTarget.Group("g"), ["a"], Ct));
        Assert.False(await client.DetachPolicyAsync(MinioPolicyTarget.Group("g"), ["zzz"], Ct));

        var set = Assert.Single(server.Requests, r => r.Command == "set-user-or-group-policy");
        Assert.Equal(["isGroup=true", "policyName=b", "userOrGroup=g"], set.SortedQuery);
    }

    [Fact]
    public async Task Missing_things_read_as_null_or_false()
    {
        await using var server = new RecordingAdminServer(r => r.Command switch
        {
            "user-info" or "remove-user" => ScriptedResponse.Error(404, "XMinioAdminNoSuchUser"),
            "info-canned-policy" or "remove-canned-policy" => ScriptedResponse.Error(404, "XMinioAdminNoSuchPolicy"),
            "group" => ScriptedResponse.Error(404, "XMinioAdminNoSuchGroup"),
            _ => ScriptedResponse.Error(404, "XMinioAdminServiceAccountNotFound"),
        });
        var client = Client(server);

        Assert.Null(await client.GetUserInfoAsync("u", Ct));
        Assert.False(await client.RemoveUserAsync("u", Ct));
        Assert.Null(await client.GetCannedPolicyAsync("p", Ct));
        Assert.False(await client.RemoveCannedPolicyAsync("p", Ct));
        Assert.Null(await client.GetGroupAsync("g", Ct));
        Assert.Null(await client.GetServiceAccountAsync("AK", Ct));
        Assert.False(await client.DeleteServiceAccountAsync("AK", Ct));
        Assert.Empty(await client.ListServiceAccountsAsync("u", Ct));
    }

    [Fact]
    public async Task Refusals_become_typed_errors_carrying_the_code()
    {
        await using var server = new RecordingAdminServer(r => r.Command switch
        {
            "remove-canned-policy" => ScriptedResponse.Error(400, MinioAdminException.PolicyInUse),
            "add-canned-policy" => ScriptedResponse.Error(400, "XMinioMalformedIAMPolicy"),
            "list-users" => ScriptedResponse.Error(403, "AccessDenied"),
            _ => ScriptedResponse.Error(403, "SignatureDoesNotMatch"),
        });
        var client = Client(server);

        var inUse = await Assert.ThrowsAsync<MinioAdminException>(() => client.RemoveCannedPolicyAsync("p", Ct));
        var malformed = await Assert.ThrowsAsync<MinioAdminException>(() => client.AddCannedPolicyAsync("p", "{}", Ct));
        var denied = await Assert.ThrowsAsync<BackendAuthenticationException>(() => client.ListUsersAsync(Ct));
        var signature = await Assert.ThrowsAsync<BackendAuthenticationException>(() => client.GetUserInfoAsync("u", Ct));

        Assert.Equal(MinioAdminException.PolicyInUse, inUse.ErrorCode);
        Assert.False(inUse.IsNotFound);
        Assert.False(inUse.IsTransient);
        Assert.Equal("XMinioMalformedIAMPolicy", malformed.ErrorCode);
        Assert.Equal(400, malformed.StatusCode);
        Assert.Equal("AccessDenied", denied.ErrorCode);
        Assert.Equal("SignatureDoesNotMatch", signature.ErrorCode);
        Assert.DoesNotContain(AdminSecret, inUse.Message + denied.Message + signature.Message, StringComparison.Ordinal);
    }

    [Fact]
    public async Task A_response_sealed_with_another_secret_is_a_payload_error()
    {
        await using var server = new RecordingAdminServer(_ => new ScriptedResponse(200, MinioPayloadCipher.Encrypt("other-secret", "{}"u8)));

        await Assert.ThrowsAsync<MinioPayloadException>(() => Client(server).ListUsersAsync(Ct));
    }

    [Fact]
    public async Task Service_account_lists_from_old_and_new_servers_are_both_read()
    {
        await using var server = new RecordingAdminServer(r => new ScriptedResponse(200, MinioPayloadCipher.Encrypt(AdminSecret, Encoding.UTF8.GetBytes(
            Query(r, "user") == "old"
                ? """{"accounts":["AK1"]}"""
                : """{"accounts":[{"accessKey":"AK2","parentUser":"new","name":"n","expiration":"1970-01-01T00:00:00Z"},{"accessKey":"AK3","parentUser":"new","expiration":"2099-01-01T00:00:00Z"}]}"""))));
        var client = Client(server);

        var old = Assert.Single(await client.ListServiceAccountsAsync("old", Ct));
        var fresh = await client.ListServiceAccountsAsync("new", Ct);

        Assert.Equal(new MinioServiceAccountSummary("AK1", null, null, null), old);
        Assert.False(fresh[0].Expires); // MinIO's 1970 sentinel means "never"
        Assert.Equal(new DateTimeOffset(2099, 1, 1, 0, 0, 0, TimeSpan.Zero), fresh[1].Expiration);
    }

    [Fact]
    public async Task Service_account_request_carries_name_description_and_rfc3339_expiration()
    {
        await using var server = new RecordingAdminServer(_ => new ScriptedResponse(200, MinioPayloadCipher.Encrypt(AdminSecret,
            """{"credentials":{"accessKey":"AKX","secretKey":"secret-x-123","expiration":"2030-05-06T07:08:09Z"}}"""u8)));

        var result = await Client(server).AddServiceAccountAsync(new MinioServiceAccountRequest("wso-ws-a", new AwsCredentials("AKX", "secret-x-123"))
        {
            Name = "wsotmp-1",
            Description = "d",
            Expiration = new DateTimeOffset(2030, 5, 6, 7, 8, 9, 500, TimeSpan.Zero),
        }, Ct);

        var sent = Encoding.UTF8.GetString(MinioPayloadCipher.Decrypt(AdminSecret, Assert.Single(server.Requests).Body));
        Assert.Contains("\"expiration\":\"2030-05-06T07:08:09Z\"", sent, StringComparison.Ordinal);
        Assert.Contains("\"name\":\"wsotmp-1\"", sent, StringComparison.Ordinal);
        Assert.DoesNotContain("\"policy\"", sent, StringComparison.Ordinal);
        Assert.Equal(new DateTimeOffset(2030, 5, 6, 7, 8, 9, TimeSpan.Zero), result.Expiration);
        Assert.DoesNotContain("secret-x-123", result.ToString(), StringComparison.Ordinal);
    }

    [Theory]
    [InlineData("""{"credentials":{"accessKey":"AKX","secretKey":"secret-x-123","expiration":"0001-01-01T00:00:00Z"}}""")] // before 2023-02-27
    [InlineData("""{"credentials":{"accessKey":"AKX","secretKey":"secret-x-123"}}""")]
    [InlineData("""{"credentials":{"accessKey":"AKX","secretKey":"secret-x-123","expiration":"1970-01-01T00:00:00Z"}}""")] // "never"
    public async Task An_expiring_account_the_server_made_permanent_is_deleted_again_and_refused(string answer)
    {
        await using var server = new RecordingAdminServer(r => r.Command == "add-service-account"
            ? new ScriptedResponse(200, MinioPayloadCipher.Encrypt(AdminSecret, Encoding.UTF8.GetBytes(answer)))
            : ScriptedResponse.Empty(204));

        var error = await Assert.ThrowsAsync<BackendRequestRejectedException>(() => Client(server).AddServiceAccountAsync(
            new MinioServiceAccountRequest("wso-ws-a", new AwsCredentials("AKX", "secret-x-123")) { Expiration = DateTimeOffset.UtcNow.AddHours(1) }, Ct));

        Assert.Equal(MinioAdminClient.ExpiryUnsupported, error.ErrorCode);
        Assert.False(error.IsTransient);
        Assert.Contains("RELEASE.2023-02-27", error.Message, StringComparison.Ordinal);
        Assert.DoesNotContain("secret-x-123", error.Message, StringComparison.Ordinal);
        var delete = server.Requests[^1];
        Assert.Equal(("DELETE", "delete-service-account", "AKX"), (delete.Method, delete.Command, Query(delete, "accessKey")));
    }

    [Fact]
    public async Task A_permanent_account_is_accepted_whatever_the_server_says_of_expiry()
    {
        await using var server = new RecordingAdminServer(_ => new ScriptedResponse(200, MinioPayloadCipher.Encrypt(AdminSecret,
            """{"credentials":{"accessKey":"AKX","secretKey":"secret-x-123","expiration":"0001-01-01T00:00:00Z"}}"""u8)));

        var result = await Client(server).AddServiceAccountAsync(new MinioServiceAccountRequest("wso-ws-a", new AwsCredentials("AKX", "secret-x-123")), Ct);

        Assert.Null(result.Expiration);
        Assert.Single(server.Requests);
    }

    [Fact]
    public async Task Liveness_probe_is_unsigned()
    {
        await using var server = new RecordingAdminServer(_ => ScriptedResponse.Empty(200));

        Assert.Equal(200, await Client(server).CheckLivenessAsync(Ct));

        var probe = Assert.Single(server.Requests);
        Assert.Equal("/minio/health/live", probe.Path);
        Assert.Null(probe.Header("authorization"));
    }

    [Fact]
    public async Task Writes_are_reported_as_writes_and_reads_as_reads()
    {
        await using var server = new RecordingAdminServer(r => r.Command == "user-info" ? ScriptedResponse.Json("""{"status":"enabled"}""") : ScriptedResponse.Empty(200));
        var counter = new BackendCallCounter();
        var client = Client(server, observer: counter);

        await client.GetUserInfoAsync("u", Ct);
        await client.AddCannedPolicyAsync("p", """{"Version":"2012-10-17","Statement":[]}""", Ct);

        Assert.Equal([("user-info", false), ("add-canned-policy", true)], counter.Calls.Select(c => (c.Operation, c.IsWrite)));
        Assert.All(counter.Calls, c => Assert.Equal("minio", c.BackendType));
    }

    [Fact]
    public void Endpoint_with_credentials_in_the_url_is_refused()
    {
        var error = Assert.Throws<ArgumentException>(() => new MinioAdminClient(new HttpClient(), new MinioAdminOptions
        {
            Endpoint = new Uri("http://admin:hunter2-secret@127.0.0.1:9000"),
            AdminCredentials = new AwsCredentials(AdminKey, AdminSecret),
        }));

        Assert.DoesNotContain("hunter2-secret", error.Message, StringComparison.Ordinal);
    }

    private static string Query(RecordedRequest request, string key) => request.Query.FirstOrDefault(p => p.Key == key).Value ?? "";

    private static MinioAdminClient Client(RecordingAdminServer server, string region = "us-east-1", IBackendCallObserver? observer = null) =>
        new(new HttpClient(), new MinioAdminOptions
        {
            Endpoint = server.Endpoint,
            AdminCredentials = new AwsCredentials(AdminKey, AdminSecret),
            Region = region,
            Retry = Clients.AdminRequestComparison.TestRetry,
        }, observer);
}

public sealed class PolicyDocumentComparerTests
{
    [Fact]
    public void Formatting_key_order_set_order_and_single_values_do_not_count()
    {
        const string ours = """{"Version":"2012-10-17","Statement":[{"Sid":"A","Effect":"Allow","Action":["s3:GetObject","s3:PutObject"],"Resource":["arn:aws:s3:::b/w/*"]}]}""";
        const string minios = """
            { "Statement": [ { "Resource": "arn:aws:s3:::b/w/*", "Action": [ "s3:PutObject", "s3:GetObject" ], "Effect": "Allow", "Sid": "A" } ],
              "Version": "2012-10-17" }
            """;

        Assert.True(PolicyDocumentComparer.AreEquivalent(ours, minios));
    }

    [Theory]
    [InlineData("""{"Version":"2012-10-17","Statement":[{"Sid":"A","Effect":"Allow","Action":["s3:*"],"Resource":["arn:aws:s3:::b/w/*"]}]}""")]
    [InlineData("""{"Version":"2012-10-17","Statement":[{"Sid":"A","Effect":"Allow","Action":["s3:GetObject"],"Resource":["arn:aws:s3:::b/*"]}]}""")]
    [InlineData("""{"Version":"2012-10-17","Statement":[{"Sid":"A","Effect":"Deny","Action":["s3:GetObject"],"Resource":["arn:aws:s3:::b/w/*"]}]}""")]
    [InlineData("""{"Version":"2012-10-17","Statement":[]}""")]
    [InlineData("not json")]
    public void Any_change_of_meaning_is_drift(string other)
    {
        const string ours = """{"Version":"2012-10-17","Statement":[{"Sid":"A","Effect":"Allow","Action":["s3:GetObject"],"Resource":["arn:aws:s3:::b/w/*"]}]}""";

        Assert.False(PolicyDocumentComparer.AreEquivalent(ours, other));
    }
}
