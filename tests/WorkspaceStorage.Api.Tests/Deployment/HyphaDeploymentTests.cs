using System.Text.Json.Nodes;
using Microsoft.Extensions.Configuration;
using WorkspaceStorage.Api.OnDemand;
using static WorkspaceStorage.Api.Tests.Deployment.HyphaOverlay;

namespace WorkspaceStorage.Api.Tests.Deployment;

/// <summary>
/// The example overlay for a Hypha deployment (config/overlays/hypha with config/hypha and config/on-demand), rendered:
/// the API gets the registration settings and the token file, the on-demand settings pass the API's own start-up
/// validation, and its RBAC grows by one Role in the on-demand namespace and nothing cluster-wide.
/// </summary>
public sealed class HyphaDeploymentTests
{
    private const string TokenSecret = "hypha-token";

    [Fact]
    public void The_API_registers_with_settings_it_knows_and_reads_the_token_from_the_mounted_Secret()
    {
        var rendered = Shipped();
        var environment = rendered.ApiEnvironment();
        var registration = environment.Where(e => e.Key.StartsWith("HyphaRegistration__", StringComparison.Ordinal)).ToDictionary();
        Assert.All(registration.Keys, key => Assert.Contains(key, DeployDocSettingsTests.RegistrationSettings));

        Assert.True(Uri.TryCreate(registration["HyphaRegistration__ServerUrl"], UriKind.Absolute, out var server) && server.Scheme is "http" or "https");
        Assert.Equal("public", registration["HyphaRegistration__Workspace"]);
        Assert.Equal("s3-storage", registration["HyphaRegistration__ServiceId"]);
        Assert.False(bool.Parse(registration["HyphaRegistration__Takeover"])); // the example is sole mode

        // Exactly one token source, and its file is a key of the Secret the pod mounts.
        var source = Assert.Single(registration, e => e.Key is "HyphaRegistration__RootTokenFile" or "HyphaRegistration__TokenFile");
        Assert.Equal("/etc/hypha-token/root-token", source.Value);
        var (secret, key) = MountedSecretFile(rendered.ApiPod, rendered.ApiContainer, source.Value);
        Assert.Equal(TokenSecret, secret);
        Assert.Equal("root-token", key);
    }

    [Fact]
    public void The_ready_token_line_of_the_example_names_the_other_key_of_the_same_Secret()
    {
        var hyphaEnv = File.ReadAllText(RepositoryRoot.Combine(HyphaOverlay.Directory, "hypha.env"));
        Assert.Contains("# HyphaRegistration__TokenFile=/etc/hypha-token/token\n", hyphaEnv, StringComparison.Ordinal);
        var rendered = Shipped();
        var (secret, key) = MountedSecretFile(rendered.ApiPod, rendered.ApiContainer, "/etc/hypha-token/token");
        Assert.Equal((TokenSecret, "token"), (secret, key));
    }

    [Fact]
    public void Takeover_mode_and_the_on_demand_namespace_are_one_setting_each()
    {
        var rendered = Customized();
        Assert.True(bool.Parse(rendered.ApiEnvironment()["HyphaRegistration__Takeover"]));
        Assert.Equal("hypha-storage", rendered.ApiEnvironment()["OnDemand__Namespace"]);
        Assert.Equal("hypha-storage", (string?)rendered.Single("Role", "workspace-storage-api-on-demand")["metadata"]!["namespace"]);
        Assert.Equal("hypha-storage", (string?)rendered.Single("RoleBinding", "workspace-storage-api-on-demand")["metadata"]!["namespace"]);
        rendered.Single("Namespace", "hypha-storage");
        Assert.DoesNotContain(rendered.OfKind("Namespace"), n => (string?)n["metadata"]!["name"] == "workspace-storage-on-demand");
    }

    [Fact]
    public void The_on_demand_settings_pass_the_APIs_start_up_validation()
    {
        var environment = Shipped().ApiEnvironment();
        var options = Bind(environment);
        Assert.True(options.Enabled);
        var result = new OnDemandOptionsValidator().Validate(null, options);
        Assert.True(result.Succeeded, result.FailureMessage);

        // Personal workspaces, but not Hypha's temporary anonymous ones; the data stays when an object is cleaned up.
        var patterns = new WorkspacePatterns(options.AllowedWorkspaces);
        Assert.Null(patterns.Refusal(Core.Workspaces.WorkspaceId.Parse("ws-user-github|12345")));
        Assert.NotNull(patterns.Refusal(Core.Workspaces.WorkspaceId.Parse("ws-user-anonymouz-k9x2")));
        Assert.NotNull(patterns.Refusal(Core.Workspaces.WorkspaceId.Parse("ws-alpha")));
        Assert.Equal(Core.Model.DeletionPolicy.Retain, options.Template.DeletionPolicy);
    }

    [Fact]
    public void On_demand_RBAC_is_one_Role_in_the_on_demand_namespace_and_nothing_cluster_wide()
    {
        var rendered = Shipped();
        var ns = rendered.ApiEnvironment()["OnDemand__Namespace"];
        var plain = YamlDocuments.Parse(Kubectl.Kustomize("config/default"));

        // Cluster-wide RBAC is exactly config/default's.
        foreach (var kind in new[] { "ClusterRole", "ClusterRoleBinding" })
        {
            var before = plain.Where(o => (string?)o["kind"] == kind).Select(Comparable).Order(StringComparer.Ordinal);
            var after = rendered.OfKind(kind).Select(Comparable).Order(StringComparer.Ordinal);
            Assert.Equal(before, after);
        }

        // Namespaced RBAC: config/default's, plus one Role and its binding, in the on-demand namespace.
        var added = rendered.OfKind("Role").Concat(rendered.OfKind("RoleBinding")).Select(Id)
            .Except(plain.Where(o => (string?)o["kind"] is "Role" or "RoleBinding").Select(Id)).Order(StringComparer.Ordinal);
        Assert.Equal([$"Role {ns}/workspace-storage-api-on-demand", $"RoleBinding {ns}/workspace-storage-api-on-demand"], added);

        var role = rendered.Single("Role", "workspace-storage-api-on-demand");
        var rule = Assert.Single(role["rules"]!.AsArray())!;
        Assert.Equal(["workspacestorage.hypha.amun.ai"], rule["apiGroups"]!.AsArray().Select(n => (string?)n));
        Assert.Equal(["workspacestorages"], rule["resources"]!.AsArray().Select(n => (string?)n));
        Assert.Equal(["create", "delete", "patch"], rule["verbs"]!.AsArray().Select(n => (string?)n).Order(StringComparer.Ordinal));
        Assert.Null(rule["resourceNames"]);

        var binding = rendered.Single("RoleBinding", "workspace-storage-api-on-demand");
        Assert.Equal("workspace-storage-api-on-demand", (string?)binding["roleRef"]!["name"]);
        var subject = Assert.Single(binding["subjects"]!.AsArray())!;
        Assert.Equal(("ServiceAccount", "workspace-storage-api", "workspace-storage-system"),
            ((string?)subject["kind"], (string?)subject["name"], (string?)subject["namespace"]));
        Assert.Equal((string?)rendered.ApiPod["serviceAccountName"], (string?)subject["name"]);

        rendered.Single("Namespace", ns);
    }

    [Fact]
    public void Every_setting_the_example_gives_reaches_the_API_unchanged()
    {
        var environment = Shipped().ApiEnvironment();
        foreach (var file in new[] { "hypha.env", "on-demand.env" })
        {
            foreach (var (key, value) in HyphaOverlay.Settings(file))
            {
                Assert.Equal(value, environment.GetValueOrDefault(key));
            }
        }
    }

    /// <summary>The Secret and key behind a file path in <paramref name="container"/>'s mounts.</summary>
    private static (string Secret, string Key) MountedSecretFile(JsonObject pod, JsonObject container, string file)
    {
        var mount = Assert.Single(container["volumeMounts"]!.AsArray(), m => file.StartsWith((string)m!["mountPath"]! + "/", StringComparison.Ordinal))!;
        Assert.True((bool?)mount["readOnly"]);
        Assert.Null(mount["subPath"]); // a subPath mount would not see the Secret's updates
        var volume = Assert.Single(pod["volumes"]!.AsArray(), v => (string?)v!["name"] == (string?)mount["name"])!;
        var secret = volume["secret"]!;
        Assert.Null(secret["items"]); // every key of the Secret is a file
        return ((string)secret["secretName"]!, file[(((string)mount["mountPath"]!).Length + 1)..]);
    }

    private static OnDemandOptions Bind(IReadOnlyDictionary<string, string> environment)
    {
        var configuration = new ConfigurationBuilder()
            .AddInMemoryCollection(environment.Select(e => KeyValuePair.Create(e.Key.Replace("__", ":", StringComparison.Ordinal), (string?)e.Value)))
            .Build();
        return configuration.GetSection(OnDemandOptions.SectionName).Get<OnDemandOptions>()!;
    }

    private static string Comparable(JsonObject o)
    {
        var copy = o.DeepClone().AsObject();
        copy["metadata"]!.AsObject().Remove("labels");
        return copy.ToJsonString();
    }

    private static string Id(JsonObject o) => $"{o["kind"]} {o["metadata"]!["namespace"]}/{o["metadata"]!["name"]}";
}
