using System.Text.Json.Nodes;
using System.Text.RegularExpressions;

namespace WorkspaceStorage.Api.Tests.Deployment;

/// <summary>Which of config/hypha-routes an overlay uses.</summary>
public enum Routes
{
    HttpRoute,
    Ingress,
}

/// <summary>
/// The example overlay an admin copies (config/overlays/hypha), rendered as shipped or, like an admin's copy, with
/// some settings changed and with the Ingress instead of the HTTPRoute.
/// </summary>
internal static partial class HyphaOverlay
{
    public const string Directory = "config/overlays/hypha";

    private static readonly Lazy<Rendered> AsShipped = new(() => new Rendered(YamlDocuments.Parse(Kubectl.Kustomize(Directory)), AllSettings()));

    private static readonly Lazy<Rendered> WithIngress = new(() => Render(Routes.Ingress, new Dictionary<string, string>()));

    /// <summary>Settings an admin's copy changes (each differs from the example's), rendered once per form.</summary>
    public static readonly IReadOnlyDictionary<string, string> AdminSettings = new Dictionary<string, string>(StringComparer.Ordinal)
    {
        ["publicUrl"] = "https://ai.lab.example",
        ["hyphaService"] = "hypha",
        ["hyphaNamespace"] = "lab",
        ["hyphaPort"] = "8080",
        ["gatewayName"] = "edge",
        ["gatewayNamespace"] = "infra",
        ["ingressClassName"] = "public-nginx",
        ["tlsSecretName"] = "ai-tls",
        ["OnDemand__Namespace"] = "hypha-storage",
        ["HyphaRegistration__Takeover"] = "true",
    };

    private static readonly Lazy<Rendered> CustomizedWithHttpRoute = new(() => Render(Routes.HttpRoute, AdminSettings));

    private static readonly Lazy<Rendered> CustomizedWithIngress = new(() => Render(Routes.Ingress, AdminSettings));

    public static Rendered Shipped(Routes routes = Routes.HttpRoute) => routes == Routes.HttpRoute ? AsShipped.Value : WithIngress.Value;

    /// <summary>The example with <see cref="AdminSettings"/>.</summary>
    public static Rendered Customized(Routes routes = Routes.HttpRoute) => routes == Routes.HttpRoute ? CustomizedWithHttpRoute.Value : CustomizedWithIngress.Value;

    /// <summary>The example's files, as a copy outside config/overlays would hold them, with <paramref name="settings"/> changed.</summary>
    private static Rendered Render(Routes routes, IReadOnlyDictionary<string, string> settings)
    {
        var kustomization = Read("kustomization.yaml").Replace("../../", Kubectl.ConfigFromOverlay + "/", StringComparison.Ordinal);
        if (routes == Routes.Ingress)
        {
            kustomization = kustomization.Replace("hypha-routes/httproute ", "hypha-routes/ingress ", StringComparison.Ordinal);
        }

        var files = new Dictionary<string, string> { ["kustomization.yaml"] = kustomization };
        var unused = new HashSet<string>(settings.Keys, StringComparer.Ordinal);
        foreach (var envFile in EnvFiles())
        {
            files[envFile] = Setting().Replace(Read(envFile), line =>
            {
                var key = line.Groups["key"].Value;
                return unused.Remove(key) ? $"{key}={settings[key]}" : line.Value;
            });
        }

        Assert.True(unused.Count == 0, $"the example overlay has no setting {string.Join(", ", unused)}");
        var used = AllSettings().ToDictionary(p => p.Key, p => settings.GetValueOrDefault(p.Key, p.Value), StringComparer.Ordinal);
        return new Rendered(YamlDocuments.Parse(Kubectl.KustomizeOverlay(files)), used);
    }

    /// <summary>KEY=value lines of the example's env files, comments left out.</summary>
    public static IReadOnlyDictionary<string, string> Settings(string envFile) =>
        Setting().Matches(Read(envFile)).ToDictionary(m => m.Groups["key"].Value, m => m.Groups["value"].Value, StringComparer.Ordinal);

    /// <summary>Every setting of the example's env files (their keys are distinct).</summary>
    public static IReadOnlyDictionary<string, string> AllSettings() =>
        EnvFiles().SelectMany(f => Settings(f)).ToDictionary(p => p.Key, p => p.Value, StringComparer.Ordinal);

    public static IEnumerable<string> EnvFiles() =>
        System.IO.Directory.GetFiles(RepositoryRoot.Combine(Directory), "*.env").Select(Path.GetFileName).Order(StringComparer.Ordinal)!;

    private static string Read(string file) => File.ReadAllText(RepositoryRoot.Combine(Directory, file));

    [GeneratedRegex(@"^(?<key>[A-Za-z][A-Za-z0-9_]*)=(?<value>.*)$", RegexOptions.Multiline)]
    private static partial Regex Setting();

    /// <summary>The objects kustomize rendered, and the settings they were rendered from.</summary>
    public sealed class Rendered(List<JsonObject> objects, IReadOnlyDictionary<string, string> settings)
    {
        public IReadOnlyList<JsonObject> Objects => objects;

        public IReadOnlyDictionary<string, string> Settings => settings;

        /// <summary>Hypha's Service as the routes settings name it (the settings themselves are not applied, so not rendered).</summary>
        public Backend HyphaService => new(settings["hyphaService"], settings["hyphaNamespace"], long.Parse(settings["hyphaPort"], System.Globalization.CultureInfo.InvariantCulture));

        public IEnumerable<JsonObject> OfKind(string kind) => objects.Where(o => (string?)o["kind"] == kind);

        public JsonObject Single(string kind, string name) =>
            Assert.Single(OfKind(kind), o => (string?)o["metadata"]!["name"] == name);

        /// <summary>A ConfigMap by its name before kustomize's hash suffix.</summary>
        public JsonObject GeneratedConfigMap(string name) =>
            Assert.Single(OfKind("ConfigMap"), o => ((string)o["metadata"]!["name"]!).StartsWith(name + "-", StringComparison.Ordinal));

        public JsonObject ApiPod => Single("Deployment", "workspace-storage-api")["spec"]!["template"]!["spec"]!.AsObject();

        public JsonObject ApiContainer => ApiPod["containers"]!.AsArray().Single(c => (string?)c!["name"] == "api")!.AsObject();

        /// <summary>The API's environment as the pod sees it: its settings ConfigMap, overridden by the container's own env.</summary>
        public IReadOnlyDictionary<string, string> ApiEnvironment()
        {
            var environment = new Dictionary<string, string>(StringComparer.Ordinal);
            foreach (var source in ApiContainer["envFrom"]!.AsArray())
            {
                var configMap = Single("ConfigMap", (string)source!["configMapRef"]!["name"]!);
                foreach (var (key, value) in configMap["data"]?.AsObject() ?? [])
                {
                    environment[key] = (string)value!;
                }
            }

            foreach (var variable in ApiContainer["env"]!.AsArray().Where(v => v!["value"] is not null))
            {
                environment[(string)variable!["name"]!] = (string)variable["value"]!;
            }

            return environment;
        }
    }
}
