using System.Security.Cryptography.X509Certificates;
using System.Text;
using k8s;
using k8s.KubeConfigModels;
using YamlDotNet.Core;

namespace WorkspaceStorage.Kubernetes.Runtime;

/// <summary>
/// Loads a kubeconfig file into a client configuration (contexts, certificates, tokens and exec plugins as
/// KubernetesClient handles them). KubernetesClient.Aot reads the YAML with a source-generated YamlDotNet context of
/// the kubeconfig model only, so this costs neither reflection nor a map of every model type. The operator and the
/// API both read their kubeconfig through here; it also registers the resource JSON contexts the client will copy.
/// </summary>
public static class KubeconfigFile
{
    /// <summary>
    /// The cluster configuration, found in kubectl's order, for both programs: <paramref name="explicitPath"/> (a flag or
    /// setting), else the first file of <c>KUBECONFIG</c>, else the pod's service account (only with
    /// <c>KUBERNETES_SERVICE_HOST</c>: the files alone do not make a cluster), else <c>~/.kube/config</c>.
    /// </summary>
    /// <param name="field">The flag or setting to name in errors (<c>--kubeconfig</c>, <c>Kubernetes:Kubeconfig</c>).</param>
    /// <exception cref="InvalidOperationException">Nothing was found, or what was found cannot be loaded.</exception>
    public static KubernetesClientConfiguration Discover(string? explicitPath, Func<string, string?> environment, string field)
    {
        ArgumentNullException.ThrowIfNull(environment);
        try
        {
            if (!string.IsNullOrEmpty(explicitPath))
            {
                return Load(explicitPath);
            }

            if (environment("KUBECONFIG") is { Length: > 0 } fromEnvironment)
            {
                return Load(fromEnvironment.Split(Path.PathSeparator)[0]);
            }

            if (environment("KUBERNETES_SERVICE_HOST") is { Length: > 0 } && KubernetesClientConfiguration.IsInCluster())
            {
                ResourceJson.Ensure();
                return KubernetesClientConfiguration.InClusterConfig();
            }

            var userHome = environment("HOME") is { Length: > 0 } fromHome ? fromHome : Environment.GetFolderPath(Environment.SpecialFolder.UserProfile);
            var home = Path.Combine(userHome, ".kube", "config");
            if (File.Exists(home))
            {
                return Load(home);
            }
        }
        catch (Exception error) when (error is k8s.Exceptions.KubeConfigException or IOException or UnauthorizedAccessException or ArgumentException)
        {
            throw new InvalidOperationException($"{field}: cannot load the cluster configuration ({error.GetType().Name})", error);
        }

        throw new InvalidOperationException($"{field}: no cluster configuration found (give {field}, set KUBECONFIG or run in a pod)");
    }

    public static KubernetesClientConfiguration Load(string path)
    {
        ArgumentException.ThrowIfNullOrWhiteSpace(path);
        ResourceJson.Ensure();
        var file = new FileInfo(path);
        K8SConfiguration? configuration;
        try
        {
            // Relative certificate and key paths are resolved against the file's folder, as kubectl does.
            configuration = KubernetesClientConfiguration.LoadKubeConfig(file, useRelativePaths: true);
        }
        catch (YamlException error)
        {
            throw new k8s.Exceptions.KubeConfigException($"kubeconfig {file.Name} is not valid YAML: {error.GetType().Name}");
        }

        if (configuration is null)
        {
            throw new k8s.Exceptions.KubeConfigException($"kubeconfig {file.Name} is empty");
        }

        var built = KubernetesClientConfiguration.BuildConfigFromConfigObject(configuration);
        if (CaBundle(configuration, file) is { Count: > 1 } bundle)
        {
            built.SslCaCerts = bundle;
        }

        return built;
    }

    /// <summary>
    /// Every certificate of the current cluster's certificate authority. KubernetesClient.Aot loads only the first
    /// certificate of the PEM (kube-apiserver's self-signed serving certificate comes as leaf plus CA, and the chain
    /// then fails against the leaf alone), where KubernetesClient and kubectl load them all.
    /// </summary>
    private static X509Certificate2Collection? CaBundle(K8SConfiguration configuration, FileInfo file)
    {
        var contextName = configuration.CurrentContext;
        var clusterName = configuration.Contexts?.FirstOrDefault(c => string.Equals(c.Name, contextName, StringComparison.Ordinal))?.ContextDetails?.Cluster;
        var endpoint = configuration.Clusters?.FirstOrDefault(c => string.Equals(c.Name, clusterName, StringComparison.Ordinal))?.ClusterEndpoint;
        string? pem = null;
        if (!string.IsNullOrEmpty(endpoint?.CertificateAuthorityData))
        {
            pem = Encoding.UTF8.GetString(Convert.FromBase64String(endpoint.CertificateAuthorityData));
        }
        else if (!string.IsNullOrEmpty(endpoint?.CertificateAuthority))
        {
            pem = File.ReadAllText(Path.IsPathRooted(endpoint.CertificateAuthority)
                ? endpoint.CertificateAuthority
                : Path.Combine(file.DirectoryName ?? ".", endpoint.CertificateAuthority));
        }

        if (pem is null || !pem.Contains("-----BEGIN CERTIFICATE-----", StringComparison.Ordinal))
        {
            return null;
        }

        var bundle = new X509Certificate2Collection();
        bundle.ImportFromPem(pem);
        return bundle;
    }
}
