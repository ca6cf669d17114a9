using System.Text;
using k8s.Models;
using WorkspaceStorage.Core.Credentials;
using WorkspaceStorage.Core.Model;
using WorkspaceStorage.Core.Signing;

namespace WorkspaceStorage.Resources;

/// <summary>A StorageBackend's admin key, read from the Secret its <c>spec.adminCredentialsSecretRef</c> names: one reading for the operator and the companion.</summary>
public static class AdminSecret
{
    /// <summary>
    /// The key pair under the reference's two keys, or null when either is missing or empty. <c>stringData</c> counts too:
    /// a Secret built by hand and read back before the API server folded it into <c>data</c> still holds the key there.
    /// </summary>
    public static AwsCredentials? Credentials(V1Secret secret, AdminCredentialsSecretReference reference)
    {
        ArgumentNullException.ThrowIfNull(secret);
        ArgumentNullException.ThrowIfNull(reference);
        var data = new Dictionary<string, byte[]>(secret.Data ?? new Dictionary<string, byte[]>(), StringComparer.Ordinal);
        foreach (var (key, value) in secret.StringData ?? new Dictionary<string, string>())
        {
            data.TryAdd(key, Encoding.UTF8.GetBytes(value));
        }

        return CredentialSecretLayout.ReadCredentials(data, reference.AccessKeyIdKey, reference.SecretAccessKeyKey);
    }
}
