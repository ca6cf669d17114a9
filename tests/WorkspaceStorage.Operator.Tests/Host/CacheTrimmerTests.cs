using System.Text;
using k8s.Models;
using WorkspaceStorage.Core.Model;
using WorkspaceStorage.Resources;
using WorkspaceStorage.Kubernetes.Runtime;
using WorkspaceStorage.Operator.Hosting;

namespace WorkspaceStorage.Operator.Tests.Host;

/// <summary>What the operator's informer caches keep: everything their readers use, nothing a real API server adds on top.</summary>
public sealed class CacheTrimmerTests
{
    [Fact]
    public void A_cached_WorkspaceStorage_keeps_what_claims_and_metrics_read_and_drops_managed_fields_and_annotations()
    {
        var created = new DateTime(2026, 1, 2, 3, 4, 5, DateTimeKind.Utc);
        var full = new WorkspaceStorageResource
        {
            Metadata = new V1ObjectMeta
            {
                Name = "alpha",
                NamespaceProperty = "team",
                Uid = "uid-1",
                ResourceVersion = "42",
                Generation = 3,
                CreationTimestamp = created,
                Labels = new Dictionary<string, string> { ["app"] = "x" },
                Annotations = new Dictionary<string, string> { ["kubectl.kubernetes.io/last-applied-configuration"] = new string('x', 2000) },
                ManagedFields = [new V1ManagedFieldsEntry { Manager = "kubectl", Operation = "Apply" }],
                Finalizers = [ResourceMetadata.Finalizer],
            },
            Spec = new WorkspaceStorageSpec { Workspace = "ws-alpha", BackendRef = new BackendReference { Name = "rgw" }, DeletionPolicy = DeletionPolicy.Delete },
            Status = new WorkspaceStorageStatus
            {
                Workspace = "ws-alpha",
                AccessKeyId = "AKIA",
                ObservedGeneration = 3,
                Conditions = [new V1Condition { Type = ConditionTypes.Ready, Status = Conditions.True, Reason = "Provisioned", Message = new string('m', 500) }],
            },
        };

        var cached = new CacheTrimmer().WorkspaceStorage(full);

        Assert.Equal(ResourceKey.Of(full), ResourceKey.Of(cached));
        Assert.Equal(("uid-1", "42", 3L, created), (cached.Metadata.Uid, cached.Metadata.ResourceVersion, cached.Metadata.Generation!.Value, cached.Metadata.CreationTimestamp!.Value));
        Assert.Equal(("ws-alpha", "rgw", DeletionPolicy.Delete), (cached.Spec.Workspace, cached.Spec.BackendRef!.Name, cached.Spec.DeletionPolicy));
        Assert.Equal(("ws-alpha", "AKIA"), (cached.Status!.Workspace, cached.Status.AccessKeyId));
        Assert.Equal(OperatorMetrics.Ready, OperatorMetrics.StateOf(cached));
        Assert.Null(cached.Metadata.ManagedFields);
        Assert.Null(cached.Metadata.Annotations);
        Assert.Null(cached.Status.Conditions.Single().Message);

        full.Metadata.DeletionTimestamp = created;
        Assert.Equal(OperatorMetrics.Terminating, OperatorMetrics.StateOf(new CacheTrimmer().WorkspaceStorage(full)));
    }

    [Fact]
    public void A_cached_Secret_keeps_its_owner_and_none_of_its_data()
    {
        var full = new V1Secret
        {
            Metadata = new V1ObjectMeta
            {
                Name = "alpha-s3",
                NamespaceProperty = "team",
                ResourceVersion = "7",
                Labels = new Dictionary<string, string> { [ResourceMetadata.ManagedByLabel] = ResourceMetadata.ManagedByValue },
                OwnerReferences = [new V1OwnerReference { ApiVersion = ApiGroup.ApiVersion, Kind = ApiGroup.WorkspaceStorageKind, Name = "alpha", Uid = "uid-1", Controller = true }],
            },
            Data = new Dictionary<string, byte[]> { ["AWS_SECRET_ACCESS_KEY"] = Encoding.UTF8.GetBytes("secret") },
        };

        var cached = new CacheTrimmer().Secret(full);

        Assert.Null(cached.Data);
        Assert.Equal("7", cached.Metadata.ResourceVersion);
        var owners = OwnerMapping.ByOwnerReference<V1Secret>(ResourceDescriptors.WorkspaceStorages)(cached);
        Assert.Equal([new ResourceKey("team", "alpha")], owners);
    }
}
