using System.Text.Json;
using k8s;
using k8s.Models;
using YamlDotNet.RepresentationModel;
using WorkspaceStorage.Testing.Support;

namespace WorkspaceStorage.EndToEnd.Tests.Infrastructure;

/// <summary>
/// The CustomResourceDefinitions of crds/, as `kubectl apply -f crds/` sends them: each YAML document turned into JSON
/// (plain scalars typed as YAML 1.2's core schema reads them, as kubectl does) and read with KubernetesJson
/// (KubernetesClient.Aot has no YAML model loader; CrdManifestsTests checks that nothing of the YAML is lost on the way).
/// </summary>
internal static class CrdManifests
{
    public static IEnumerable<string> Files() => Directory.GetFiles(RepositoryRoot.Combine("crds"), "*.yaml").Order(StringComparer.Ordinal);

    public static IReadOnlyList<V1CustomResourceDefinition> Load()
    {
        var crds = new List<V1CustomResourceDefinition>();
        foreach (var file in Files())
        {
            var stream = new YamlStream();
            using (var reader = new StringReader(File.ReadAllText(file)))
            {
                stream.Load(reader);
            }

            foreach (var document in stream.Documents)
            {
                var node = ToJson(document.RootNode);
                var kind = node?["kind"]?.GetValue<string>();
                if (kind != "CustomResourceDefinition")
                {
                    throw new InvalidOperationException($"{file}: expected only CustomResourceDefinitions, found {kind ?? "an empty document"}");
                }

                crds.Add(KubernetesJson.Deserialize<V1CustomResourceDefinition>(node!.ToJsonString()));
            }
        }

        return crds;
    }

    private static System.Text.Json.Nodes.JsonNode? ToJson(YamlNode node) => node switch
    {
        YamlMappingNode map => new System.Text.Json.Nodes.JsonObject(map.Children.Select(
            child => KeyValuePair.Create(((YamlScalarNode)child.Key).Value!, ToJson(child.Value)))),
        YamlSequenceNode list => new System.Text.Json.Nodes.JsonArray([.. list.Children.Select(ToJson)]),
        YamlScalarNode scalar => Scalar(scalar),
        _ => throw new InvalidOperationException($"unsupported YAML node {node.NodeType}"),
    };

    private static System.Text.Json.Nodes.JsonNode? Scalar(YamlScalarNode scalar)
    {
        var value = scalar.Value ?? "";
        if (scalar.Style != YamlDotNet.Core.ScalarStyle.Plain)
        {
            return System.Text.Json.Nodes.JsonValue.Create(value);
        }

        return value switch
        {
            "" or "~" or "null" or "Null" or "NULL" => null,
            "true" or "True" or "TRUE" => System.Text.Json.Nodes.JsonValue.Create(true),
            "false" or "False" or "FALSE" => System.Text.Json.Nodes.JsonValue.Create(false),
            _ when long.TryParse(value, System.Globalization.NumberStyles.AllowLeadingSign, System.Globalization.CultureInfo.InvariantCulture, out var integer) => System.Text.Json.Nodes.JsonValue.Create(integer),
            _ when System.Text.RegularExpressions.Regex.IsMatch(value, @"^[-+]?(\.[0-9]+|[0-9]+(\.[0-9]*)?)([eE][-+]?[0-9]+)?$")
                && double.TryParse(value, System.Globalization.NumberStyles.Float, System.Globalization.CultureInfo.InvariantCulture, out var number) => System.Text.Json.Nodes.JsonValue.Create(number),
            _ => System.Text.Json.Nodes.JsonValue.Create(value),
        };
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
