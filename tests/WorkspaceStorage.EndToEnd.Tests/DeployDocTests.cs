using System.Text.Json.Nodes;
using System.Text.RegularExpressions;
using k8s;
using WorkspaceStorage.Core.Resources;
using WorkspaceStorage.EndToEnd.Tests.Infrastructure;
using WorkspaceStorage.Operator.LocalMode;

namespace WorkspaceStorage.EndToEnd.Tests;

/// <summary>
/// docs/deploy.md is written against the CRDs and the install on this commit: its manifests pass the operator's
/// validation and use only fields the CRD schema knows (the API server would silently prune a misspelt one), and
/// its commands name resources, short names and the annotation that exist.
/// </summary>
public sealed partial class DeployDocTests
{
    private static readonly string Doc = File.ReadAllText(RepositoryRoot.Combine("docs", "deploy.md"));

    [Fact]
    public void The_manifests_in_the_doc_are_valid_resources_with_only_known_fields()
    {
        var documents = Manifests().ToList();
        var kinds = documents.Select(d => d["kind"]!.GetValue<string>()).ToList();
        Assert.Contains("StorageBackend", kinds);
        Assert.Contains("WorkspaceStorage", kinds);
        Assert.Contains("Pod", kinds);

        var schemas = CrdManifests.Load().ToDictionary(c => c.Spec.Names.Kind,
            c => JsonNode.Parse(KubernetesJson.Serialize(c.Spec.Versions.Single().Schema.OpenAPIV3Schema))!.AsObject());
        foreach (var document in documents)
        {
            var kind = document["kind"]!.GetValue<string>();
            if (!schemas.TryGetValue(kind, out var schema))
            {
                continue;
            }

            Assert.Equal(ApiGroup.ApiVersion, document["apiVersion"]!.GetValue<string>());
            var unknown = new List<string>();
            UnknownFields(document["spec"], schema["properties"]!["spec"]!.AsObject(), "spec", unknown);
            Assert.True(unknown.Count == 0, $"{kind} in docs/deploy.md has fields the CRD does not know: {string.Join(", ", unknown)}");

            var json = document.ToJsonString();
            var errors = kind == ApiGroup.WorkspaceStorageKind
                ? WorkspaceStorageValidator.Validate(KubernetesJson.Deserialize<WorkspaceStorageResource>(json), hasDefaultBackend: false).Message
                : StorageBackendValidator.Validate(KubernetesJson.Deserialize<StorageBackendResource>(json)).Message;
            Assert.True(errors.Length == 0, $"{kind} in docs/deploy.md is invalid: {errors}");
        }
    }

    [Fact]
    public void Commands_use_the_CRDs_short_names_and_the_rotate_annotation()
    {
        var shortNames = CrdManifests.Load().SelectMany(c => c.Spec.Names.ShortNames).ToHashSet(StringComparer.Ordinal);
        Assert.Equal(["wsb", "wss"], shortNames.Order(StringComparer.Ordinal));
        foreach (Match use in ShortNameUse().Matches(Doc))
        {
            Assert.Contains(use.Groups[1].Value, shortNames);
        }

        var annotate = Assert.Single(Doc.Split('\n'), l => l.Contains("kubectl", StringComparison.Ordinal) && l.Contains(" annotate ", StringComparison.Ordinal));
        Assert.Contains($"{ResourceMetadata.RotateAnnotation}=", annotate, StringComparison.Ordinal);
        Assert.Contains("--overwrite", annotate, StringComparison.Ordinal);
        Assert.Contains("kubectl apply -k config/default", Doc, StringComparison.Ordinal);
        Assert.Contains("--for=condition=Ready wss/", Doc, StringComparison.Ordinal);
    }

    [Fact]
    public void Deployments_namespace_and_Secret_names_match_the_install()
    {
        var kustomization = YamlJson.ParseDocuments(File.ReadAllText(RepositoryRoot.Combine("config", "default", "kustomization.yaml"))).Single();
        var ns = kustomization["namespace"]!.GetValue<string>();
        var prefix = kustomization["namePrefix"]!.GetValue<string>();
        var deployments = new[] { "manager/manager.yaml", "api/api.yaml" }
            .SelectMany(f => YamlJson.ParseDocuments(File.ReadAllText(RepositoryRoot.Combine("config", f))))
            .Where(d => d["kind"]!.GetValue<string>() == "Deployment")
            .Select(d => prefix + d["metadata"]!["name"]!.GetValue<string>())
            .ToHashSet(StringComparer.Ordinal);

        foreach (Match use in DeploymentUse().Matches(Doc))
        {
            Assert.Contains(use.Groups[1].Value, deployments);
        }

        foreach (Match use in NamespaceFlag().Matches(Doc))
        {
            Assert.True(use.Groups[1].Value is "team-alpha" or "argocd" || use.Groups[1].Value == ns, $"unexpected namespace {use.Groups[1].Value}");
        }

        var api = File.ReadAllText(RepositoryRoot.Combine("config", "api", "api.yaml"));
        Assert.Contains("secretName: hypha-jwt", api, StringComparison.Ordinal);
        Assert.Contains("create secret generic hypha-jwt --from-literal=HYPHA_JWT_SECRET=", Doc, StringComparison.Ordinal);
    }

    /// <summary>Documents of the ```yaml blocks and of the `kubectl apply -f - &lt;&lt;'EOF'` heredocs.</summary>
    private static IEnumerable<JsonObject> Manifests()
    {
        foreach (Match block in YamlBlock().Matches(Doc))
        {
            foreach (var document in YamlJson.ParseDocuments(block.Groups[1].Value))
            {
                yield return document;
            }
        }

        foreach (Match heredoc in Heredoc().Matches(Doc))
        {
            foreach (var document in YamlJson.ParseDocuments(heredoc.Groups[1].Value))
            {
                yield return document;
            }
        }
    }

    private static void UnknownFields(JsonNode? value, JsonObject schema, string path, List<string> unknown)
    {
        if (value is JsonObject map && schema["properties"] is JsonObject properties)
        {
            foreach (var (field, child) in map)
            {
                if (properties[field] is JsonObject childSchema)
                {
                    UnknownFields(child, childSchema, $"{path}.{field}", unknown);
                }
                else
                {
                    unknown.Add($"{path}.{field}");
                }
            }
        }
        else if (value is JsonArray items && schema["items"] is JsonObject itemSchema)
        {
            foreach (var item in items)
            {
                UnknownFields(item, itemSchema, path + "[]", unknown);
            }
        }
    }

    [GeneratedRegex("```yaml\\n(.*?)```", RegexOptions.Singleline)]
    private static partial Regex YamlBlock();

    [GeneratedRegex("<<'EOF'\\n(.*?)\\nEOF", RegexOptions.Singleline)]
    private static partial Regex Heredoc();

    [GeneratedRegex(@"(?<=\s)(ws[a-z]?)/[a-z0-9]")]
    private static partial Regex ShortNameUse();

    [GeneratedRegex(@"deploy/([a-z0-9-]+)")]
    private static partial Regex DeploymentUse();

    [GeneratedRegex(@"kubectl -n ([a-z0-9-]+)")]
    private static partial Regex NamespaceFlag();
}
