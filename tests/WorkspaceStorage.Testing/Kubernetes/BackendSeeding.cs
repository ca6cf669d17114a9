using System.Text;
using k8s.Models;
using WorkspaceStorage.Core.Model;
using WorkspaceStorage.Resources;
using WorkspaceStorage.Testing.S3;

namespace WorkspaceStorage.Testing.Kubernetes;

/// <summary>What an admin writes before the operator can work: a StorageBackend on the local RGW and its admin Secret.</summary>
public static class BackendSeeding
{
    public const string AdminNamespace = "wso-system";

    /// <summary>
    /// Creates StorageBackend <paramref name="name"/> (bucket <paramref name="bucket"/> on <paramref name="rgw"/>) and its
    /// admin Secret <c>{name}-admin</c> in <see cref="AdminNamespace"/>, which it creates when missing (the real server
    /// refuses a Secret in a namespace that does not exist). Its claim ceiling is <paramref name="allowedClaims"/>; without
    /// them, a single tenant's: every namespace may claim every workspace (the worlds of tests that are not about ceilings).
    /// </summary>
    public static async Task SeedRgwBackendAsync(this KubeCluster kube, RgwTestServer rgw, string name, string bucket, IReadOnlyList<AllowedClaim>? allowedClaims = null,
        string? publicEndpoint = null)
    {
        ArgumentNullException.ThrowIfNull(kube);
        ArgumentNullException.ThrowIfNull(rgw);
        await kube.EnsureNamespaceAsync(AdminNamespace);
        await kube.SeedAsync(new V1Secret
        {
            Metadata = new V1ObjectMeta { Name = name + "-admin", NamespaceProperty = AdminNamespace },
            Data = new Dictionary<string, byte[]>
            {
                ["AWS_ACCESS_KEY_ID"] = Encoding.UTF8.GetBytes(rgw.Admin.AccessKeyId),
                ["AWS_SECRET_ACCESS_KEY"] = Encoding.UTF8.GetBytes(rgw.Admin.SecretAccessKey),
            },
        });
        await kube.SeedAsync(new StorageBackendResource
        {
            Metadata = new V1ObjectMeta { Name = name },
            Spec = new StorageBackendSpec
            {
                Type = StorageBackendType.CephRgw,
                Endpoint = rgw.Endpoint.ToString(),
                PublicEndpoint = publicEndpoint,
                Region = rgw.Region,
                Bucket = bucket,
                AdminCredentialsSecretRef = new AdminCredentialsSecretReference { Name = name + "-admin", Namespace = AdminNamespace },
                AllowedClaims = allowedClaims,
                AllowClaimsFromAnyNamespace = allowedClaims is null,
            },
        });
    }
}
