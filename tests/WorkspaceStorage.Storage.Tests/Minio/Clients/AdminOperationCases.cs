using WorkspaceStorage.Core.Signing;
using WorkspaceStorage.Storage.Minio;

namespace WorkspaceStorage.Storage.Tests.Minio.Clients;

/// <summary>One admin operation as the Go oracle is told to perform it and as our client performs it.</summary>
/// <param name="GoOperation">The oracle's operation name (several cases share one).</param>
/// <param name="GoArguments">JSON arguments for the oracle.</param>
internal sealed record AdminOperationCase(string GoOperation, string GoArguments, Func<MinioAdminClient, CancellationToken, Task> Ours);

/// <summary>The operations the madmin-go oracles (2.0.7 and 3.x) and our client are compared on.</summary>
internal static class AdminOperationCases
{
    public const string PolicyJson =
        """{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":["s3:GetObject"],"Resource":["arn:aws:s3:::b/ws-a/*"]}]}""";

    /// <summary>An expiry with whole seconds, as our client writes it (RFC 3339, UTC).</summary>
    public static readonly DateTimeOffset Expiry = new(2031, 5, 6, 7, 8, 9, TimeSpan.Zero);

    /// <summary>Every operation madmin-go 2.0.7 already had.</summary>
    public static readonly IReadOnlyDictionary<string, AdminOperationCase> Common = new Dictionary<string, AdminOperationCase>
    {
        ["add-user"] = new("add-user", """{"accessKey":"wso-ws-a","secretKey":"user-secret-1"}""",
            (c, t) => c.AddUserAsync("wso-ws-a", "user-secret-1", enabled: true, t)),
        ["remove-user"] = new("remove-user", """{"accessKey":"wso-ws-a"}""", (c, t) => c.RemoveUserAsync("wso-ws-a", t)),
        ["list-users"] = new("list-users", "{}", (c, t) => c.ListUsersAsync(t)),
        ["user-info"] = new("user-info", """{"accessKey":"wso-ws_a b"}""", (c, t) => c.GetUserInfoAsync("wso-ws_a b", t)),
        ["set-user-status"] = new("set-user-status", """{"accessKey":"wso-ws-a","status":"disabled"}""",
            (c, t) => c.SetUserStatusAsync("wso-ws-a", enabled: false, t)),
        ["add-canned-policy"] = new("add-canned-policy", $$"""{"name":"wso-ws-a-policy","policy":{{PolicyJson}}}""",
            (c, t) => c.AddCannedPolicyAsync("wso-ws-a-policy", PolicyJson, t)),
        ["remove-canned-policy"] = new("remove-canned-policy", """{"name":"wso-ws-a-policy"}""", (c, t) => c.RemoveCannedPolicyAsync("wso-ws-a-policy", t)),
        ["info-canned-policy"] = new("info-canned-policy", """{"name":"wso-ws-a-policy"}""", (c, t) => c.GetCannedPolicyAsync("wso-ws-a-policy", t)),
        ["list-canned-policies"] = new("list-canned-policies", "{}", (c, t) => c.ListCannedPoliciesAsync(t)),
        ["attach-policy"] = new("attach-policy", """{"policies":["wso-ws-a-policy"],"user":"wso-ws-a"}""",
            (c, t) => c.AttachPolicyAsync(MinioPolicyTarget.User("wso-ws-a"), ["wso-ws-a-policy"], t)),
        ["attach-policy-group"] = new("attach-policy", """{"policies":["p1","p2"],"group":"ws-a"}""",
            (c, t) => c.AttachPolicyAsync(MinioPolicyTarget.Group("ws-a"), ["p1", "p2"], t)),
        ["detach-policy"] = new("detach-policy", """{"policies":["wso-ws-a-policy"],"user":"wso-ws-a"}""",
            (c, t) => c.DetachPolicyAsync(MinioPolicyTarget.User("wso-ws-a"), ["wso-ws-a-policy"], t)),
        ["set-policy"] = new("set-policy", """{"name":"p1,p2","entity":"ws-a","isGroup":true}""",
            (c, t) => c.SetPolicyAsync(MinioPolicyTarget.Group("ws-a"), ["p1", "p2"], t)),
        ["policy-entities"] = new("policy-entities", """{"users":["wso-ws-a","u2"],"policies":["wso-ws-a-policy"]}""",
            (c, t) => c.GetPolicyEntitiesAsync(["wso-ws-a", "u2"], null, ["wso-ws-a-policy"], t)),
        ["update-group-members"] = new("update-group-members", """{"group":"ws-a","members":["u1","u2"],"isRemove":false}""",
            (c, t) => c.UpdateGroupMembersAsync("ws-a", ["u1", "u2"], isRemove: false, t)),
        ["update-group-members-remove"] = new("update-group-members", """{"group":"ws-a","members":[],"isRemove":true}""",
            (c, t) => c.UpdateGroupMembersAsync("ws-a", [], isRemove: true, t)),
        ["group-info"] = new("group-info", """{"group":"ws-a"}""", (c, t) => c.GetGroupAsync("ws-a", t)),
        ["list-groups"] = new("list-groups", "{}", (c, t) => c.ListGroupsAsync(t)),
        ["add-service-account"] = new("add-service-account",
            $$"""{"targetUser":"wso-ws-a","accessKey":"AKIAEXAMPLE12345","secretKey":"sa-secret-12345","policy":{{PolicyJson}}}""",
            (c, t) => c.AddServiceAccountAsync(new MinioServiceAccountRequest("wso-ws-a", new AwsCredentials("AKIAEXAMPLE12345", "sa-secret-12345"))
            {
                SessionPolicyJson = PolicyJson,
            }, t)),
        ["add-service-account-inherit"] = new("add-service-account", """{"targetUser":"wso-ws-a","accessKey":"AKIAEXAMPLE12345","secretKey":"sa-secret-12345"}""",
            (c, t) => c.AddServiceAccountAsync(new MinioServiceAccountRequest("wso-ws-a", new AwsCredentials("AKIAEXAMPLE12345", "sa-secret-12345")), t)),
        ["update-service-account"] = new("update-service-account",
            $$"""{"accessKey":"AKIAEXAMPLE12345","newPolicy":{{PolicyJson}},"newSecretKey":"new-secret-123","newStatus":"on"}""",
            (c, t) => c.UpdateServiceAccountAsync("AKIAEXAMPLE12345", new MinioServiceAccountUpdate
            {
                NewPolicyJson = PolicyJson,
                NewSecretKey = "new-secret-123",
                NewStatus = "on",
            }, t)),
        ["info-service-account"] = new("info-service-account", """{"accessKey":"AKIAEXAMPLE12345"}""", (c, t) => c.GetServiceAccountAsync("AKIAEXAMPLE12345", t)),
        ["list-service-accounts"] = new("list-service-accounts", """{"user":"wso-ws-a"}""", (c, t) => c.ListServiceAccountsAsync("wso-ws-a", t)),
        ["delete-service-account"] = new("delete-service-account", """{"accessKey":"AKIAEXAMPLE12345"}""",
            (c, t) => c.DeleteServiceAccountAsync("AKIAEXAMPLE12345", t)),
        ["server-info"] = new("server-info", "{}", (c, t) => c.ServerInfoAsync(t)),
    };

    /// <summary>Service-account options madmin-go 3 has and 2.0.7 lacks (servers since RELEASE.2023-02-27 read them).</summary>
    public static readonly IReadOnlyDictionary<string, AdminOperationCase> ServiceAccountOptions = new Dictionary<string, AdminOperationCase>
    {
        ["add-service-account-expiring"] = new("add-service-account",
            $$"""{"targetUser":"wso-ws-a","accessKey":"AKIAEXAMPLE12345","secretKey":"sa-secret-12345","policy":{{PolicyJson}},"name":"wsotmp-0011aabb","description":"temporary ReadOnly credentials of workspace ws-a","expiration":"2031-05-06T07:08:09Z"}""",
            (c, t) => c.AddServiceAccountAsync(new MinioServiceAccountRequest("wso-ws-a", new AwsCredentials("AKIAEXAMPLE12345", "sa-secret-12345"))
            {
                SessionPolicyJson = PolicyJson,
                Name = "wsotmp-0011aabb",
                Description = "temporary ReadOnly credentials of workspace ws-a",
                Expiration = Expiry,
            }, t)),
        ["update-service-account-options"] = new("update-service-account",
            """{"accessKey":"AKIAEXAMPLE12345","newName":"renamed","newDescription":"a new description","newExpiration":"2031-05-06T07:08:09Z","newStatus":"off"}""",
            (c, t) => c.UpdateServiceAccountAsync("AKIAEXAMPLE12345", new MinioServiceAccountUpdate
            {
                NewName = "renamed",
                NewDescription = "a new description",
                NewExpiration = Expiry,
                NewStatus = "off",
            }, t)),
    };

    /// <summary>
    /// Drives the oracle, then our client, through one operation against servers answering with <paramref name="answer"/>;
    /// returns both recorded requests (exactly one each).
    /// </summary>
    public static async Task<(RecordedRequest Theirs, RecordedRequest Ours)> RecordBothAsync(GoOracleBinary oracle, AdminOperationCase operation,
        Func<RecordedRequest, ScriptedResponse> answer, CancellationToken cancellationToken)
    {
        await using var server = new RecordingAdminServer(answer);
        await oracle.RunAsync([], "admin", server.HostPort, AdminRequestComparison.AdminKey, AdminRequestComparison.AdminSecret,
            operation.GoOperation, operation.GoArguments);
        var theirs = Assert.Single(server.Requests);
        server.Clear();

        using var http = new HttpClient();
        await operation.Ours(AdminRequestComparison.OurClient(server, http), cancellationToken);
        return (theirs, Assert.Single(server.Requests));
    }
}
