using WorkspaceStorage.Storage.Tests.Minio.Clients;

namespace WorkspaceStorage.Storage.Tests.Minio;

/// <summary>
/// madmin-go 2.0.7 (Debian bookworm's package, the 2023 client) as an oracle: payloads cross in both directions, and for
/// every admin operation both clients send the same method, path, query and (decrypted) body to the same recording
/// server, answering as a MinIO server of 2023-01 did. Skipped with the reason when Go or madmin-go is not installed.
/// </summary>
[Collection(GoOracleCollection.Name)]
public sealed class MadminOracleTests(GoOracle oracle) : MadminOracleContract
{
    public static TheoryData<string> Operations => [.. AdminOperationCases.Common.Keys];

    internal override GoOracleBinary Oracle => oracle.Binary;

    [Theory]
    [MemberData(nameof(Operations))]
    public Task Request_matches_madmin(string operation) =>
        AssertRequestMatchesAsync(operation, AdminOperationCases.Common[operation], "madmin-go 2.0.7");

    /// <summary>
    /// Server info: like madmin-go 3 and mc, ours asks for metrics=false; 2.0.7 sent no query. The handler has no
    /// required query on any server version, and metrics=false is its default, so both forms are answered alike.
    /// </summary>
    internal override IReadOnlyList<KeyValuePair<string, string>> ExtraQueryOfOurs(string operation) =>
        operation == "server-info" ? [new("metrics", "false")] : [];

    /// <summary>What madmin 2.0.7 expects from a MinIO server of its time (attach 201, detach 204, bare service-account lists).</summary>
    internal override ScriptedResponse Answer(RecordedRequest request) => request.Command switch
    {
        "list-users" => AdminRequestComparison.Sealed("""{"wso-ws-a":{"policyName":"p1,p2","status":"enabled"}}"""),
        "user-info" => ScriptedResponse.Json("""{"policyName":"p1","status":"enabled","memberOf":["ws-a"]}"""),
        "info-canned-policy" => ScriptedResponse.Json($$"""{"PolicyName":"wso-ws-a-policy","Policy":{{AdminOperationCases.PolicyJson}}}"""),
        "list-canned-policies" => ScriptedResponse.Json($$"""{"wso-ws-a-policy":{{AdminOperationCases.PolicyJson}}}"""),
        "idp/builtin/policy/attach" => ScriptedResponse.Empty(201),
        "idp/builtin/policy/detach" => ScriptedResponse.Empty(204),
        "idp/builtin/policy-entities" => AdminRequestComparison.Sealed("""{"timestamp":"2024-01-01T00:00:00Z","userMappings":[{"user":"wso-ws-a","policies":["p1"]}]}"""),
        "group" => ScriptedResponse.Json("""{"name":"ws-a","status":"enabled","members":["u1"],"policy":"p1"}"""),
        "groups" => ScriptedResponse.Json("""["ws-a","ws-b"]"""),
        "add-service-account" => AdminRequestComparison.Sealed("""{"credentials":{"accessKey":"AKIAEXAMPLE12345","secretKey":"sa-secret-12345","expiration":"1970-01-01T00:00:00Z"}}"""),
        "update-service-account" or "delete-service-account" => ScriptedResponse.Empty(204),
        "info-service-account" => AdminRequestComparison.Sealed("""{"parentUser":"wso-ws-a","accountStatus":"on","impliedPolicy":true,"policy":""}"""),
        "list-service-accounts" => AdminRequestComparison.Sealed("""{"accounts":["AKIAEXAMPLE12345"]}"""),
        "info" => ScriptedResponse.Json("""{"mode":"online"}"""),
        _ => ScriptedResponse.Empty(200),
    };
}
