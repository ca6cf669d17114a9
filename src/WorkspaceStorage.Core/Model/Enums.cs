using System.Text.Json.Serialization;
using WorkspaceStorage.Core.Workspaces;

namespace WorkspaceStorage.Core.Model;

/// <summary>What the workspace's credentials may do under its prefix.</summary>
[JsonConverter(typeof(TolerantEnumConverter<WorkspaceAccess>))]
public enum WorkspaceAccess
{
    ReadWrite,
    ReadOnly,
}

/// <summary>The one mapping from the CRD's access to the level the policy builder and the companion use.</summary>
public static class WorkspaceAccessLevels
{
    public static AccessLevel ToLevel(this WorkspaceAccess access) => access == WorkspaceAccess.ReadOnly ? AccessLevel.ReadOnly : AccessLevel.ReadWrite;
}

/// <summary>What happens to the data under the workspace prefix when the WorkspaceStorage is deleted.</summary>
/// <remarks>Identities and policies the operator created are always removed; only the data follows this choice.</remarks>
[JsonConverter(typeof(TolerantEnumConverter<DeletionPolicy>))]
public enum DeletionPolicy
{
    Retain,
    Delete,
}

/// <summary>Groups of keys written into the credential Secret, each in a format some consumer already reads.</summary>
[JsonConverter(typeof(TolerantEnumConverter<SecretKeySet>))]
public enum SecretKeySet
{
    /// <summary>AWS SDK environment names: AWS_ACCESS_KEY_ID, AWS_SECRET_ACCESS_KEY, AWS_ENDPOINT_URL, AWS_REGION.</summary>
    [JsonStringEnumMemberName("aws")]
    Aws,

    /// <summary>S3_BUCKET, S3_PREFIX, S3_ENDPOINT.</summary>
    [JsonStringEnumMemberName("s3")]
    S3,

    /// <summary>COSI's flat COSI_S3_* keys.</summary>
    [JsonStringEnumMemberName("cosi")]
    Cosi,

    /// <summary>credential.json shaped like Hypha's generate_credential result.</summary>
    [JsonStringEnumMemberName("hypha")]
    Hypha,
}

/// <summary>Which admin API the backend speaks.</summary>
[JsonConverter(typeof(TolerantEnumConverter<StorageBackendType>))]
public enum StorageBackendType
{
    /// <summary>MinIO admin API (MinIO, AIStor, pgsty/silo, RustFS).</summary>
    [JsonStringEnumMemberName("minio")]
    Minio,

    /// <summary>Ceph RGW Admin Ops + IAM user policies.</summary>
    [JsonStringEnumMemberName("ceph-rgw")]
    CephRgw,

    /// <summary>AWS IAM + STS (or a server speaking their query APIs, such as moto).</summary>
    [JsonStringEnumMemberName("aws")]
    Aws,
}
