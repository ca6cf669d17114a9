using System.ComponentModel;
using System.Text.Json.Serialization;
using WorkspaceStorage.Core.Model.Schema;

namespace WorkspaceStorage.Core.Model;

public sealed record WorkspaceStorageSpec
{
    public const int WorkspaceMaxLength = Workspaces.WorkspaceId.MaxLength;

    [JsonPropertyName("workspace")]
    [Description("Hypha workspace id; the S3 prefix is '<workspace>/'. Defaults to metadata.name. Immutable. Use it for ids a Kubernetes name cannot hold, such as 'ws-user-github|12345'.")]
    [CrdPattern("^[a-z0-9|-]+$")]
    [CrdLength(MinLength = 1, MaxLength = WorkspaceMaxLength)]
    [CrdValidation("self.contains('-')", "must contain a hyphen (names without one, such as 'etc', are reserved)")]
    [CrdValidation("self == oldSelf", "is immutable; create a new WorkspaceStorage instead")]
    public string? Workspace { get; init; }

    [JsonPropertyName("backendRef")]
    [Description("The StorageBackend holding the workspace. Optional when the operator runs with a default backend.")]
    public BackendReference? BackendRef { get; init; }

    [JsonPropertyName("access")]
    [JsonConverter(typeof(TolerantEnumConverter<WorkspaceAccess>))]
    [Description("What the credentials may do under the prefix.")]
    [CrdDefault("ReadWrite")]
    public WorkspaceAccess Access { get; set; } = WorkspaceAccess.ReadWrite;

    [JsonPropertyName("secret")]
    [Description("The Secret the operator writes the credentials into, in this namespace.")]
    public SecretSpec? Secret { get; init; }

    [JsonPropertyName("credentials")]
    [Description("Rotation and bring-your-own keys.")]
    public CredentialsSpec? Credentials { get; init; }

    [JsonPropertyName("deletionPolicy")]
    [JsonConverter(typeof(TolerantEnumConverter<DeletionPolicy>))]
    [Description("Retain keeps the data under the prefix when this resource is deleted; Delete removes it. Identities and policies are always removed.")]
    [CrdDefault("Retain")]
    public DeletionPolicy DeletionPolicy { get; set; } = DeletionPolicy.Retain;

    [JsonPropertyName("quota")]
    [Description("Most bytes and objects the workspace may hold, within the StorageBackend's spec.quota.ceiling (asking above it is refused: Stalled, reason QuotaAboveCeiling). At the quota the workspace's identity keeps read, list and delete but loses put, so the storage server refuses uploads until usage falls back under it. Unset fields take the backend's spec.quota.default.")]
    public QuotaSpec? Quota { get; init; }
}

public sealed record BackendReference
{
    [JsonPropertyName("name")]
    [Description("Name of the cluster-scoped StorageBackend.")]
    [CrdRequired]
    [CrdLength(MinLength = 1, MaxLength = 253)]
    [CrdPattern(KubernetesNames.Dns1123SubdomainPattern)]
    public string Name { get; set; } = string.Empty;
}

public sealed record SecretSpec
{
    /// <summary>The key sets written when <see cref="KeySets"/> is not given.</summary>
    public static readonly IReadOnlyList<SecretKeySet> AllKeySets = [SecretKeySet.Aws, SecretKeySet.S3, SecretKeySet.Cosi, SecretKeySet.Hypha];

    [JsonPropertyName("name")]
    [Description("Secret name; defaults to '<metadata.name>-s3'.")]
    [CrdLength(MinLength = 1, MaxLength = 253)]
    [CrdPattern(KubernetesNames.Dns1123SubdomainPattern)]
    public string? Name { get; init; }

    [JsonPropertyName("keySets")]
    [JsonConverter(typeof(TolerantEnumListConverter<SecretKeySet>))]
    [Description("Which key formats to write: aws (AWS SDK environment names), s3 (S3_BUCKET, S3_PREFIX, S3_ENDPOINT), cosi (COSI_S3_*), hypha (credential.json). Defaults to all.")]
    [CrdDefault(new[] { "aws", "s3", "cosi", "hypha" })]
    [CrdListType("set")]
    [CrdItems(MinItems = 1, MaxItems = 4)]
    public IReadOnlyList<SecretKeySet> KeySets { get; set; } = AllKeySets;
}

[CrdValidation(
    "!(has(self.rotationInterval) && has(self.existingSecretRef))",
    "rotationInterval cannot be combined with existingSecretRef: the operator does not rotate keys it did not create")]
public sealed record CredentialsSpec
{
    public const string DurationPattern = "^([0-9]+(\\.[0-9]+)?(ns|us|µs|ms|s|m|h))+$";

    [JsonPropertyName("rotationInterval")]
    [Description("Rotate the key this often (Go duration, e.g. '720h'). Unset: rotate only on request (annotation workspacestorage.hypha.amun.ai/rotate).")]
    [CrdPattern(DurationPattern)]
    public string? RotationInterval { get; init; }

    [JsonPropertyName("rotationGracePeriod")]
    [Description("How long the previous key keeps working after a rotation, so pods can pick up the new Secret (Go duration).")]
    [CrdDefault("10m")]
    [CrdPattern(DurationPattern)]
    public string RotationGracePeriod { get; set; } = "10m";

    [JsonPropertyName("existingSecretRef")]
    [Description("Bring your own key: a Secret in this namespace holding the access key pair the workspace identity should use.")]
    public ExistingSecretReference? ExistingSecretRef { get; init; }
}

public sealed record ExistingSecretReference
{
    public const string DefaultAccessKeyIdKey = "AWS_ACCESS_KEY_ID";
    public const string DefaultSecretAccessKeyKey = "AWS_SECRET_ACCESS_KEY";

    [JsonPropertyName("name")]
    [CrdRequired]
    [CrdLength(MinLength = 1, MaxLength = 253)]
    [CrdPattern(KubernetesNames.Dns1123SubdomainPattern)]
    public string Name { get; set; } = string.Empty;

    [JsonPropertyName("accessKeyIdKey")]
    [CrdDefault(DefaultAccessKeyIdKey)]
    [CrdPattern(KubernetesNames.SecretKeyPattern)]
    [CrdLength(MinLength = 1, MaxLength = 253)]
    public string AccessKeyIdKey { get; set; } = DefaultAccessKeyIdKey;

    [JsonPropertyName("secretAccessKeyKey")]
    [CrdDefault(DefaultSecretAccessKeyKey)]
    [CrdPattern(KubernetesNames.SecretKeyPattern)]
    [CrdLength(MinLength = 1, MaxLength = 253)]
    public string SecretAccessKeyKey { get; set; } = DefaultSecretAccessKeyKey;
}
