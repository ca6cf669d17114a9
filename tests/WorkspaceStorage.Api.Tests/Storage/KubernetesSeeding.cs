using WorkspaceStorage.Testing.Kubernetes;

namespace WorkspaceStorage.Api.Tests.Storage;

/// <summary>A StorageBackend on this harness's RGW and bucket (workspaces: <see cref="WorkspaceSeeding"/>).</summary>
internal static class KubernetesSeeding
{
    /// <param name="allowedClaims">Its claim ceiling; null: every namespace may claim every workspace.</param>
    public static async Task<string> SeedBackendAsync(KubeCluster kube, StorageApiHarness h, IReadOnlyList<Core.Model.AllowedClaim>? allowedClaims = null,
        string? publicEndpoint = null)
    {
        var name = "rgw-" + StorageApiHarness.RandomPart();
        await kube.SeedRgwBackendAsync(h.Server, name, h.Location.Bucket, allowedClaims, publicEndpoint);
        return name;
    }
}
