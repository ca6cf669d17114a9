using System.ComponentModel;
using System.Text.Json.Serialization;
using k8s;
using k8s.Models;
using WorkspaceStorage.Core.Resources.Schema;

namespace WorkspaceStorage.Core.Resources;

/// <summary>
/// A Hypha workspace's S3 storage: a prefix <c>W/</c> in the backend's shared bucket, an identity confined to it,
/// and a Secret holding that identity's key in the formats consumers read.
/// </summary>
[KubernetesEntity(Group = ApiGroup.Group, ApiVersion = ApiGroup.Version, Kind = ApiGroup.WorkspaceStorageKind, PluralName = ApiGroup.WorkspaceStoragePlural)]
[Description("WorkspaceStorage gives one Hypha workspace its own S3 prefix, an identity confined to it, and a Secret with that identity's key.")]
[CrdValidation(
    "(has(self.spec.workspace) ? self.spec.workspace : self.metadata.name) == (has(oldSelf.spec.workspace) ? oldSelf.spec.workspace : oldSelf.metadata.name)",
    "the workspace (spec.workspace, default metadata.name) is immutable; create a new WorkspaceStorage instead",
    Reason = "FieldValueInvalid",
    FieldPath = ".spec.workspace")]
[CrdValidation(
    "has(self.spec.workspace) || self.metadata.name.contains('-')",
    "metadata.name is used as the workspace id and must contain a hyphen; set spec.workspace",
    Reason = "FieldValueInvalid",
    FieldPath = ".spec.workspace")]
public sealed class WorkspaceStorageResource : IKubernetesObject<V1ObjectMeta>, ISpec<WorkspaceStorageSpec>, IStatus<WorkspaceStorageStatus?>
{
    [JsonPropertyName("apiVersion")]
    public string ApiVersion { get; set; } = ApiGroup.ApiVersion;

    [JsonPropertyName("kind")]
    public string Kind { get; set; } = ApiGroup.WorkspaceStorageKind;

    [JsonPropertyName("metadata")]
    public V1ObjectMeta Metadata { get; set; } = new();

    [JsonPropertyName("spec")]
    [CrdDefault("{}")]
    public WorkspaceStorageSpec Spec { get; set; } = new();

    [JsonPropertyName("status")]
    public WorkspaceStorageStatus? Status { get; set; }
}

/// <summary>A list as the API server returns it.</summary>
[KubernetesEntity(Group = ApiGroup.Group, ApiVersion = ApiGroup.Version, Kind = ApiGroup.WorkspaceStorageListKind, PluralName = ApiGroup.WorkspaceStoragePlural)]
public sealed class WorkspaceStorageResourceList : IKubernetesObject<V1ListMeta>, IItems<WorkspaceStorageResource>
{
    [JsonPropertyName("apiVersion")]
    public string ApiVersion { get; set; } = ApiGroup.ApiVersion;

    [JsonPropertyName("kind")]
    public string Kind { get; set; } = ApiGroup.WorkspaceStorageListKind;

    [JsonPropertyName("metadata")]
    public V1ListMeta Metadata { get; set; } = new();

    [JsonPropertyName("items")]
    public IList<WorkspaceStorageResource> Items { get; set; } = [];
}

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

/// <summary>What the operator observed and did. Never holds a secret key.</summary>
public sealed class WorkspaceStorageStatus : IConditionedStatus
{
    [JsonPropertyName("conditions")]
    [Description("Ready, Reconciling and Stalled, as kstatus, kubectl wait and Argo CD read them.")]
    [CrdListType("map", "type")]
    public List<V1Condition> Conditions { get; set; } = [];

    [JsonPropertyName("observedGeneration")]
    [Description("The metadata.generation the status describes.")]
    [CrdFormat("int64")]
    public long? ObservedGeneration { get; set; }

    [JsonPropertyName("workspace")]
    [Description("The effective Hypha workspace id.")]
    public string? Workspace { get; set; }

    [JsonPropertyName("backend")]
    [Description("The StorageBackend in use ('' for the operator's default backend).")]
    public string? Backend { get; set; }

    [JsonPropertyName("bucket")]
    public string? Bucket { get; set; }

    [JsonPropertyName("prefix")]
    [Description("The workspace's key prefix in the bucket, with its trailing '/'.")]
    public string? Prefix { get; set; }

    [JsonPropertyName("endpoint")]
    [Description("The public S3 endpoint written into the Secret.")]
    public string? Endpoint { get; set; }

    [JsonPropertyName("secretName")]
    public string? SecretName { get; set; }

    [JsonPropertyName("accessKeyId")]
    [Description("The access key id currently in the Secret (never the secret key).")]
    public string? AccessKeyId { get; set; }

    [JsonPropertyName("credentialsRotatedAt")]
    [Description("When the key in the Secret was created.")]
    [CrdFormat("date-time")]
    public DateTime? CredentialsRotatedAt { get; set; }

    [JsonPropertyName("previousAccessKeyId")]
    [Description("While a rotation's grace period runs: the replaced key, still valid until previousKeyRevokeAfter.")]
    public string? PreviousAccessKeyId { get; set; }

    [JsonPropertyName("previousKeyRevokeAfter")]
    [Description("When the operator revokes previousAccessKeyId.")]
    [CrdFormat("date-time")]
    public DateTime? PreviousKeyRevokeAfter { get; set; }

    [JsonPropertyName("lastRotationRequest")]
    [Description("The value of the workspacestorage.hypha.amun.ai/rotate annotation last acted on.")]
    public string? LastRotationRequest { get; set; }
}
