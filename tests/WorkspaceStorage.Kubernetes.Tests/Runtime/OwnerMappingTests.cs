using k8s.Models;
using WorkspaceStorage.Kubernetes.Runtime;
using WorkspaceStorage.Testing.Kubernetes;

namespace WorkspaceStorage.Kubernetes.Tests.Runtime;

public sealed class OwnerMappingTests
{
    private static V1Secret Secret(string ns, IDictionary<string, string>? labels = null, params V1OwnerReference[] owners) => new()
    {
        Metadata = new V1ObjectMeta { Name = "s", NamespaceProperty = ns, Labels = labels, OwnerReferences = owners },
    };

    [Fact]
    public void Owner_references_of_the_owner_kind_and_group_map_to_keys_in_the_same_namespace()
    {
        var map = OwnerMapping.ByOwnerReference<V1Secret>(Widget.Descriptor);
        var secret = Secret("team",
            null,
            new V1OwnerReference { ApiVersion = $"{Widget.Group}/v2", Kind = "Widget", Name = "mine", Uid = "1" },
            new V1OwnerReference { ApiVersion = "apps/v1", Kind = "Widget", Name = "other-group", Uid = "2" },
            new V1OwnerReference { ApiVersion = $"{Widget.Group}/v1", Kind = "Gadget", Name = "other-kind", Uid = "3" });

        Assert.Equal([new ResourceKey("team", "mine")], map(secret));
        Assert.Empty(map(Secret("team")));
    }

    [Fact]
    public void Labels_map_across_namespaces_and_to_cluster_scoped_owners()
    {
        var namespacedOwner = OwnerMapping.ByLabels<V1Secret>(Widget.Descriptor, "example.com/owner-name", "example.com/owner-namespace");
        var clusterOwner = OwnerMapping.ByLabels<V1Secret>(new ResourceDescriptor("example.com", "v1", "backends", "Backend", Namespaced: false), "example.com/backend");

        Assert.Equal(
            [new ResourceKey("elsewhere", "w")],
            namespacedOwner(Secret("operator-ns", new Dictionary<string, string> { ["example.com/owner-name"] = "w", ["example.com/owner-namespace"] = "elsewhere" })));
        Assert.Equal(
            [new ResourceKey("operator-ns", "w")],
            namespacedOwner(Secret("operator-ns", new Dictionary<string, string> { ["example.com/owner-name"] = "w" })));
        Assert.Equal(
            [new ResourceKey(null, "ceph")],
            clusterOwner(Secret("operator-ns", new Dictionary<string, string> { ["example.com/backend"] = "ceph" })));
        Assert.Empty(clusterOwner(Secret("operator-ns", new Dictionary<string, string> { ["unrelated"] = "x" })));
    }
}
