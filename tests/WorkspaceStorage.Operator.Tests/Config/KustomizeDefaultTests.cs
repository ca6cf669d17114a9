using System.Text.Json.Nodes;
using WorkspaceStorage.Operator.Configuration;
using WorkspaceStorage.Operator.Crds;

namespace WorkspaceStorage.Operator.Tests.Config;

/// <summary>What <c>kubectl kustomize config/default</c> renders: the install users apply.</summary>
public sealed class KustomizeDefaultTests
{
    private const string Namespace = "workspace-storage-system";

    private static readonly Lazy<List<JsonObject>> Rendered = new(() => YamlDocuments.Parse(Kubectl.Kustomize("config/default")));

    private static List<JsonObject> Objects() => Rendered.Value;

    private static IEnumerable<JsonObject> OfKind(string kind) => Objects().Where(o => (string?)o["kind"] == kind);

    private static JsonObject Single(string kind, string name) => Assert.Single(OfKind(kind), o => (string?)o["metadata"]!["name"] == name);

    [Fact]
    public void Renders_every_part_of_the_install()
    {
        var names = Objects().Select(o => $"{o["kind"]}/{GeneratedName(o)}").Order(StringComparer.Ordinal).ToArray();

        Assert.Equal(
            [
                "ClusterRole/workspace-storage-api",
                "ClusterRole/workspace-storage-operator",
                "ClusterRole/workspace-storage-tenant",
                "ClusterRoleBinding/workspace-storage-api",
                "ClusterRoleBinding/workspace-storage-operator",
                "ConfigMap/workspace-storage-api-settings",
                "CustomResourceDefinition/storagebackends.workspacestorage.hypha.amun.ai",
                "CustomResourceDefinition/workspacestorages.workspacestorage.hypha.amun.ai",
                "Deployment/workspace-storage-api",
                "Deployment/workspace-storage-operator",
                "Namespace/workspace-storage-system",
                "Role/workspace-storage-api-ttl-sweep",
                "Role/workspace-storage-leader-election",
                "RoleBinding/workspace-storage-api-ttl-sweep",
                "RoleBinding/workspace-storage-leader-election",
                "Service/workspace-storage-api",
                "ServiceAccount/workspace-storage-api",
                "ServiceAccount/workspace-storage-operator",
            ],
            names);
    }

    [Fact]
    public void Namespaced_objects_live_in_the_operator_namespace()
    {
        foreach (var o in Objects().Where(o => (string?)o["kind"] is "ServiceAccount" or "Role" or "RoleBinding" or "Deployment" or "Service" or "ConfigMap"))
        {
            Assert.Equal(Namespace, (string?)o["metadata"]!["namespace"]);
        }
    }

    [Fact]
    public void Crds_in_the_install_are_the_generated_ones()
    {
        foreach (var definition in CrdCatalog.All)
        {
            var rendered = Single("CustomResourceDefinition", definition.Name);
            var generated = System.Text.Json.JsonSerializer.SerializeToNode(CrdGenerator.BuildDocument(definition))!.AsObject();
            rendered["metadata"]!.AsObject().Remove("labels");
            Assert.True(JsonNode.DeepEquals(generated, rendered), $"{definition.Name} in config/default differs from the generated CRD");
        }
    }

    [Theory]
    [InlineData("workspace-storage-operator")]
    [InlineData("workspace-storage-api")]
    public void Pods_are_hardened(string deployment)
    {
        var pod = Single("Deployment", deployment)["spec"]!["template"]!["spec"]!;
        Assert.True((bool)pod["securityContext"]!["runAsNonRoot"]!);
        Assert.NotEqual(0, (long)pod["securityContext"]!["runAsUser"]!);
        Assert.Equal("RuntimeDefault", (string?)pod["securityContext"]!["seccompProfile"]!["type"]);
        Assert.Null(pod["hostNetwork"]);
        Assert.Null(pod["hostPID"]);

        var serviceAccount = (string)pod["serviceAccountName"]!;
        Single("ServiceAccount", serviceAccount);

        foreach (var container in pod["containers"]!.AsArray())
        {
            var security = container!["securityContext"]!;
            Assert.False((bool)security["allowPrivilegeEscalation"]!);
            Assert.True((bool)security["readOnlyRootFilesystem"]!);
            Assert.Equal(["ALL"], security["capabilities"]!["drop"]!.AsArray().Select(n => (string?)n));
            Assert.Null(security["privileged"]);
            Assert.Null(security["capabilities"]!["add"]);

            foreach (var kind in new[] { "requests", "limits" })
            {
                Assert.NotNull(container["resources"]![kind]!["cpu"]);
                Assert.NotNull(container["resources"]![kind]!["memory"]);
            }

            Assert.Equal("/healthz", (string?)container["livenessProbe"]!["httpGet"]!["path"]);
            Assert.Equal("/readyz", (string?)container["readinessProbe"]!["httpGet"]!["path"]);
            var probePort = (string?)container["livenessProbe"]!["httpGet"]!["port"];
            Assert.Contains(container["ports"]!.AsArray(), p => (string?)p!["name"] == probePort);
        }
    }

    [Fact]
    public void The_api_reads_its_settings_ConfigMap_which_is_empty_until_an_overlay_fills_it()
    {
        var settings = Assert.Single(OfKind("ConfigMap"));
        Assert.Null(settings["data"]);
        var container = Single("Deployment", "workspace-storage-api")["spec"]!["template"]!["spec"]!["containers"]![0]!;
        var source = Assert.Single(container["envFrom"]!.AsArray());
        Assert.Equal((string?)settings["metadata"]!["name"], (string?)source!["configMapRef"]!["name"]);
    }

    [Theory]
    [InlineData("workspace-storage-operator")]
    [InlineData("workspace-storage-api")]
    public void Secret_files_are_readable_by_the_container_user(string deployment)
    {
        // Secret volumes are owned by root. The user reads a file through "other" bits, or through its group when the pod
        // sets fsGroup (the kubelet then gives the group read access, whatever defaultMode says).
        var pod = Single("Deployment", deployment)["spec"]!["template"]!["spec"]!;
        var fsGroup = pod["securityContext"]!["fsGroup"];
        foreach (var volume in pod["volumes"]!.AsArray().Where(v => v!["secret"] is not null))
        {
            var mode = (long?)volume!["secret"]!["defaultMode"] ?? 420; // 0644, the API server's default
            Assert.True((mode & 4) != 0 || fsGroup is not null,
                $"{deployment}: Secret volume {volume["name"]} (mode {Convert.ToString(mode, 8)}) is unreadable by user {pod["securityContext"]!["runAsUser"]} without fsGroup");
        }
    }

    [Fact]
    public void Operator_arguments_are_flags_the_operator_accepts()
    {
        var container = Single("Deployment", "workspace-storage-operator")["spec"]!["template"]!["spec"]!["containers"]![0]!;
        var args = container["args"]!.AsArray().Select(a => (string)a!).ToArray();

        // POD_NAMESPACE comes from the downward API in the Deployment.
        var env = container["env"]!.AsArray().Select(e => (string)e!["name"]!).ToHashSet();
        Assert.Contains(CommandLineOptions.PodNamespaceEnvironmentVariable, env);
        var parsed = new CommandLineOptions(name => env.Contains(name) ? "from-pod" : null, _ => throw new FileNotFoundException()).Parse(args);

        Assert.True(parsed.IsValid, string.Join("; ", parsed.Errors));
        Assert.True(parsed.Options!.LeaderElect);
        var ports = container["ports"]!.AsArray().ToDictionary(p => (string)p!["name"]!, p => (long)p!["containerPort"]!);
        Assert.Equal(parsed.Options.MetricsPort, ports["metrics"]);
        Assert.Equal(parsed.Options.HealthPort, ports["health"]);
    }

    [Fact]
    public void Rbac_has_no_wildcards()
    {
        foreach (var role in OfKind("ClusterRole").Concat(OfKind("Role")))
        {
            foreach (var rule in role["rules"]!.AsArray())
            {
                foreach (var field in new[] { "verbs", "resources", "apiGroups" })
                {
                    Assert.DoesNotContain("*", rule![field]!.AsArray().Select(n => (string?)n));
                }

                Assert.Null(rule!["nonResourceURLs"]);
                Assert.Null(rule["resourceNames"]);
            }
        }
    }

    [Fact]
    public void Operator_role_grants_exactly_what_the_operator_uses()
    {
        var grants = Grants(Single("ClusterRole", "workspace-storage-operator"));

        Assert.Equal(
            new SortedSet<string>(StringComparer.Ordinal)
            {
                "workspacestorage.hypha.amun.ai/workspacestorages:get", "workspacestorage.hypha.amun.ai/workspacestorages:list",
                "workspacestorage.hypha.amun.ai/workspacestorages:watch", "workspacestorage.hypha.amun.ai/workspacestorages:update",
                "workspacestorage.hypha.amun.ai/workspacestorages:patch",
                "workspacestorage.hypha.amun.ai/workspacestorages/status:get", "workspacestorage.hypha.amun.ai/workspacestorages/status:update",
                "workspacestorage.hypha.amun.ai/workspacestorages/status:patch",
                "workspacestorage.hypha.amun.ai/workspacestorages/finalizers:update",
                "workspacestorage.hypha.amun.ai/storagebackends:get", "workspacestorage.hypha.amun.ai/storagebackends:list",
                "workspacestorage.hypha.amun.ai/storagebackends:watch", "workspacestorage.hypha.amun.ai/storagebackends:update",
                "workspacestorage.hypha.amun.ai/storagebackends/finalizers:update",
                "workspacestorage.hypha.amun.ai/storagebackends/status:get", "workspacestorage.hypha.amun.ai/storagebackends/status:update",
                "workspacestorage.hypha.amun.ai/storagebackends/status:patch",
                "/secrets:get", "/secrets:list", "/secrets:watch", "/secrets:create", "/secrets:update", "/secrets:patch", "/secrets:delete",
                "/events:create", "/events:patch", "events.k8s.io/events:create", "events.k8s.io/events:patch",
                "/namespaces:get", "/namespaces:list", "/namespaces:watch",
            },
            grants);

        Assert.Equal(
            new SortedSet<string>(StringComparer.Ordinal) { "coordination.k8s.io/leases:get", "coordination.k8s.io/leases:create", "coordination.k8s.io/leases:update" },
            Grants(Single("Role", "workspace-storage-leader-election")));
    }

    [Fact]
    public void Api_role_reads_and_writes_nothing_but_audit_events()
    {
        var grants = Grants(Single("ClusterRole", "workspace-storage-api"));
        string[] writes = ["/events:create", "/events:patch"];
        Assert.All(grants.Except(writes), g => Assert.Matches(":(get|list|watch)$", g));
        Assert.All(writes, w => Assert.Contains(w, grants));
        // The informers of the Kubernetes workspace directory need exactly these.
        foreach (var resource in new[] { "workspacestorage.hypha.amun.ai/workspacestorages", "workspacestorage.hypha.amun.ai/storagebackends", "/secrets", "/namespaces" })
        {
            foreach (var verb in new[] { "get", "list", "watch" })
            {
                Assert.Contains($"{resource}:{verb}", grants);
            }
        }
    }

    [Fact]
    public void Api_may_only_hold_the_TTL_sweep_lease_in_its_own_namespace()
    {
        Assert.Equal(
            new SortedSet<string>(StringComparer.Ordinal) { "coordination.k8s.io/leases:get", "coordination.k8s.io/leases:create", "coordination.k8s.io/leases:update" },
            Grants(Single("Role", "workspace-storage-api-ttl-sweep")));
        var binding = Single("RoleBinding", "workspace-storage-api-ttl-sweep");
        Assert.Equal("workspace-storage-api", (string?)binding["subjects"]![0]!["name"]);
    }

    [Fact]
    public void Bindings_point_at_the_service_accounts_in_the_operator_namespace()
    {
        foreach (var binding in OfKind("ClusterRoleBinding").Concat(OfKind("RoleBinding")))
        {
            var roleKind = (string)binding["roleRef"]!["kind"]!;
            Single(roleKind, (string)binding["roleRef"]!["name"]!);
            foreach (var subject in binding["subjects"]!.AsArray())
            {
                Assert.Equal("ServiceAccount", (string?)subject!["kind"]);
                Assert.Equal(Namespace, (string?)subject["namespace"]);
                Single("ServiceAccount", (string)subject["name"]!);
            }
        }
    }

    [Fact]
    public void Service_selects_the_api_pods()
    {
        var selector = Single("Service", "workspace-storage-api")["spec"]!["selector"]!.AsObject();
        var podLabels = Single("Deployment", "workspace-storage-api")["spec"]!["template"]!["metadata"]!["labels"]!.AsObject();
        Assert.All(selector, pair => Assert.Equal((string?)pair.Value, (string?)podLabels[pair.Key]));
    }

    /// <summary>The name without the hash suffix kustomize gives generated ConfigMaps.</summary>
    private static string GeneratedName(JsonObject o)
    {
        var name = (string)o["metadata"]!["name"]!;
        return (string?)o["kind"] == "ConfigMap" ? name[..name.LastIndexOf('-')] : name;
    }

    private static SortedSet<string> Grants(JsonObject role)
    {
        var grants = new SortedSet<string>(StringComparer.Ordinal);
        foreach (var rule in role["rules"]!.AsArray())
        {
            foreach (var group in rule!["apiGroups"]!.AsArray())
            {
                foreach (var resource in rule["resources"]!.AsArray())
                {
                    foreach (var verb in rule["verbs"]!.AsArray())
                    {
                        grants.Add($"{group}/{resource}:{verb}");
                    }
                }
            }
        }

        return grants;
    }
}
