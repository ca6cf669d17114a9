using System.Text.Json;
using k8s;
using k8s.Models;
using WorkspaceStorage.Operator.LocalMode;

namespace WorkspaceStorage.EndToEnd.Tests.Infrastructure;

/// <summary>
/// The CustomResourceDefinitions of crds/, as the API server receives them from `kubectl apply -f crds/`.
/// </summary>
/// <remarks>
/// Not <c>KubernetesYaml.LoadAllFromString</c>: it reads untyped fields such as a schema's <c>default</c> into
/// <c>object</c> as YAML strings, so <c>default: true</c> would reach the API server as <c>"true"</c> and the CRD
/// would be refused (a boolean field with a string default). The YAML goes through a typed YAML→JSON tree instead
/// (YAML 1.2 core schema: plain true is a boolean), then the client's own JSON model.
/// </remarks>
internal static class CrdManifests
{
    public static IReadOnlyList<V1CustomResourceDefinition> Load()
    {
        var crds = new List<V1CustomResourceDefinition>();
        foreach (var file in Directory.GetFiles(RepositoryRoot.Combine("crds"), "*.yaml").Order(StringComparer.Ordinal))
        {
            foreach (var document in YamlJson.ParseDocuments(File.ReadAllText(file)))
            {
                if (document["kind"]?.GetValue<string>() != "CustomResourceDefinition")
                {
                    throw new InvalidOperationException($"{file}: expected only CustomResourceDefinitions, found {document["kind"]}");
                }

                crds.Add(KubernetesJson.Deserialize<V1CustomResourceDefinition>(document.ToJsonString()));
            }
        }

        return crds;
    }

    /// <summary>Creates (or replaces) every CRD and waits until the API server serves them.</summary>
    public static async Task InstallAsync(IKubernetes kubernetes, TimeSpan timeout, CancellationToken cancellationToken)
    {
        var crds = Load();
        foreach (var crd in crds)
        {
            try
            {
                await kubernetes.ApiextensionsV1.CreateCustomResourceDefinitionAsync(crd, cancellationToken: cancellationToken);
            }
            catch (k8s.Autorest.HttpOperationException error) when (error.Response.StatusCode == System.Net.HttpStatusCode.Conflict)
            {
                var existing = await kubernetes.ApiextensionsV1.ReadCustomResourceDefinitionAsync(crd.Metadata.Name, cancellationToken: cancellationToken);
                crd.Metadata.ResourceVersion = existing.Metadata.ResourceVersion;
                await kubernetes.ApiextensionsV1.ReplaceCustomResourceDefinitionAsync(crd, crd.Metadata.Name, cancellationToken: cancellationToken);
            }
            catch (k8s.Autorest.HttpOperationException error)
            {
                throw new InvalidOperationException($"The API server refused CRD {crd.Metadata.Name}: {error.Response.StatusCode} {error.Response.Content}", error);
            }
        }

        foreach (var crd in crds)
        {
            await Eventually.WaitAsync($"CRD {crd.Metadata.Name} to be Established", timeout, async ct =>
            {
                var current = await kubernetes.ApiextensionsV1.ReadCustomResourceDefinitionAsync(crd.Metadata.Name, cancellationToken: ct);
                var conditions = current.Status?.Conditions ?? [];
                var established = conditions.Any(c => c.Type == "Established" && c.Status == "True");
                return (established, JsonSerializer.Serialize(conditions.Select(c => new { c.Type, c.Status, c.Reason, c.Message })));
            }, cancellationToken);
        }
    }
}
