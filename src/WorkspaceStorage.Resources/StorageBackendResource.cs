using WorkspaceStorage.Core.Model;
using WorkspaceStorage.Core.Model.Schema;
using System.ComponentModel;
using System.Text.Json.Serialization;
using k8s;
using k8s.Models;

namespace WorkspaceStorage.Resources;

/// <summary>An S3 server and the admin credentials the operator uses to create workspace identities on it.</summary>
[KubernetesEntity(Group = ApiGroup.Group, ApiVersion = ApiGroup.Version, Kind = ApiGroup.StorageBackendKind, PluralName = ApiGroup.StorageBackendPlural)]
[Description("StorageBackend is an S3 server (MinIO admin API or Ceph RGW) with one shared bucket holding every workspace's prefix.")]
public sealed class StorageBackendResource : IKubernetesObject<V1ObjectMeta>, ISpec<StorageBackendSpec>, IStatus<StorageBackendStatus?>
{
    [JsonPropertyName("apiVersion")]
    public string ApiVersion { get; set; } = ApiGroup.ApiVersion;

    [JsonPropertyName("kind")]
    public string Kind { get; set; } = ApiGroup.StorageBackendKind;

    [JsonPropertyName("metadata")]
    public V1ObjectMeta Metadata { get; set; } = new();

    [JsonPropertyName("spec")]
    [CrdRequired]
    public StorageBackendSpec Spec { get; set; } = new();

    [JsonPropertyName("status")]
    public StorageBackendStatus? Status { get; set; }
}

public sealed class StorageBackendStatus : IConditionedStatus
{
    [JsonPropertyName("conditions")]
    [CrdListType("map", "type")]
    public List<V1Condition> Conditions { get; set; } = [];

    [JsonPropertyName("observedGeneration")]
    [CrdFormat("int64")]
    public long? ObservedGeneration { get; set; }
}

/// <summary>A status with kstatus conditions; see <see cref="Conditions"/>.</summary>
public interface IConditionedStatus
{
    List<V1Condition> Conditions { get; set; }

    long? ObservedGeneration { get; set; }
}
