using WorkspaceStorage.Core.Model;
using WorkspaceStorage.Core.Model.Schema;
using System.ComponentModel;
using System.Text.Json.Serialization;
using k8s;
using k8s.Models;

namespace WorkspaceStorage.Resources;

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

    [JsonPropertyName("quota")]
    [Description("The limits in force: spec.quota, else the StorageBackend's quota.default, else its ceiling. Absent: no limit.")]
    public WorkspaceQuotaStatus? Quota { get; set; }

    [JsonPropertyName("usage")]
    [Description("What the workspace holds under its prefix, as last measured (a bounded listing, at most once per --usage-period).")]
    public WorkspaceUsageStatus? Usage { get; set; }
}

/// <summary>The limits a workspace is held to, in bytes and objects.</summary>
public sealed record WorkspaceQuotaStatus
{
    [JsonPropertyName("maxBytes")]
    [Description("Most bytes; absent: no size limit.")]
    public long? MaxBytes { get; set; }

    [JsonPropertyName("maxObjects")]
    [Description("Most objects; absent: no object limit.")]
    public long? MaxObjects { get; set; }
}

/// <summary>A workspace's measured usage.</summary>
public sealed record WorkspaceUsageStatus
{
    [JsonPropertyName("bytes")]
    [Description("Bytes under the prefix.")]
    public long Bytes { get; set; }

    [JsonPropertyName("objects")]
    [Description("Objects under the prefix.")]
    public long Objects { get; set; }

    [JsonPropertyName("readAt")]
    [Description("When these figures were read; a later read that finds the same figures does not rewrite the status (a converged workspace costs no write).")]
    [CrdFormat("date-time")]
    public DateTime? ReadAt { get; set; }

    [JsonPropertyName("complete")]
    [Description("false when the listing stopped at --usage-max-pages pages: bytes and objects are then a lower bound.")]
    public bool Complete { get; set; }
}
