using System.Text.Json.Nodes;
using System.Text.RegularExpressions;
using k8s;
using WorkspaceStorage.Core.Model;
using WorkspaceStorage.Resources;
using WorkspaceStorage.EndToEnd.Tests.Infrastructure;
using WorkspaceStorage.Testing.Hypha;

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
                ? ResourceModel.Validate(KubernetesJson.Deserialize<WorkspaceStorageResource>(json), hasDefaultBackend: false).Message
                : ResourceModel.Validate(KubernetesJson.Deserialize<StorageBackendResource>(json)).Message;
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
        var kustomization = YamlDocuments.Parse(File.ReadAllText(RepositoryRoot.Combine("config", "default", "kustomization.yaml"))).Single();
        var ns = kustomization["namespace"]!.GetValue<string>();
        var prefix = kustomization["namePrefix"]!.GetValue<string>();
        var deployments = new[] { "manager/manager.yaml", "api/api.yaml" }
            .SelectMany(f => YamlDocuments.Parse(File.ReadAllText(RepositoryRoot.Combine("config", f))))
            .Where(d => d["kind"]!.GetValue<string>() == "Deployment")
            .Select(d => prefix + d["metadata"]!["name"]!.GetValue<string>())
            .ToHashSet(StringComparer.Ordinal);

        foreach (Match use in DeploymentUse().Matches(Doc))
        {
            Assert.Contains(use.Groups[1].Value, deployments);
        }

        // The install's, the examples', and those of the Hypha overlay: Hypha's own and the on-demand one.
        var namespaces = new HashSet<string>(StringComparer.Ordinal) { ns, "team-alpha", "argocd", OverlaySetting("routes.env", "hyphaNamespace"), OverlaySetting("on-demand.env", "OnDemand__Namespace") };
        foreach (Match use in NamespaceFlag().Matches(Doc))
        {
            Assert.True(namespaces.Contains(use.Groups[1].Value), $"unexpected namespace {use.Groups[1].Value}");
        }

        var api = File.ReadAllText(RepositoryRoot.Combine("config", "api", "api.yaml"));
        Assert.Contains("secretName: hypha-jwt", api, StringComparison.Ordinal);
        Assert.Contains("create secret generic hypha-jwt \\\n  --from-file=HYPHA_JWT_SECRET=", Doc, StringComparison.Ordinal);
    }

    [Fact]
    public void The_Hypha_sections_use_the_token_Secret_settings_and_labels_of_the_install()
    {
        // The Secret the doc has the admin create is the one config/hypha mounts, under the keys hypha.env names.
        var patch = YamlDocuments.Parse(File.ReadAllText(RepositoryRoot.Combine("config", "hypha", "api_hypha_patch.yaml"))).Single();
        var pod = patch["spec"]!["template"]!["spec"]!;
        var volume = Assert.Single(pod["volumes"]!.AsArray())!;
        var mount = Assert.Single(pod["containers"]![0]!["volumeMounts"]!.AsArray())!;
        var secret = (string)volume["secret"]!["secretName"]!;
        var directory = (string)mount["mountPath"]!;
        var hyphaEnv = File.ReadAllText(RepositoryRoot.Combine("config", "overlays", "hypha", "hypha.env"));
        foreach (var (setting, key) in new[] { ("HyphaRegistration__RootTokenFile", "root-token"), ("HyphaRegistration__TokenFile", "token") })
        {
            Assert.Contains($"create secret generic {secret} --from-file={key}=", Doc, StringComparison.Ordinal);
            Assert.Contains($"{setting}={directory}/{key}", hyphaEnv, StringComparison.Ordinal);
            Assert.Contains($"`{directory}/{key}`", Doc, StringComparison.Ordinal);
        }

        Assert.Contains("kubectl apply -k config/overlays/hypha", Doc, StringComparison.Ordinal);
        Assert.Contains("python3 scripts/hypha-public-token.py public-token --days 90", Doc, StringComparison.Ordinal);
        Assert.Contains($"-l {OnDemandWorkspaceStorage.Selector}", Doc, StringComparison.Ordinal);
        Assert.Contains($"`{OnDemandWorkspaceStorage.LastUsedAnnotation}`", Doc, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Hyphas_flags_and_variables_in_the_doc_are_Hyphas_own()
    {
        var python = await HyphaPython.RequireAsync();
        var server = await HyphaPython.ModuleSourceAsync(python, "hypha.server", TestContext.Current.CancellationToken);
        var flags = HyphaFlag().Matches(server).Select(m => m.Groups[1].Value).ToHashSet(StringComparer.Ordinal);
        Assert.Contains("--enable-s3", flags);

        // Section 8 names Hypha's flags (in backticks and on the `python3 -m hypha.server` lines) and their variables.
        var section = Doc[Doc.IndexOf("## 8. ", StringComparison.Ordinal)..Doc.IndexOf("## 9. ", StringComparison.Ordinal)];
        var named = BacktickedFlag().Matches(section).Select(m => m.Groups[1].Value)
            .Concat(section.Split('\n').Where(l => l.Contains("hypha.server", StringComparison.Ordinal)).SelectMany(l => AnyFlag().Matches(l).Select(m => m.Groups[1].Value)))
            .ToHashSet(StringComparer.Ordinal);
        Assert.Contains("--root-token", named);
        Assert.All(named, flag => Assert.Contains(flag, flags));

        var variables = HyphaVariable().Matches(section).Select(m => m.Value).ToHashSet(StringComparer.Ordinal);
        Assert.Contains("HYPHA_ROOT_TOKEN", variables);
        Assert.Contains("HYPHA_ENABLE_S3", variables);
        foreach (var variable in variables.Where(v => v != "HYPHA_JWT_SECRET"))
        {
            Assert.Contains("--" + variable["HYPHA_".Length..].ToLowerInvariant().Replace('_', '-'), flags);
        }

        // Hypha reads its JWT secret from HYPHA_JWT_SECRET (or JWT_SECRET), not from a flag.
        Assert.Contains("\"HYPHA_JWT_SECRET\"", await HyphaPython.ModuleSourceAsync(python, "hypha.core.auth", TestContext.Current.CancellationToken), StringComparison.Ordinal);
    }

    [Fact]
    public async Task The_public_token_the_doc_mints_may_register_a_service_in_public()
    {
        await using var hypha = await StartHyphaAsync();
        var work = Directory.CreateTempSubdirectory("wso-deploy-doc-").FullName;
        try
        {
            var said = await PythonAsync(hypha, RepositoryRoot.Combine("scripts", "hypha-public-token.py"), ["public-token", "--days", "1"], work);

            var tokenFile = Path.Combine(work, "public-token");
            if (!OperatingSystem.IsWindows()) // always, where Python Hypha runs here
            {
                Assert.Equal(UnixFileMode.UserRead | UnixFileMode.UserWrite, File.GetUnixFileMode(tokenFile));
            }

            var token = File.ReadAllText(tokenFile);
            Assert.Equal(3, token.Split('.').Length); // a JWT
            Assert.DoesNotContain(token, said, StringComparison.Ordinal);

            // What the companion does with it: connect to workspace public and register a service there.
            var check = Path.Combine(work, "register.py");
            File.WriteAllText(check, RegisterInPublic);
            var registered = await PythonAsync(hypha, check, [tokenFile], work);
            Assert.Matches(@"REGISTERED public/[^/\s]+:s3-storage-doc-check", registered);
        }
        finally
        {
            Directory.Delete(work, recursive: true);
        }
    }

    private static async Task<HyphaTestServer> StartHyphaAsync()
    {
        try
        {
            return await HyphaTestServer.StartAsync(cancellationToken: TestContext.Current.CancellationToken);
        }
        catch (HyphaUnavailableException ex)
        {
            HyphaPython.Unavailable(ex.Message);
            throw;
        }
    }

    /// <summary>Runs the script in <paramref name="workingDirectory"/> with Hypha's Python; its output (which names no token) goes into the failure message.</summary>
    private static async Task<string> PythonAsync(HyphaTestServer hypha, string script, IEnumerable<string> arguments, string workingDirectory)
    {
        var environment = new Dictionary<string, string> { ["HYPHA_SERVER_URL"] = hypha.Url.ToString().TrimEnd('/'), ["HYPHA_ROOT_TOKEN_FILE"] = hypha.RootTokenFile };
        var run = await HyphaPython.RunAsync(hypha.Python, script, arguments, environment, workingDirectory, TimeSpan.FromMinutes(2), TestContext.Current.CancellationToken);
        Assert.True(run.ExitCode == 0, $"{Path.GetFileName(script)} failed: {run}");
        return run.Output;
    }

    private const string RegisterInPublic = """
        import asyncio, os, sys
        from hypha_rpc import connect_to_server

        async def main():
            with open(sys.argv[1]) as f:
                token = f.read()
            api = await connect_to_server({"server_url": os.environ["HYPHA_SERVER_URL"], "token": token, "workspace": "public"})
            service = await api.register_service({"id": "s3-storage-doc-check", "config": {"visibility": "public"}, "ping": lambda: "pong"})
            print("REGISTERED", service["id"])
            await api.disconnect()

        asyncio.run(main())
        """;

    /// <summary>A KEY=value line of an env file of config/overlays/hypha.</summary>
    private static string OverlaySetting(string envFile, string key) =>
        Regex.Match(File.ReadAllText(RepositoryRoot.Combine("config", "overlays", "hypha", envFile)), $"^{Regex.Escape(key)}=(.*)$", RegexOptions.Multiline).Groups[1].Value;

    /// <summary>Documents of the ```yaml blocks and of the `kubectl apply -f - &lt;&lt;'EOF'` heredocs.</summary>
    private static IEnumerable<JsonObject> Manifests()
    {
        foreach (Match block in YamlBlock().Matches(Doc))
        {
            foreach (var document in YamlDocuments.Parse(block.Groups[1].Value))
            {
                yield return document;
            }
        }

        foreach (Match heredoc in Heredoc().Matches(Doc))
        {
            foreach (var document in YamlDocuments.Parse(heredoc.Groups[1].Value))
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
    [GeneratedRegex(@"add_argument\(\s*""(--[a-z0-9-]+)""")]
    private static partial Regex HyphaFlag();

    [GeneratedRegex(@"`(--[a-z0-9-]+)")]
    private static partial Regex BacktickedFlag();

    [GeneratedRegex(@"(?<![\w-])(--[a-z0-9-]+)")]
    private static partial Regex AnyFlag();

    [GeneratedRegex(@"\bHYPHA_[A-Z0-9_]+")]
    private static partial Regex HyphaVariable();
}
