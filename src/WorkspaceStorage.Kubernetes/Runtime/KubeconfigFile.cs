using k8s;
using k8s.KubeConfigModels;
using YamlDotNet.Core;
using YamlDotNet.Serialization;
using YamlDotNet.Serialization.NamingConventions;

namespace WorkspaceStorage.Kubernetes.Runtime;

/// <summary>
/// Loads a kubeconfig file with a plain YamlDotNet deserializer, then lets KubernetesClient build the configuration
/// from the object (contexts, certificates, tokens and exec plugins as KubernetesClient handles them).
/// <see cref="KubernetesClientConfiguration.BuildConfigFromConfigFile(string, string, string, bool)"/> goes through
/// KubernetesYaml, whose first use reflects over every model type of KubernetesClient to build its kind map: some
/// 20 MiB of type data the process then keeps for good, for a file read once at start. The operator and the API both
/// read their kubeconfig through here.
/// </summary>
internal static class KubeconfigFile
{
    public static KubernetesClientConfiguration Load(string path)
    {
        ArgumentException.ThrowIfNullOrWhiteSpace(path);
        var file = new FileInfo(path);
        K8SConfiguration? configuration;
        try
        {
            var reader = new DeserializerBuilder()
                .WithNamingConvention(CamelCaseNamingConvention.Instance)
                .IgnoreUnmatchedProperties()
                .Build();
            using var text = file.OpenText();
            configuration = reader.Deserialize<K8SConfiguration?>(text);
        }
        catch (YamlException error)
        {
            throw new k8s.Exceptions.KubeConfigException($"kubeconfig {file.Name} is not valid YAML: {error.GetType().Name}");
        }

        if (configuration is null)
        {
            throw new k8s.Exceptions.KubeConfigException($"kubeconfig {file.Name} is empty");
        }

        // Relative certificate and key paths are resolved against the file's folder, as kubectl does.
        configuration.FileName = file.FullName;
        return KubernetesClientConfiguration.BuildConfigFromConfigObject(configuration);
    }
}
