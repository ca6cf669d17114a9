using WorkspaceStorage.Testing.Kubernetes;

namespace WorkspaceStorage.Api.Tests.Storage;

/// <summary>A StorageBackend on this harness's RGW and bucket (workspaces: <see cref="WorkspaceSeeding"/>).</summary>
internal static class KubernetesSeeding
{
    public static async Task<string> SeedBackendAsync(KubeCluster kube, StorageApiHarness h)
    {
        var name = "rgw-" + StorageApiHarness.RandomPart();
        await kube.SeedRgwBackendAsync(h.Server, name, h.Location.Bucket);
        return name;
    }
}
