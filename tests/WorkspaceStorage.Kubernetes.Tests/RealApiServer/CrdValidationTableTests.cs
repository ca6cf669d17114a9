using WorkspaceStorage.Testing.Kubernetes;
using System.Text.Json.Nodes;

namespace WorkspaceStorage.Kubernetes.Tests.RealApiServer;

/// <summary>
/// What the CRDs in crds/ refuse, as a user meets it: each row is a manifest breaking one rule the CRD declares (its
/// OpenAPI pattern, enum, length, required list, list type, or an x-kubernetes-validations CEL rule, named in the row),
/// applied with kubectl to the real API server, which refuses it with a non-zero exit and the rule's own message on
/// the field's line. Rows with a first manifest are updates: it is applied (and accepted), then the second is refused
/// and the stored object keeps its generation. The samples being accepted is KubectlOnRealApiServerTests.
/// <para>
/// Rules the CRD cannot hold (they need the operator's flags, other objects, or a parser), checked where named:
/// <list type="bullet">
/// <item>backendRef required when the operator runs without a default backend: Core.Tests WorkspaceStorageValidatorTests.BackendRef_is_required_without_a_default_backend</item>
/// <item>backendRef names an existing StorageBackend, whose admin Secret exists: Operator.Tests WorkspaceStorageScenarios.S11_Invalid_specs_stall_with_the_field_named_and_make_no_backend_call</item>
/// <item>one WorkspaceStorage per workspace: Operator.Tests OwnershipScenarios.A_second_claim_on_the_same_workspace_stalls_and_deleting_it_leaves_the_owner_intact</item>
/// <item>a Secret name another WorkspaceStorage holds: Operator.Tests BadInputScenarios.A_Secret_name_another_WorkspaceStorage_holds_is_not_overwritten_and_the_condition_names_the_holder</item>
/// <item>a second StorageBackend on the same endpoint and bucket: Operator.Tests BadInputScenarios.A_second_StorageBackend_on_the_same_endpoint_and_bucket_is_refused_and_revokes_nothing</item>
/// <item>existingSecretRef names a Secret that exists: Operator.Tests OwnershipScenarios.Bring_your_own_key_from_a_missing_Secret_stalls_naming_the_field</item>
/// <item>caBundle parses as X.509 (the CRD checks only for a BEGIN CERTIFICATE line): Core.Tests StorageBackendValidatorTests.Ca_bundle_must_parse</item>
/// <item>cors.allowedOrigins are origins S3 can match (no path, one '*'): Operator.Tests BucketCorsScenarios.An_origin_S3_cannot_match_stalls_the_backend_naming_the_field</item>
/// </list>
/// Operator-only today although CEL could hold them (the CRD accepts these; the operator stalls them):
/// <list type="bullet">
/// <item>rotationInterval at least 5m, rotationGracePeriod shorter than it: Core.Tests WorkspaceStorageValidatorTests.Rotation_durations_are_checked</item>
/// <item>existingSecretRef.name differs from the Secret the operator writes: Core.Tests WorkspaceStorageValidatorTests.Existing_secret_cannot_be_rotated_nor_be_the_output_secret</item>
/// <item>metadata.name used as the workspace holds only a-z 0-9 - | and at most 128 characters (the CRD checks only its hyphen): Core.Tests WorkspaceStorageValidatorTests.Name_with_dots_is_a_valid_object_name_but_not_a_workspace</item>
/// <item>the default Secret name '&lt;metadata.name&gt;-s3' fits 253 characters: Core.Tests WorkspaceStorageValidatorTests.Default_secret_name_that_would_be_too_long_is_reported_as_the_default</item>
/// <item>endpoint without user info, path, query or fragment: Core.Tests StorageBackendValidatorTests.Endpoint_must_be_a_plain_http_url</item>
/// <item>bucket without '..', '.-', '-.' and not an IP address: Core.Tests StorageBackendValidatorTests.Bucket_follows_s3_naming_rules</item>
/// </list>
/// </para>
/// </summary>
public sealed class CrdValidationTableTests(RealKubeApiServer server)
{
    private const string ApiVersion = "workspacestorage.hypha.amun.ai/v1alpha1";
    private const string Namespace = "default";
    private const string WorkspacePattern = "should match '^[a-z0-9|-]+$'";
    private const string ObjectNamePattern = @"should match '^[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*$'";
    private const string DurationPattern = "should match '^([0-9]+(\\.[0-9]+)?(ns|us|µs|ms|s|m|h))+$'";
    private const string UrlRule = "must be an http:// or https:// URL with a host";
    private const string WorkspaceImmutable = "the workspace (spec.workspace, default metadata.name) is immutable; create a new WorkspaceStorage instead";

    /// <summary>One rule: the manifest (given the row's object name) breaking it, and the field and message the server answers with.</summary>
    private sealed record Row(string Rule, Func<string, JsonObject> Manifest, string Field, string Message, Func<string, JsonObject>? Before = null);

    private static readonly Row[] Rows =
    [
        // WorkspaceStorage.spec.workspace: the S3 prefix verbatim.
        new("workspace pattern refuses '../' traversal", Ws(s => s["workspace"] = "ws-a/../ws-b"), "spec.workspace", WorkspacePattern),
        new("workspace pattern refuses '/'", Ws(s => s["workspace"] = "ws-a/b"), "spec.workspace", WorkspacePattern),
        new("workspace pattern refuses upper case", Ws(s => s["workspace"] = "WS-Upper"), "spec.workspace", WorkspacePattern),
        new("workspace CEL rule: a hyphen (reserved names such as 'etc')", Ws(s => s["workspace"] = "etc"),
            "spec.workspace", "must contain a hyphen (names without one, such as 'etc', are reserved)"),
        new("root CEL rule: metadata.name as the workspace needs a hyphen", WsNamed("etc", _ => { }),
            "spec.workspace", "metadata.name is used as the workspace id and must contain a hyphen; set spec.workspace"),
        new("workspace maxLength 128", Ws(s => s["workspace"] = "ws-" + new string('a', 126)), "spec.workspace", "may not be more than 128"),
        new("workspace CEL transition rule: immutable", Ws(s => s["workspace"] = "ws-second"),
            "spec.workspace", "Invalid value: \"ws-second\": is immutable; create a new WorkspaceStorage instead", Before: Ws(s => s["workspace"] = "ws-first")),
        new("root CEL transition rule: spec.workspace set where metadata.name was the workspace", Ws(s => s["workspace"] = "ws-other"),
            "spec.workspace", WorkspaceImmutable, Before: Ws(_ => { })),
        new("root CEL transition rule: spec.workspace removed, so metadata.name would become the workspace", Ws(_ => { }),
            "spec.workspace", WorkspaceImmutable, Before: Ws(s => s["workspace"] = "ws-kept")),

        // WorkspaceStorage enums, lists and references.
        new("access enum", Ws(s => s["access"] = "WriteOnly"), "spec.access", "Unsupported value: \"WriteOnly\": supported values: \"ReadWrite\", \"ReadOnly\""),
        new("deletionPolicy enum (case matters)", Ws(s => s["deletionPolicy"] = "delete"), "spec.deletionPolicy",
            "Unsupported value: \"delete\": supported values: \"Retain\", \"Delete\""),
        new("secret.keySets item enum", Ws(s => s["secret"] = Json("""{"keySets":["aws","vault"]}""")), "spec.secret.keySets[1]",
            "Unsupported value: \"vault\": supported values: \"aws\", \"s3\", \"cosi\", \"hypha\""),
        new("secret.keySets list-type set: no duplicates", Ws(s => s["secret"] = Json("""{"keySets":["aws","aws"]}""")), "spec.secret.keySets[1]",
            "Duplicate value: \"aws\""),
        new("secret.keySets minItems 1", Ws(s => s["secret"] = Json("""{"keySets":[]}""")), "spec.secret.keySets", "should have at least 1 items"),
        new("secret.name pattern: a DNS-1123 subdomain", Ws(s => s["secret"] = Json("""{"name":"My_Secret"}""")), "spec.secret.name", ObjectNamePattern),
        new("secret.name maxLength 253", Ws(s => s["secret"] = new JsonObject { ["name"] = new string('a', 254) }), "spec.secret.name", "may not be more than 253"),
        new("backendRef.name required", Ws(s => s["backendRef"] = new JsonObject()), "spec.backendRef.name", "Required value"),
        new("structural schema: an unknown (misspelt) field", Ws(s => s["acess"] = "ReadOnly"), "unknown field \"spec.acess\"", "strict decoding error"),

        // WorkspaceStorage.spec.credentials: Go durations and bring-your-own keys.
        new("rotationGracePeriod pattern: a Go duration", Ws(s => s["credentials"] = Json("""{"rotationGracePeriod":"10 minutes"}""")),
            "spec.credentials.rotationGracePeriod", DurationPattern),
        new("rotationGracePeriod pattern: not negative", Ws(s => s["credentials"] = Json("""{"rotationGracePeriod":"-1m"}""")),
            "spec.credentials.rotationGracePeriod", DurationPattern),
        new("rotationInterval pattern: no 'd' unit", Ws(s => s["credentials"] = Json("""{"rotationInterval":"30d"}""")),
            "spec.credentials.rotationInterval", DurationPattern),
        new("credentials CEL rule: rotationInterval with existingSecretRef",
            Ws(s => s["credentials"] = Json("""{"rotationInterval":"720h","existingSecretRef":{"name":"my-keys"}}""")), "spec.credentials",
            "rotationInterval cannot be combined with existingSecretRef: the operator does not rotate keys it did not create"),
        new("existingSecretRef.accessKeyIdKey pattern: a Secret data key", Ws(s => s["credentials"] = Json("""{"existingSecretRef":{"name":"my-keys","accessKeyIdKey":"AWS ACCESS KEY"}}""")),
            "spec.credentials.existingSecretRef.accessKeyIdKey", "should match '^[-._a-zA-Z0-9]+$'"),

        // StorageBackend.
        new("StorageBackend spec required", name => new JsonObject { ["apiVersion"] = ApiVersion, ["kind"] = "StorageBackend", ["metadata"] = new JsonObject { ["name"] = name } },
            "spec", "Required value"),
        new("type required", Backend(s => s.Remove("type")), "spec.type", "Required value"),
        new("type enum", Backend(s => s["type"] = "garage"), "spec.type", "Unsupported value: \"garage\": supported values: \"minio\", \"ceph-rgw\", \"aws\""),
        new("endpoint CEL rule: http or https", Backend(s => s["endpoint"] = "ftp://s3.example.org"), "spec.endpoint", UrlRule),
        new("endpoint CEL rule: a URL, not host:port", Backend(s => s["endpoint"] = "127.0.0.1:7480"), "spec.endpoint", UrlRule),
        new("publicEndpoint CEL rule: a host", Backend(s => s["publicEndpoint"] = "https://"), "spec.publicEndpoint", UrlRule),
        new("bucket pattern: S3 bucket names", Backend(s => s["bucket"] = "Hypha_Workspaces"), "spec.bucket", "should match '^[a-z0-9][a-z0-9.-]{1,61}[a-z0-9]$'"),
        new("pathStyle type boolean", Backend(s => s["pathStyle"] = "yes"), "spec.pathStyle", "must be of type boolean"),
        new("adminCredentialsSecretRef.namespace required", Backend(s => s["adminCredentialsSecretRef"] = Json("""{"name":"admin"}""")),
            "spec.adminCredentialsSecretRef.namespace", "Required value"),
        new("adminCredentialsSecretRef.name pattern", Backend(s => s["adminCredentialsSecretRef"] = Json("""{"name":"Admin Secret","namespace":"wso"}""")),
            "spec.adminCredentialsSecretRef.name", ObjectNamePattern),
        new("caBundle CEL rule: PEM certificates", Backend(s => s["caBundle"] = "not a certificate"), "spec.caBundle", "must hold PEM certificates"),
        new("cors.allowedOrigins list-type set: no duplicates", Backend(s => s["cors"] = Json("""{"allowedOrigins":["https://a.example.org","https://a.example.org"]}""")),
            "spec.cors.allowedOrigins[1]", "Duplicate value: \"https://a.example.org\""),
    ];

    public static TheoryData<string> Rules() => new(Rows.Select(r => r.Rule));

    [Theory]
    [MemberData(nameof(Rules))]
    public async Task The_server_refuses_the_manifest_with_the_rules_message(string rule)
    {
        var row = Rows.Single(r => r.Rule == rule);
        var name = $"crd-row-{Array.IndexOf(Rows, row):00}";
        var manifest = row.Manifest(name);
        var kind = (string)manifest["kind"]!;
        if (row.Before is not null)
        {
            var before = await server.ApplyAsync(row.Before(name).ToJsonString());
            Assert.True(before.ExitCode == 0, $"{rule}: the first, valid manifest was refused: {before.Error.Trim()}");
        }

        var outcome = await server.ApplyAsync(manifest.ToJsonString());

        Assert.True(outcome.ExitCode != 0, $"{rule}: accepted, but the CRD should refuse it ({outcome.Output.Trim()})");
        Assert.True(outcome.Error.Split('\n').Any(line => line.Contains(row.Field, StringComparison.Ordinal) && line.Contains(row.Message, StringComparison.Ordinal)),
            $"{rule}: expected '{row.Field}' with '{row.Message}' on one line; the server said: {outcome.Error.Trim()}");
        if (row.Before is not null)
        {
            var generation = await server.KubectlOkAsync(["get", kind.ToLowerInvariant() + "s.workspacestorage.hypha.amun.ai", name, "-n", Namespace,
                "-o", "jsonpath={.metadata.generation}"]);
            Assert.True(generation == "1", $"{rule}: the refused update changed the stored object (generation {generation})");
        }
    }

    private static JsonObject Json(string json) => JsonNode.Parse(json)!.AsObject();

    private static JsonObject Object(string kind, string name, JsonObject spec)
    {
        var metadata = new JsonObject { ["name"] = name };
        if (kind == "WorkspaceStorage")
        {
            metadata["namespace"] = Namespace;
        }

        return new JsonObject { ["apiVersion"] = ApiVersion, ["kind"] = kind, ["metadata"] = metadata, ["spec"] = spec };
    }

    /// <summary>A valid WorkspaceStorage named by the row, changed by <paramref name="edit"/>.</summary>
    private static Func<string, JsonObject> Ws(Action<JsonObject> edit) => name => WsNamed(name, edit)(name);

    private static Func<string, JsonObject> WsNamed(string name, Action<JsonObject> edit) => _ =>
    {
        var spec = Json("""{"backendRef":{"name":"local-ceph"}}""");
        edit(spec);
        return Object("WorkspaceStorage", name, spec);
    };

    /// <summary>A valid StorageBackend named by the row, changed by <paramref name="edit"/>.</summary>
    private static Func<string, JsonObject> Backend(Action<JsonObject> edit) => name =>
    {
        var spec = Json("""{"type":"minio","endpoint":"http://127.0.0.1:9000","adminCredentialsSecretRef":{"name":"admin","namespace":"wso"}}""");
        edit(spec);
        return Object("StorageBackend", name, spec);
    };
}
