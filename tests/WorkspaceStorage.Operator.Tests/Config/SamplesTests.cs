using System.Text.Json.Nodes;
using k8s;
using WorkspaceStorage.Core.Model;
using WorkspaceStorage.Resources;

namespace WorkspaceStorage.Operator.Tests.Config;

/// <summary>The samples users copy are valid by the operator's own validation (that the real API server accepts
/// them is Kubernetes.Tests' KubectlOnRealApiServerTests).</summary>
public sealed class SamplesTests
{
    private static readonly Lazy<List<JsonObject>> Rendered = new(() => YamlDocuments.Parse(Kubectl.Kustomize("config/samples")));

    [Fact]
    public void Samples_hold_a_backend_its_admin_secret_and_two_workspaces()
    {
        var kinds = Rendered.Value.Select(o => (string)o["kind"]!).Order(StringComparer.Ordinal);
        Assert.Equal(["Secret", "StorageBackend", "WorkspaceStorage", "WorkspaceStorage"], kinds);
    }

    [Fact]
    public void Workspace_samples_pass_the_operators_validator()
    {
        var workspaces = new List<string>();
        foreach (var sample in Rendered.Value.Where(o => (string?)o["kind"] == ApiGroup.WorkspaceStorageKind))
        {
            var resource = KubernetesJson.Deserialize<WorkspaceStorageResource>(sample.ToJsonString());
            var result = resource.Validate(hasDefaultBackend: false);
            Assert.True(result.IsValid, result.Message);
            workspaces.Add(result.Value!.Workspace.Value);
        }

        Assert.Equal(["ws-alpha", "ws-user-github|12345"], workspaces.Order(StringComparer.Ordinal));
    }

    [Fact]
    public void Backend_sample_points_at_the_local_rgw_and_its_admin_secret()
    {
        var sample = Assert.Single(Rendered.Value, o => (string?)o["kind"] == ApiGroup.StorageBackendKind);
        var backend = ResourceModel.Validate(KubernetesJson.Deserialize<StorageBackendResource>(sample.ToJsonString()));
        Assert.True(backend.IsValid, backend.Message);
        Assert.Equal("http://127.0.0.1:7480", backend.Value!.Endpoint);
        Assert.Equal(StorageBackendType.CephRgw, backend.Value.Type);

        var secret = Assert.Single(Rendered.Value, o => (string?)o["kind"] == "Secret");
        Assert.Equal(backend.Value.AdminCredentialsSecret.Name, (string?)secret["metadata"]!["name"]);
        Assert.Equal(backend.Value.AdminCredentialsSecret.Namespace, (string?)secret["metadata"]!["namespace"]);
        Assert.NotNull(secret["stringData"]![backend.Value.AdminCredentialsSecret.AccessKeyIdKey]);
        Assert.NotNull(secret["stringData"]![backend.Value.AdminCredentialsSecret.SecretAccessKeyKey]);
    }
}

/// <summary>The AWS sample (config/samples/aws, applied on its own: make run applies config/samples to the local RGW).</summary>
public sealed class AwsSampleTests
{
    [Fact]
    public void Aws_backend_sample_passes_the_operators_validator_and_names_its_admin_secret()
    {
        var rendered = YamlDocuments.Parse(Kubectl.Kustomize("config/samples/aws"));
        var sample = Assert.Single(rendered, o => (string?)o["kind"] == ApiGroup.StorageBackendKind);
        var backend = ResourceModel.Validate(KubernetesJson.Deserialize<StorageBackendResource>(sample.ToJsonString()));
        Assert.True(backend.IsValid, backend.Message);
        Assert.Equal(StorageBackendType.Aws, backend.Value!.Type);

        var secret = Assert.Single(rendered, o => (string?)o["kind"] == "Secret");
        Assert.Equal(backend.Value.AdminCredentialsSecret.Name, (string?)secret["metadata"]!["name"]);
        Assert.NotNull(secret["stringData"]![backend.Value.AdminCredentialsSecret.SecretAccessKeyKey]);
    }
}
