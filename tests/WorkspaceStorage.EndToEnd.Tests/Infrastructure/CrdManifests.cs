using System.Text.Json;
using k8s;
using k8s.Models;
using WorkspaceStorage.Testing.Support;

namespace WorkspaceStorage.EndToEnd.Tests.Infrastructure;

/// <summary>
/// The CustomResourceDefinitions of crds/, as `kubectl apply -f crds/` sends them: loaded with the client's own
/// <see cref="KubernetesYaml.LoadAllFromString"/> (CrdManifestsTests checks that nothing of the YAML is lost on the way).
/// </summary>
internal static class CrdManifests
{
    public static IEnumerable<string> Files() => Directory.GetFiles(RepositoryRoot.Combine("crds"), "*.yaml").Order(StringComparer.Ordinal);

    public static IReadOnlyList<V1CustomResourceDefinition> Load()
    {
        var crds = new List<V1CustomResourceDefinition>();
        foreach (var file in Files())
        {
            foreach (var document in KubernetesYaml.LoadAllFromString(File.ReadAllText(file)))
            {
                crds.Add(document as V1CustomResourceDefinition
                    ?? throw new InvalidOperationException($"{file}: expected only CustomResourceDefinitions, found {document?.GetType().Name ?? "an empty document"}"));
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
