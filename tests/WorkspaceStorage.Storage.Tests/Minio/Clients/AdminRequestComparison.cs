using System.Collections.Concurrent;
using System.Text;
using System.Text.Json.Nodes;
using WorkspaceStorage.Core.Signing;
using WorkspaceStorage.Storage.Http;
using WorkspaceStorage.Storage.Minio;

namespace WorkspaceStorage.Storage.Tests.Minio.Clients;

/// <summary>
/// The rule every differential test applies: two clients performing one operation send the same method, path, query
/// (order aside, SigV4 sorts it) and body (decrypted when encrypted; JSON key order aside), both signed for "s3" with
/// the admin key and with a body hash that matches the bytes.
/// </summary>
internal static class AdminRequestComparison
{
    public const string AdminKey = "oracleadmin";
    public const string AdminSecret = "oracle-Secret+123/with=punct";

    /// <summary>Requests whose bodies are madmin-encrypted (compared after decryption).</summary>
    private static readonly HashSet<string> EncryptedRequests =
        ["add-user", "idp/builtin/policy/attach", "idp/builtin/policy/detach", "add-service-account", "update-service-account"];

    private static readonly ConcurrentDictionary<string, byte[]> SealedAnswers = new(StringComparer.Ordinal);

    public static MinioAdminClient OurClient(RecordingAdminServer server, HttpClient http) =>
        new(http, new MinioAdminOptions
        {
            Endpoint = server.Endpoint,
            AdminCredentials = new AwsCredentials(AdminKey, AdminSecret),
            Retry = TestRetry,
        });

    /// <summary>
    /// One attempt, and a generous timeout: a sealed answer costs the server a 64 MiB Argon2id derivation, which takes
    /// seconds on a loaded 2-core machine.
    /// </summary>
    public static RetryOptions TestRetry { get; } = new() { MaxAttempts = 1, AttemptTimeout = TimeSpan.FromSeconds(60) };

    /// <summary>Asserts the two requests are the same operation on the wire; <paramref name="client"/> names the other side.</summary>
    public static void AssertSame(RecordedRequest theirs, RecordedRequest ours, string client)
    {
        Assert.True(theirs.Method == ours.Method, $"method: {client} {theirs.Method}, ours {ours.Method}");
        Assert.True(theirs.Path == ours.Path, $"path: {client} {theirs.Path}, ours {ours.Path}");
        Assert.True(theirs.SortedQuery.SequenceEqual(ours.SortedQuery),
            $"query: {client} ?{string.Join('&', theirs.SortedQuery)}, ours ?{string.Join('&', ours.SortedQuery)}");
        var (theirBody, ourBody) = (Canonical(BodyOf(theirs)), Canonical(BodyOf(ours)));
        Assert.True(theirBody == ourBody, $"body of {theirs.Command}: {client} {theirBody}, ours {ourBody}");
        foreach (var request in new[] { theirs, ours })
        {
            Assert.Equal(SigV4Signer.HashHex(request.Body), request.Header("x-amz-content-sha256"));
            Assert.Contains($"Credential={AdminKey}/", request.Header("authorization"), StringComparison.Ordinal);
            Assert.Contains("/s3/aws4_request", request.Header("authorization"), StringComparison.Ordinal);
        }
    }

    public static string BodyOf(RecordedRequest request)
    {
        if (request.Body.Length == 0)
        {
            return "";
        }

        var plain = EncryptedRequests.Contains(request.Command) ? MinioPayloadCipher.Decrypt(AdminSecret, request.Body) : request.Body;
        return Encoding.UTF8.GetString(plain);
    }

    /// <summary>JSON with object keys sorted (arrays keep their order), so that field order does not count.</summary>
    public static string Canonical(string json)
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

    /// <summary>
    /// An answer encrypted with the admin secret. Each distinct answer is sealed once per run and then replayed: a real
    /// server draws a new salt every time, but a client cannot tell, and the tests save an Argon2id derivation per call.
    /// </summary>
    public static ScriptedResponse Sealed(string json) =>
        new(200, SealedAnswers.GetOrAdd(json, j => MinioPayloadCipher.Encrypt(AdminSecret, Encoding.UTF8.GetBytes(j))));
}
