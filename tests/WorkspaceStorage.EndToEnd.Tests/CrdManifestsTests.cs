using System.Text.Json.Nodes;
using k8s;
using WorkspaceStorage.EndToEnd.Tests.Infrastructure;

namespace WorkspaceStorage.EndToEnd.Tests;

/// <summary>What the suite sends to K3s is the CRDs of crds/, unchanged: checked here, where no cluster runs.</summary>
public sealed class CrdManifestsTests
{
    [Fact]
    public void Both_CRDs_load_with_their_short_names_and_CEL_rules()
    {
        var crds = CrdManifests.Load();

        Assert.Equal(["storagebackends.workspacestorage.hypha.amun.ai", "workspacestorages.workspacestorage.hypha.amun.ai"],
            crds.Select(c => c.Metadata.Name).Order(StringComparer.Ordinal));
        Assert.Equal(["wss"], crds.Single(c => c.Spec.Names.Kind == "WorkspaceStorage").Spec.Names.ShortNames);
        Assert.Equal(["wsb"], crds.Single(c => c.Spec.Names.Kind == "StorageBackend").Spec.Names.ShortNames);
        var workspace = crds.Single(c => c.Spec.Names.Kind == "WorkspaceStorage").Spec.Versions.Single().Schema.OpenAPIV3Schema.Properties["spec"].Properties["workspace"];
        Assert.Contains(workspace.XKubernetesValidations, rule => rule.Rule == "self == oldSelf");
    }

    [Fact]
    public void What_the_client_sends_is_the_YAML_with_every_field_and_type_kept()
    {
        // Schema defaults and enums are untyped in the client's model: a boolean default sent as "true" would make
        // the API server refuse the CRD. Compare the request body with a typed YAML reading of the same file.
        var files = CrdManifests.Files().ToList();
        var crds = CrdManifests.Load();
        Assert.Equal(files.Count, crds.Count);
        for (var i = 0; i < files.Count; i++)
        {
            var expected = YamlDocuments.Parse(File.ReadAllText(files[i])).Single();
            var sent = JsonNode.Parse(KubernetesJson.Serialize(crds[i]))!;
            Assert.True(JsonNode.DeepEquals(expected, sent), $"{Path.GetFileName(files[i])}: the request body differs from the YAML:\n{sent.ToJsonString()}");
        }
    }
}
