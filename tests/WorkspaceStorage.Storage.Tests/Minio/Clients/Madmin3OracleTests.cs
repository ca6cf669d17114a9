namespace WorkspaceStorage.Storage.Tests.Minio.Clients;

/// <summary>
/// madmin-go 3.x (Debian trixie's package, the library the 2025 mc is built with) as an oracle, like
/// <see cref="MadminOracleTests"/> for 2.0.7, answering as a current MinIO server does: attach and detach 200 with an
/// encrypted summary, service-account lists of objects with expiry. Also the service-account options 2.0.7 lacks.
/// </summary>
[Collection(Madmin3OracleCollection.Name)]
public sealed class Madmin3OracleTests(Madmin3Oracle oracle) : MadminOracleContract
{
    public static TheoryData<string> Operations => [.. AdminOperationCases.Common.Keys, .. AdminOperationCases.ServiceAccountOptions.Keys];

    internal override GoOracleBinary Oracle => oracle.Binary;

    [Theory]
    [MemberData(nameof(Operations))]
    public Task Request_matches_madmin_3(string operation) =>
        AssertRequestMatchesAsync(operation,
            AdminOperationCases.Common.TryGetValue(operation, out var common) ? common : AdminOperationCases.ServiceAccountOptions[operation],
            "madmin-go 3");

    internal override ScriptedResponse Answer(RecordedRequest request) => CurrentMinioAnswers.For(request);
}

/// <summary>Answers of a current MinIO server (RELEASE.2023-06-23 and later) to each admin command, for recording servers.</summary>
internal static class CurrentMinioAnswers
{
    public static ScriptedResponse For(RecordedRequest request) => request.Command switch
    {
        "list-users" => AdminRequestComparison.Sealed("""{"wso-ws-a":{"policyName":"p1,p2","status":"enabled"}}"""),
        "user-info" => ScriptedResponse.Json("""{"policyName":"p1","status":"enabled","memberOf":["ws-a"]}"""),
        "info-canned-policy" => ScriptedResponse.Json(
            $$"""{"PolicyName":"wso-ws-a-policy","Policy":{{AdminOperationCases.PolicyJson}},"CreateDate":"2025-01-01T00:00:00Z","UpdateDate":"2025-01-01T00:00:00Z"}"""),
        "list-canned-policies" => ScriptedResponse.Json($$"""{"wso-ws-a-policy":{{AdminOperationCases.PolicyJson}}}"""),
        "idp/builtin/policy/attach" => AdminRequestComparison.Sealed("""{"policiesAttached":["wso-ws-a-policy"],"user":"wso-ws-a","updatedAt":"2025-01-01T00:00:00Z"}"""),
        "idp/builtin/policy/detach" => AdminRequestComparison.Sealed("""{"policiesDetached":["wso-ws-a-policy"],"user":"wso-ws-a","updatedAt":"2025-01-01T00:00:00Z"}"""),
        "idp/builtin/policy-entities" => AdminRequestComparison.Sealed("""{"timestamp":"2025-01-01T00:00:00Z","userMappings":[{"user":"wso-ws-a","policies":["p1"]}]}"""),
        "group" => ScriptedResponse.Json("""{"name":"ws-a","status":"enabled","members":["u1"],"policy":"p1","updatedAt":"2025-01-01T00:00:00Z"}"""),
        "groups" => ScriptedResponse.Json("""["ws-a","ws-b"]"""),
        "add-service-account" => AdminRequestComparison.Sealed(
            """{"credentials":{"accessKey":"AKIAEXAMPLE12345","secretKey":"sa-secret-12345","expiration":"2031-05-06T07:08:09Z"}}"""),
        "update-service-account" or "delete-service-account" => ScriptedResponse.Empty(204),
        "info-service-account" => AdminRequestComparison.Sealed(
            """{"parentUser":"wso-ws-a","accountStatus":"on","impliedPolicy":true,"policy":"","name":"n","description":"d","expiration":"2031-05-06T07:08:09Z"}"""),
        "list-service-accounts" => AdminRequestComparison.Sealed(
            """{"accounts":[{"parentUser":"wso-ws-a","accountStatus":"on","impliedPolicy":true,"accessKey":"AKIAEXAMPLE12345","expiration":"2031-05-06T07:08:09Z"}]}"""),
        "info" => ScriptedResponse.Json("""{"mode":"online","deploymentID":"d","servers":[]}"""),
        _ => ScriptedResponse.Empty(200),
    };
}
