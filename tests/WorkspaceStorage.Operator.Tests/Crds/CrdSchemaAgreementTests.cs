using System.Reflection;
using System.Text.Json;
using System.Text.Json.Nodes;
using System.Text.RegularExpressions;
using k8s;
using k8s.Models;
using WorkspaceStorage.Core.Model;
using WorkspaceStorage.Resources;
using WorkspaceStorage.Core.Model.Schema;
using WorkspaceStorage.Operator.Crds;
using WorkspaceStorage.Testing.Kubernetes;
using YamlDotNet.RepresentationModel;

namespace WorkspaceStorage.Operator.Tests.Crds;

/// <summary>The C# model, its JSON and the generated CRD schema say the same thing.</summary>
public sealed class CrdSchemaAgreementTests
{
    private static readonly DateTime When = new(2026, 11, 23, 12, 0, 0, DateTimeKind.Utc);

    private static WorkspaceStorageResource FullWorkspaceStorage() => new()
    {
        Metadata = new V1ObjectMeta { Name = "alice-home", NamespaceProperty = "team-a", Generation = 3 },
        Spec = new WorkspaceStorageSpec
        {
            Workspace = "ws-user-github|12345",
            BackendRef = new BackendReference { Name = "ceph" },
            Access = WorkspaceAccess.ReadOnly,
            Secret = new SecretSpec { Name = "alice-s3", KeySets = [SecretKeySet.Aws, SecretKeySet.Hypha] },
            Credentials = new CredentialsSpec
            {
                RotationInterval = "720h",
                RotationGracePeriod = "1h30m",
                ExistingSecretRef = new ExistingSecretReference { Name = "keys", AccessKeyIdKey = "id", SecretAccessKeyKey = "secret" },
            },
            DeletionPolicy = DeletionPolicy.Delete,
            Quota = new QuotaSpec { MaxSize = "10Gi", MaxObjects = 100000 },
        },
        Status = new WorkspaceStorageStatus
        {
            Conditions = [new V1Condition { Type = "Ready", Status = "True", Reason = "Reconciled", Message = "ok", ObservedGeneration = 3, LastTransitionTime = When }],
            ObservedGeneration = 3,
            Workspace = "ws-user-github|12345",
            Backend = "ceph",
            Bucket = "hypha-workspaces",
            Prefix = "ws-user-github|12345/",
            Endpoint = "http://127.0.0.1:7480",
            SecretName = "alice-s3",
            AccessKeyId = "AKIA0000000000000001",
            CredentialsRotatedAt = When,
            PreviousAccessKeyId = "AKIA0000000000000000",
            PreviousKeyRevokeAfter = When.AddMinutes(10),
            LastRotationRequest = "2026-11-23T12:00:00Z",
            Quota = new WorkspaceQuotaStatus { MaxBytes = 10737418240, MaxObjects = 100000 },
            Usage = new WorkspaceUsageStatus { Bytes = 9000, Objects = 3, ReadAt = When, Complete = true },
        },
    };

    private static StorageBackendResource FullStorageBackend() => new()
    {
        Metadata = new V1ObjectMeta { Name = "ceph" },
        Spec = new StorageBackendSpec
        {
            Type = StorageBackendType.CephRgw,
            Endpoint = "http://127.0.0.1:7480",
            PublicEndpoint = "https://s3.example.org",
            Region = "eu-west-1",
            Bucket = "hypha-workspaces",
            AdminCredentialsSecretRef = new AdminCredentialsSecretReference { Name = "rgw-admin", Namespace = "workspace-storage-system", AccessKeyIdKey = "a", SecretAccessKeyKey = "b" },
            PathStyle = false,
            CaBundle = "-----BEGIN CERTIFICATE-----\n...\n-----END CERTIFICATE-----\n",
            Cors = new BucketCorsSpec { Enabled = true, AllowedOrigins = ["https://app.example.org"] },
            AllowedClaims = [new AllowedClaim
            {
                Namespaces = ["team-a"],
                NamespaceSelector = new NamespaceSelector { MatchLabels = new Dictionary<string, string> { ["tenant"] = "team-a" } },
                Workspaces = ["ws-team-a-*"],
            }],
            AllowClaimsFromAnyNamespace = true,
            Quota = new BackendQuotaSpec
            {
                Default = new QuotaSpec { MaxSize = "1Gi", MaxObjects = 10000 },
                Ceiling = new QuotaSpec { MaxSize = "100Gi", MaxObjects = 1000000 },
            },
        },
        Status = new StorageBackendStatus
        {
            Conditions = [new V1Condition { Type = "Ready", Status = "False", Reason = "BackendUnavailable", Message = "timeout", ObservedGeneration = 1, LastTransitionTime = When }],
            ObservedGeneration = 1,
        },
    };

    public static TheoryData<string> Kinds() => new(CrdCatalog.All.Select(d => d.Kind));

    private static object Full(string kind) => kind == ApiGroup.WorkspaceStorageKind ? FullWorkspaceStorage() : FullStorageBackend();

    private static JsonObject Schema(string kind)
    {
        var definition = CrdCatalog.All.Single(d => d.Kind == kind);
        var tree = JsonSerializer.SerializeToNode(CrdGenerator.BuildDocument(definition))!;
        return tree["spec"]!["versions"]![0]!["schema"]!["openAPIV3Schema"]!.AsObject();
    }

    /// <summary>
    /// Kubernetes' own API server stores every field the model writes, spec and status, unchanged: a field the schema
    /// lacked would be pruned, a value it refused would answer 422. The WorkspaceStorage goes in twice, as the CRD's
    /// CEL rule refuses rotationInterval and existingSecretRef together.
    /// </summary>
    [Fact]
    public async Task Every_field_the_model_writes_is_stored_unchanged_by_the_real_api_server()
    {
        await using var kube = await KubeCluster.StartAsync(["team-a"], TestContext.Current.CancellationToken);
        var backend = FullStorageBackend();
        AssertStoredUnchanged(backend, await kube.SeedAsync(backend));

        var rotating = FullWorkspaceStorage();
        rotating.Spec = rotating.Spec with { Credentials = rotating.Spec.Credentials! with { ExistingSecretRef = null } };
        AssertStoredUnchanged(rotating, await kube.SeedAsync(rotating));

        var ownKeys = FullWorkspaceStorage();
        ownKeys.Metadata.Name = "alice-own-keys";
        ownKeys.Spec = ownKeys.Spec with { Credentials = ownKeys.Spec.Credentials! with { RotationInterval = null } };
        AssertStoredUnchanged(ownKeys, await kube.SeedAsync(ownKeys));
    }

    private static void AssertStoredUnchanged(object written, object stored)
    {
        var sent = JsonNode.Parse(KubernetesJson.Serialize(written))!;
        var kept = JsonNode.Parse(KubernetesJson.Serialize(stored))!;
        foreach (var part in new[] { "spec", "status" })
        {
            Assert.True(JsonNode.DeepEquals(sent[part], kept[part]), $"{part}: the model wrote {sent[part]?.ToJsonString()}, the server kept {kept[part]?.ToJsonString()}");
        }
    }

    [Theory]
    [MemberData(nameof(Kinds))]
    public void Every_field_in_the_schema_round_trips_through_the_model(string kind)
    {
        var original = KubernetesJson.Serialize(Full(kind));
        var roundTripped = kind == ApiGroup.WorkspaceStorageKind
            ? KubernetesJson.Serialize(KubernetesJson.Deserialize<WorkspaceStorageResource>(original))
            : KubernetesJson.Serialize(KubernetesJson.Deserialize<StorageBackendResource>(original));
        Assert.Equal(original, roundTripped);

        // Every schema leaf is filled in the full sample, so no schema field is unknown to the model.
        var sample = JsonNode.Parse(original)!;
        var missing = new List<string>();
        SchemaCheck.CollectPaths(Schema(kind), "", missing, path => SchemaCheck.Lookup(sample, path) is null && !path.StartsWith(".metadata", StringComparison.Ordinal));
        Assert.Empty(missing);
    }

    [Fact]
    public void Enums_are_written_with_the_crd_spellings()
    {
        var json = JsonNode.Parse(KubernetesJson.Serialize(FullWorkspaceStorage()))!;
        Assert.Equal("ReadOnly", (string?)json["spec"]!["access"]);
        Assert.Equal("Delete", (string?)json["spec"]!["deletionPolicy"]);
        Assert.Equal(["aws", "hypha"], json["spec"]!["secret"]!["keySets"]!.AsArray().Select(n => (string?)n));
        Assert.Equal("ceph-rgw", (string?)JsonNode.Parse(KubernetesJson.Serialize(FullStorageBackend()))!["spec"]!["type"]);
    }

    [Fact]
    public void A_minimal_manifest_reads_with_the_crd_defaults()
    {
        var resource = KubernetesJson.Deserialize<WorkspaceStorageResource>(
            """{"apiVersion":"workspacestorage.hypha.amun.ai/v1alpha1","kind":"WorkspaceStorage","metadata":{"name":"ws-a"},"spec":{}}""");

        Assert.Equal(WorkspaceAccess.ReadWrite, resource.Spec.Access);
        Assert.Equal(DeletionPolicy.Retain, resource.Spec.DeletionPolicy);
        Assert.Null(resource.Spec.Workspace);
        Assert.Null(resource.Status);

        var backend = KubernetesJson.Deserialize<StorageBackendResource>(
            """{"apiVersion":"workspacestorage.hypha.amun.ai/v1alpha1","kind":"StorageBackend","metadata":{"name":"b"},"spec":{"type":"minio","endpoint":"http://m:9000","adminCredentialsSecretRef":{"name":"a","namespace":"n"}}}""");
        Assert.Equal(StorageBackendType.Minio, backend.Spec.Type);
        Assert.True(backend.Spec.PathStyle);
        Assert.Equal("hypha-workspaces", backend.Spec.Bucket);
        Assert.Equal("AWS_SECRET_ACCESS_KEY", backend.Spec.AdminCredentialsSecretRef.SecretAccessKeyKey);
    }

    [Fact]
    public void Crd_defaults_equal_the_csharp_initializers()
    {
        var checkedCount = 0;
        // The resources (WorkspaceStorage.Resources) and their specs (Core's model) are the CRDs' types.
        var crdTypes = typeof(WorkspaceStorageResource).Assembly.GetTypes().Where(t => t.Namespace == typeof(WorkspaceStorageResource).Namespace)
            .Concat(typeof(WorkspaceStorageSpec).Assembly.GetTypes().Where(t => t.Namespace == typeof(WorkspaceStorageSpec).Namespace));
        foreach (var type in crdTypes)
        {
            foreach (var property in type.GetProperties())
            {
                if (property.GetCustomAttribute<CrdDefaultAttribute>() is not { } attribute)
                {
                    continue;
                }

                var instance = Activator.CreateInstance(type)!;
                var actual = JsonSerializer.SerializeToNode(property.GetValue(instance), property.PropertyType);
                var expected = attribute.Value is "{}" ? JsonSerializer.SerializeToNode(Activator.CreateInstance(property.PropertyType), property.PropertyType) : JsonSerializer.SerializeToNode(attribute.Value);
                if (attribute.Value is "{}")
                {
                    Assert.NotNull(actual);
                }
                else
                {
                    Assert.True(JsonNode.DeepEquals(expected, actual), $"{type.Name}.{property.Name}: CRD default {expected} but C# initializer {actual}");
                }

                checkedCount++;
            }
        }

        Assert.True(checkedCount == 15, $"{checkedCount} defaults found, 15 expected: a default added or lost on one side shows here");
    }

    [Theory]
    [MemberData(nameof(Kinds))]
    public void The_yaml_reads_back_as_the_generated_tree_with_the_same_types(string kind)
    {
        var definition = CrdCatalog.All.Single(d => d.Kind == kind);
        var stream = new YamlStream();
        stream.Load(new StringReader(CrdGenerator.Generate(definition)));
        var document = Assert.Single(stream.Documents);
        var mismatches = new List<string>();
        YamlTreeCheck.Compare(document.RootNode, CrdGenerator.BuildDocument(definition), "", mismatches);
        Assert.Empty(mismatches);
    }

    [Fact]
    public void Workspace_pattern_in_the_crd_agrees_with_the_core_rule()
    {
        var pattern = (string)Schema(ApiGroup.WorkspaceStorageKind)["properties"]!["spec"]!["properties"]!["workspace"]!["pattern"]!;
        var regex = new Regex(pattern);
        foreach (var candidate in new[] { "ws-a", "ws-user-github|12345", "etc", "WS-A", "ws/a", "ws.a", "ws a", "ws-ü" })
        {
            var core = Core.Workspaces.WorkspaceId.Validate(candidate);
            var crd = regex.IsMatch(candidate) && candidate.Contains('-');
            Assert.True(crd == (core is null), $"'{candidate}': CRD says {crd}, Core says {core ?? "valid"}");
        }
    }

    [Fact]
    public void Unknown_enum_values_read_as_a_validation_error_not_an_exception()
    {
        // A newer CRD, or a server that skips schema validation, may hold values this version does not know.
        var resource = KubernetesJson.Deserialize<WorkspaceStorageResource>(
            """{"apiVersion":"workspacestorage.hypha.amun.ai/v1alpha1","kind":"WorkspaceStorage","metadata":{"name":"ws-a"},"spec":{"access":"WriteOnly","deletionPolicy":"delete","secret":{"keySets":["aws","vault"]}}}""");

        var result = resource.Validate(hasDefaultBackend: true);

        Assert.Equal(["spec.access", "spec.deletionPolicy", "spec.secret.keySets"], result.Errors.Select(e => e.Field));
        Assert.Contains("\"access\":\"(unknown)\"", KubernetesJson.Serialize(resource), StringComparison.Ordinal);

        var backend = KubernetesJson.Deserialize<StorageBackendResource>(
            """{"metadata":{"name":"b"},"spec":{"type":"garage","endpoint":"http://g:3900","adminCredentialsSecretRef":{"name":"a","namespace":"n"}}}""");
        Assert.Equal("spec.type", Assert.Single(backend.Validate().Errors).Field);
    }
}
