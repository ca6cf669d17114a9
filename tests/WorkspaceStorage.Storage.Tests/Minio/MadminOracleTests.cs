using System.Security.Cryptography;
using System.Text;
using System.Text.Json.Nodes;
using WorkspaceStorage.Core.Signing;
using WorkspaceStorage.Storage.Http;
using WorkspaceStorage.Storage.Minio;

namespace WorkspaceStorage.Storage.Tests.Minio;

/// <summary>
/// The official client (madmin-go 2.0.7, Debian's package) as an oracle: payloads encrypted by one side decrypt on the
/// other, and for every admin operation both clients send the same method, path, query and (decrypted) body to the
/// same recording server. Skipped with the reason when Go or madmin-go is not installed.
/// </summary>
[Collection(GoOracleCollection.Name)]
public sealed class MadminOracleTests(GoOracle oracle)
{
    private const string AdminKey = "oracleadmin";
    private const string AdminSecret = "oracle-Secret+123/with=punct";
    private const string PolicyJson =
        """{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":["s3:GetObject"],"Resource":["arn:aws:s3:::b/ws-a/*"]}]}""";

    private static readonly Dictionary<string, (string GoArguments, Func<MinioAdminClient, CancellationToken, Task> Ours)> Cases = new()
    {
        ["add-user"] = ("""{"accessKey":"wso-ws-a","secretKey":"user-secret-1"}""",
            (c, t) => c.AddUserAsync("wso-ws-a", "user-secret-1", enabled: true, t)),
        ["remove-user"] = ("""{"accessKey":"wso-ws-a"}""", (c, t) => c.RemoveUserAsync("wso-ws-a", t)),
        ["list-users"] = ("{}", (c, t) => c.ListUsersAsync(t)),
        ["user-info"] = ("""{"accessKey":"wso-ws_a b"}""", (c, t) => c.GetUserInfoAsync("wso-ws_a b", t)),
        ["set-user-status"] = ("""{"accessKey":"wso-ws-a","status":"disabled"}""", (c, t) => c.SetUserStatusAsync("wso-ws-a", enabled: false, t)),
        ["add-canned-policy"] = ($$"""{"name":"wso-ws-a-policy","policy":{{PolicyJson}}}""",
            (c, t) => c.AddCannedPolicyAsync("wso-ws-a-policy", PolicyJson, t)),
        ["remove-canned-policy"] = ("""{"name":"wso-ws-a-policy"}""", (c, t) => c.RemoveCannedPolicyAsync("wso-ws-a-policy", t)),
        ["info-canned-policy"] = ("""{"name":"wso-ws-a-policy"}""", (c, t) => c.GetCannedPolicyAsync("wso-ws-a-policy", t)),
        ["list-canned-policies"] = ("{}", (c, t) => c.ListCannedPoliciesAsync(t)),
        ["attach-policy"] = ("""{"policies":["wso-ws-a-policy"],"user":"wso-ws-a"}""",
            (c, t) => c.AttachPolicyAsync(MinioPolicyTarget.User("wso-ws-a"), ["wso-ws-a-policy"], t)),
        ["attach-policy-group"] = ("""{"policies":["p1","p2"],"group":"ws-a"}""",
            (c, t) => c.AttachPolicyAsync(MinioPolicyTarget.Group("ws-a"), ["p1", "p2"], t)),
        ["detach-policy"] = ("""{"policies":["wso-ws-a-policy"],"user":"wso-ws-a"}""",
            (c, t) => c.DetachPolicyAsync(MinioPolicyTarget.User("wso-ws-a"), ["wso-ws-a-policy"], t)),
        ["set-policy"] = ("""{"name":"p1,p2","entity":"ws-a","isGroup":true}""",
            (c, t) => c.SetPolicyAsync(MinioPolicyTarget.Group("ws-a"), ["p1", "p2"], t)),
        ["policy-entities"] = ("""{"users":["wso-ws-a","u2"],"policies":["wso-ws-a-policy"]}""",
            (c, t) => c.GetPolicyEntitiesAsync(["wso-ws-a", "u2"], null, ["wso-ws-a-policy"], t)),
        ["update-group-members"] = ("""{"group":"ws-a","members":["u1","u2"],"isRemove":false}""",
            (c, t) => c.UpdateGroupMembersAsync("ws-a", ["u1", "u2"], isRemove: false, t)),
        ["update-group-members-remove"] = ("""{"group":"ws-a","members":[],"isRemove":true}""",
            (c, t) => c.UpdateGroupMembersAsync("ws-a", [], isRemove: true, t)),
        ["group-info"] = ("""{"group":"ws-a"}""", (c, t) => c.GetGroupAsync("ws-a", t)),
        ["list-groups"] = ("{}", (c, t) => c.ListGroupsAsync(t)),
        ["add-service-account"] = ($$"""{"targetUser":"wso-ws-a","accessKey":"AKIAEXAMPLE12345","secretKey":"sa-secret-12345","policy":{{PolicyJson}}}""",
            (c, t) => c.AddServiceAccountAsync(new MinioServiceAccountRequest("wso-ws-a", new AwsCredentials("AKIAEXAMPLE12345", "sa-secret-12345"))
            {
                SessionPolicyJson = PolicyJson,
            }, t)),
        ["add-service-account-inherit"] = ("""{"targetUser":"wso-ws-a","accessKey":"AKIAEXAMPLE12345","secretKey":"sa-secret-12345"}""",
            (c, t) => c.AddServiceAccountAsync(new MinioServiceAccountRequest("wso-ws-a", new AwsCredentials("AKIAEXAMPLE12345", "sa-secret-12345")), t)),
        ["update-service-account"] = ($$"""{"accessKey":"AKIAEXAMPLE12345","newPolicy":{{PolicyJson}},"newSecretKey":"new-secret-123","newStatus":"on"}""",
            (c, t) => c.UpdateServiceAccountAsync("AKIAEXAMPLE12345", new MinioServiceAccountUpdate
            {
                NewPolicyJson = PolicyJson,
                NewSecretKey = "new-secret-123",
                NewStatus = "on",
            }, t)),
        ["info-service-account"] = ("""{"accessKey":"AKIAEXAMPLE12345"}""", (c, t) => c.GetServiceAccountAsync("AKIAEXAMPLE12345", t)),
        ["list-service-accounts"] = ("""{"user":"wso-ws-a"}""", (c, t) => c.ListServiceAccountsAsync("wso-ws-a", t)),
        ["delete-service-account"] = ("""{"accessKey":"AKIAEXAMPLE12345"}""", (c, t) => c.DeleteServiceAccountAsync("AKIAEXAMPLE12345", t)),
        ["server-info"] = ("{}", (c, t) => c.ServerInfoAsync(t)),
    };

    /// <summary>Requests whose bodies are madmin-encrypted (compared after decryption).</summary>
    private static readonly HashSet<string> EncryptedRequests =
        ["add-user", "idp/builtin/policy/attach", "idp/builtin/policy/detach", "add-service-account", "update-service-account"];

    public static TheoryData<string> Operations => [.. Cases.Keys];

    [Fact]
    public async Task Payload_encrypted_in_csharp_decrypts_in_madmin()
    {
        var plaintext = Encoding.UTF8.GetBytes("""{"status":"enabled","secretKey":"abc-123"}""");

        var decrypted = await oracle.RunAsync(MinioPayloadCipher.Encrypt(AdminSecret, plaintext), "decrypt", AdminSecret);

        Assert.Equal(plaintext, decrypted);
    }

    [Fact]
    public async Task Payload_encrypted_by_madmin_decrypts_in_csharp()
    {
        var plaintext = Encoding.UTF8.GetBytes("""{"accounts":["AK1","AK2"]}""");

        var encrypted = await oracle.RunAsync(plaintext, "encrypt", AdminSecret);

        // madmin 2.0.7 picks id 0 (Argon2id + AES-GCM) on CPUs with AES instructions, id 1 (ChaCha20) otherwise.
        Assert.Contains(encrypted[32], new byte[] { MinioPayloadCipher.Argon2IdAesGcm, MinioPayloadCipher.Argon2IdChaCha20Poly1305 });
        Assert.Equal(plaintext, MinioPayloadCipher.Decrypt(AdminSecret, encrypted));
    }

    [Fact]
    public async Task Multi_fragment_payloads_cross_in_both_directions()
    {
        var plaintext = RandomNumberGenerator.GetBytes(40_000);

        Assert.Equal(plaintext, await oracle.RunAsync(MinioPayloadCipher.Encrypt(AdminSecret, plaintext), "decrypt", AdminSecret));
        Assert.Equal(plaintext, MinioPayloadCipher.Decrypt(AdminSecret, await oracle.RunAsync(plaintext, "encrypt", AdminSecret)));
    }

    [Fact]
    public async Task Madmin_refuses_a_payload_sealed_with_another_secret()
    {
        var binary = oracle.Require();
        var sealedElsewhere = MinioPayloadCipher.Encrypt("another-secret", "{}"u8);

        var info = new System.Diagnostics.ProcessStartInfo(binary) { RedirectStandardInput = true, RedirectStandardError = true, RedirectStandardOutput = true };
        info.ArgumentList.Add("decrypt");
        info.ArgumentList.Add(AdminSecret);
        using var process = System.Diagnostics.Process.Start(info)!;
        await process.StandardInput.BaseStream.WriteAsync(sealedElsewhere, TestContext.Current.CancellationToken);
        process.StandardInput.Close();
        await process.WaitForExitAsync(TestContext.Current.CancellationToken);

        Assert.NotEqual(0, process.ExitCode);
    }

    [Theory]
    [MemberData(nameof(Operations))]
    public async Task Request_matches_madmin(string operation)
    {
        oracle.Require();
        var (goArguments, ours) = Cases[operation];
        var cancellation = TestContext.Current.CancellationToken;
        await using var server = new RecordingAdminServer(MadminCompatibleAnswer);

        var goOperation = operation switch
        {
            "attach-policy-group" => "attach-policy",
            "update-group-members-remove" => "update-group-members",
            "add-service-account-inherit" => "add-service-account",
            _ => operation,
        };
        await oracle.RunAsync([], "admin", server.HostPort, AdminKey, AdminSecret, goOperation, goArguments);
        var expected = Assert.Single(server.Requests);
        server.Clear();

        using var http = new HttpClient();
        var client = new MinioAdminClient(http, new MinioAdminOptions
        {
            Endpoint = server.Endpoint,
            AdminCredentials = new AwsCredentials(AdminKey, AdminSecret),
            Retry = new RetryOptions { MaxAttempts = 1 },
        });
        await ours(client, cancellation);
        var actual = Assert.Single(server.Requests);

        Assert.Equal(expected.Method, actual.Method);
        Assert.Equal(expected.Path, actual.Path);
        Assert.Equal(expected.SortedQuery, actual.SortedQuery);
        Assert.Equal(Canonical(BodyOf(expected)), Canonical(BodyOf(actual)));
        foreach (var request in new[] { expected, actual })
        {
            Assert.Equal(SigV4Signer.HashHex(request.Body), request.Header("x-amz-content-sha256"));
            Assert.Contains($"Credential={AdminKey}/", request.Header("authorization"), StringComparison.Ordinal);
            Assert.Contains("/s3/aws4_request", request.Header("authorization"), StringComparison.Ordinal);
        }
    }

    private static string BodyOf(RecordedRequest request)
    {
        if (request.Body.Length == 0)
        {
            return "";
        }

        var plain = EncryptedRequests.Contains(request.Command) ? MinioPayloadCipher.Decrypt(AdminSecret, request.Body) : request.Body;
        return Encoding.UTF8.GetString(plain);
    }

    /// <summary>JSON with object keys sorted (arrays keep their order), so that field order does not count.</summary>
    private static string Canonical(string json)
    {
        if (json.Length == 0)
        {
            return "";
        }

        static JsonNode? Sort(JsonNode? node) => node switch
        {
            JsonObject o => new JsonObject(o.OrderBy(p => p.Key, StringComparer.Ordinal).Select(p => KeyValuePair.Create(p.Key, Sort(p.Value)))),
            JsonArray a => new JsonArray([.. a.Select(Sort)]),
            _ => node?.DeepClone(),
        };

        return Sort(JsonNode.Parse(json))!.ToJsonString();
    }

    /// <summary>What madmin 2.0.7 expects from a MinIO server of its time (attach 201, detach 204, bare service-account lists).</summary>
    private static ScriptedResponse MadminCompatibleAnswer(RecordedRequest request)
    {
        static ScriptedResponse Sealed(string json) => new(200, MinioPayloadCipher.Encrypt(AdminSecret, Encoding.UTF8.GetBytes(json)));

        return request.Command switch
        {
            "list-users" => Sealed("""{"wso-ws-a":{"policyName":"p1,p2","status":"enabled"}}"""),
            "user-info" => ScriptedResponse.Json("""{"policyName":"p1","status":"enabled","memberOf":["ws-a"]}"""),
            "info-canned-policy" => ScriptedResponse.Json($$"""{"PolicyName":"wso-ws-a-policy","Policy":{{PolicyJson}}}"""),
            "list-canned-policies" => ScriptedResponse.Json($$"""{"wso-ws-a-policy":{{PolicyJson}}}"""),
            "idp/builtin/policy/attach" => ScriptedResponse.Empty(201),
            "idp/builtin/policy/detach" => ScriptedResponse.Empty(204),
            "idp/builtin/policy-entities" => Sealed("""{"timestamp":"2024-01-01T00:00:00Z","userMappings":[{"user":"wso-ws-a","policies":["p1"]}]}"""),
            "group" => ScriptedResponse.Json("""{"name":"ws-a","status":"enabled","members":["u1"],"policy":"p1"}"""),
            "groups" => ScriptedResponse.Json("""["ws-a","ws-b"]"""),
            "add-service-account" => Sealed("""{"credentials":{"accessKey":"AKIAEXAMPLE12345","secretKey":"sa-secret-12345","expiration":"1970-01-01T00:00:00Z"}}"""),
            "update-service-account" or "delete-service-account" => ScriptedResponse.Empty(204),
            "info-service-account" => Sealed("""{"parentUser":"wso-ws-a","accountStatus":"on","impliedPolicy":true,"policy":""}"""),
            "list-service-accounts" => Sealed("""{"accounts":["AKIAEXAMPLE12345"]}"""),
            "info" => ScriptedResponse.Json("""{"mode":"online"}"""),
            _ => ScriptedResponse.Empty(200),
        };
    }
}
