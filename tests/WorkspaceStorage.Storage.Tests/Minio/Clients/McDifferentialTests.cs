using WorkspaceStorage.Core.Signing;
using WorkspaceStorage.Storage.Minio;

namespace WorkspaceStorage.Storage.Tests.Minio.Clients;

/// <summary>
/// The real mc (Debian trixie's minio-client, a 2025 build) and our client perform the same admin operation against
/// a recording server answering as a current MinIO does; every request must match: method, path, query and the
/// decrypted body. mc runs with --json and its own config directory.
/// </summary>
public sealed class McDifferentialTests
{
    private const string PolicyFile = "{policy-file}";

    /// <summary>The policy as a person writes it (indented, key order of their choosing); mc sends the file's bytes.</summary>
    private const string PolicyFileText = """
        {
          "Statement": [ { "Resource": ["arn:aws:s3:::b/ws-a/*"], "Action": ["s3:GetObject"], "Effect": "Allow" } ],
          "Version": "2012-10-17"
        }
        """;

    private static readonly Dictionary<string, (string[] Mc, Func<MinioAdminClient, CancellationToken, Task> Ours)> Cases = new()
    {
        // The operations issue 12 names.
        ["user add"] = (["user", "add", McCli.Alias, "wso-ws-a", "user-secret-1"], (c, t) => c.AddUserAsync("wso-ws-a", "user-secret-1", enabled: true, t)),
        ["user remove"] = (["user", "remove", McCli.Alias, "wso-ws-a"], (c, t) => c.RemoveUserAsync("wso-ws-a", t)),
        ["user info"] = (["user", "info", McCli.Alias, "wso-ws-a"], (c, t) => c.GetUserInfoAsync("wso-ws-a", t)),
        ["policy create"] = (["policy", "create", McCli.Alias, "wso-ws-a-policy", PolicyFile],
            (c, t) => c.AddCannedPolicyAsync("wso-ws-a-policy", AdminOperationCases.PolicyJson, t)),
        ["policy info"] = (["policy", "info", McCli.Alias, "wso-ws-a-policy"], (c, t) => c.GetCannedPolicyAsync("wso-ws-a-policy", t)),
        ["policy remove"] = (["policy", "remove", McCli.Alias, "wso-ws-a-policy"], (c, t) => c.RemoveCannedPolicyAsync("wso-ws-a-policy", t)),
        ["policy attach --user"] = (["policy", "attach", McCli.Alias, "wso-ws-a-policy", "--user", "wso-ws-a"],
            (c, t) => c.AttachPolicyAsync(MinioPolicyTarget.User("wso-ws-a"), ["wso-ws-a-policy"], t)),
        ["policy detach --user"] = (["policy", "detach", McCli.Alias, "wso-ws-a-policy", "--user", "wso-ws-a"],
            (c, t) => c.DetachPolicyAsync(MinioPolicyTarget.User("wso-ws-a"), ["wso-ws-a-policy"], t)),
        ["svcacct add --expiry --policy"] = (
        [
            "user", "svcacct", "add", McCli.Alias, "wso-ws-a", "--access-key", "AKIAEXAMPLE12345", "--secret-key", "sa-secret-12345",
            "--policy", PolicyFile, "--expiry", "2031-05-06T07:08:09Z", "--name", "wsotmp-0011aabb", "--description", "temporary credentials",
        ], (c, t) => c.AddServiceAccountAsync(new MinioServiceAccountRequest("wso-ws-a", new AwsCredentials("AKIAEXAMPLE12345", "sa-secret-12345"))
        {
            SessionPolicyJson = AdminOperationCases.PolicyJson,
            Name = "wsotmp-0011aabb",
            Description = "temporary credentials",
            Expiration = AdminOperationCases.Expiry,
        }, t)),
        ["svcacct info"] = (["user", "svcacct", "info", McCli.Alias, "AKIAEXAMPLE12345"], (c, t) => c.GetServiceAccountAsync("AKIAEXAMPLE12345", t)),
        ["svcacct remove"] = (["user", "svcacct", "remove", McCli.Alias, "AKIAEXAMPLE12345"], (c, t) => c.DeleteServiceAccountAsync("AKIAEXAMPLE12345", t)),
        ["info"] = (["info", McCli.Alias], (c, t) => c.ServerInfoAsync(t)),

        // The other commands over endpoints our client calls.
        ["svcacct add (inherits the user's policy)"] = (
            ["user", "svcacct", "add", McCli.Alias, "wso-ws-a", "--access-key", "AKIAEXAMPLE12345", "--secret-key", "sa-secret-12345"],
            (c, t) => c.AddServiceAccountAsync(new MinioServiceAccountRequest("wso-ws-a", new AwsCredentials("AKIAEXAMPLE12345", "sa-secret-12345")), t)),
        ["svcacct ls"] = (["user", "svcacct", "ls", McCli.Alias, "wso-ws-a"], (c, t) => c.ListServiceAccountsAsync("wso-ws-a", t)),
        ["svcacct edit --secret-key"] = (["user", "svcacct", "edit", McCli.Alias, "AKIAEXAMPLE12345", "--secret-key", "new-secret-123"],
            (c, t) => c.UpdateServiceAccountAsync("AKIAEXAMPLE12345", new MinioServiceAccountUpdate { NewSecretKey = "new-secret-123" }, t)),
        ["svcacct disable"] = (["user", "svcacct", "disable", McCli.Alias, "AKIAEXAMPLE12345"],
            (c, t) => c.UpdateServiceAccountAsync("AKIAEXAMPLE12345", new MinioServiceAccountUpdate { NewStatus = "off" }, t)),
        ["user disable"] = (["user", "disable", McCli.Alias, "wso-ws-a"], (c, t) => c.SetUserStatusAsync("wso-ws-a", enabled: false, t)),
        ["user enable"] = (["user", "enable", McCli.Alias, "wso-ws-a"], (c, t) => c.SetUserStatusAsync("wso-ws-a", enabled: true, t)),
        ["user ls"] = (["user", "ls", McCli.Alias], (c, t) => c.ListUsersAsync(t)),
        ["policy ls"] = (["policy", "ls", McCli.Alias], (c, t) => c.ListCannedPoliciesAsync(t)),
        ["policy entities"] = (["policy", "entities", McCli.Alias, "--user", "wso-ws-a", "--policy", "wso-ws-a-policy"],
            (c, t) => c.GetPolicyEntitiesAsync(["wso-ws-a"], null, ["wso-ws-a-policy"], t)),
        ["policy attach --group"] = (["policy", "attach", McCli.Alias, "p1", "p2", "--group", "ws-a"],
            (c, t) => c.AttachPolicyAsync(MinioPolicyTarget.Group("ws-a"), ["p1", "p2"], t)),
        ["group add"] = (["group", "add", McCli.Alias, "ws-a", "u1", "u2"], (c, t) => c.UpdateGroupMembersAsync("ws-a", ["u1", "u2"], isRemove: false, t)),
        ["group rm (members)"] = (["group", "rm", McCli.Alias, "ws-a", "u1"], (c, t) => c.UpdateGroupMembersAsync("ws-a", ["u1"], isRemove: true, t)),
        ["group rm"] = (["group", "rm", McCli.Alias, "ws-a"], (c, t) => c.UpdateGroupMembersAsync("ws-a", [], isRemove: true, t)),
        ["group info"] = (["group", "info", McCli.Alias, "ws-a"], (c, t) => c.GetGroupAsync("ws-a", t)),
        ["group ls"] = (["group", "ls", McCli.Alias], (c, t) => c.ListGroupsAsync(t)),
    };

    public static TheoryData<string> Commands => [.. Cases.Keys];

    [Theory]
    [MemberData(nameof(Commands))]
    public async Task Request_matches_mc(string command)
    {
        var tools = MinioClientTools.Require();
        var (mcArguments, ours) = Cases[command];
        await using var server = new RecordingAdminServer(Answer);
        using var mc = new McCli(tools, server.Endpoint, AdminRequestComparison.AdminKey, AdminRequestComparison.AdminSecret);
        var policyFile = mc.WriteFile("policy.json", PolicyFileText);

        var result = await mc.AdminAsync([.. mcArguments.Select(a => a == PolicyFile ? policyFile : a)]);
        Assert.True(result.Succeeded, result.ToString());
        var theirs = server.Requests;
        server.Clear();
        using var http = new HttpClient();
        await ours(AdminRequestComparison.OurClient(server, http), TestContext.Current.CancellationToken);
        var mine = server.Requests;

        Assert.True(theirs.Count == mine.Count, $"mc sent {string.Join(", ", theirs)}; ours sent {string.Join(", ", mine)}");
        foreach (var (request, ourRequest) in theirs.Zip(mine))
        {
            AdminRequestComparison.AssertSame(request, ourRequest, "mc");
        }
    }

    /// <summary>A current MinIO's answers; the user belongs to no group, so that mc's user info reads no group.</summary>
    private static ScriptedResponse Answer(RecordedRequest request) => request.Command switch
    {
        "user-info" => ScriptedResponse.Json("""{"policyName":"p1","status":"enabled"}"""),
        _ => CurrentMinioAnswers.For(request),
    };
}
