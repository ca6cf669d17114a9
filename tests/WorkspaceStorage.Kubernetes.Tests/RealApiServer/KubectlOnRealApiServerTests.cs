using WorkspaceStorage.Testing.Kubernetes;
using WorkspaceStorage.Testing.Support;

namespace WorkspaceStorage.Kubernetes.Tests.RealApiServer;

/// <summary>
/// The repository's manifests as a user applies them, with kubectl, to a real API server (Kubernetes' own code): the
/// CRDs establish, every sample is accepted, kubectl's short names and columns work, and the operator's ClusterRole
/// (config/rbac) is enforced: a verb it lacks gets 403. What the CRDs refuse, and with which message, is
/// <see cref="CrdValidationTableTests"/>.
/// </summary>
public sealed class KubectlOnRealApiServerTests(RealKubeApiServer server)
{
    [Fact]
    public async Task TheCrdsEstablish()
    {
        Assert.Contains("workspacestorages.workspacestorage.hypha.amun.ai", await server.KubectlOkAsync(["apply", "-f", "crds/"]), StringComparison.Ordinal);
        var established = await server.KubectlOkAsync(["wait", "--for=condition=Established", "--timeout=30s",
            "crd/workspacestorages.workspacestorage.hypha.amun.ai", "crd/storagebackends.workspacestorage.hypha.amun.ai"]);
        Assert.Contains("condition met", established, StringComparison.Ordinal);
    }

    [Fact]
    public async Task TheSamplesAreAcceptedAndListedByShortName()
    {
        await ApplySamplesAsync();
        var listed = await server.KubectlOkAsync(["get", "wss", "-A"]);
        Assert.Contains("ws-alpha", listed, StringComparison.Ordinal);
        Assert.Contains("github-12345-home", listed, StringComparison.Ordinal);
        var defaulted = await server.KubectlOkAsync(["get", "wss", "ws-alpha", "-n", "default", "-o", "jsonpath={.spec.deletionPolicy}"]);
        Assert.Equal("Retain", defaulted); // the CRD's default, applied by the server
        var secret = await server.KubectlOkAsync(["get", "secret", "local-ceph-admin", "-n", "workspace-storage-system", "-o", "jsonpath={.type} {.data.AWS_ACCESS_KEY_ID}"]);
        Assert.Equal("Opaque " + Convert.ToBase64String("WSOTESTADMINACCESSKEY"u8.ToArray()), secret); // stringData merged into data

        // Every sample file is in the kustomization (so `apply -k` applied it), and every object it holds is on the server.
        var samples = RepositoryRoot.Combine("config", "samples");
        var files = Directory.GetFiles(samples, "*.yaml").Select(Path.GetFileName).Where(f => f != "kustomization.yaml").Order(StringComparer.Ordinal);
        var kustomization = Assert.Single(YamlDocuments.Parse(File.ReadAllText(Path.Combine(samples, "kustomization.yaml"))));
        Assert.Equal(files, kustomization["resources"]!.AsArray().Select(r => (string?)r).Order(StringComparer.Ordinal));
        foreach (var file in files)
        {
            var stored = await server.KubectlOkAsync(["get", "-f", Path.Combine("config", "samples", file!), "-o", "name"]);
            Assert.True(YamlDocuments.Parse(File.ReadAllText(Path.Combine(samples, file!))).Count == stored.Split('\n', StringSplitOptions.RemoveEmptyEntries).Length,
                $"config/samples/{file}: the server holds only {stored.Trim()}");
        }
    }

    [Fact]
    public async Task TheOperatorsClusterRoleIsEnforced()
    {
        await ApplySamplesAsync();
        await server.KubectlAsync(["create", "namespace", "system"]);
        await server.KubectlOkAsync(["apply", "-k", "config/rbac"]);
        var operatorConfig = server.ServiceAccountKubeconfig("system", "operator");

        // The authorizer reads the RBAC objects from an informer: allowed once it has seen the new binding.
        await Eventually.ValueAsync(_ => server.KubectlAsync(["get", "wss", "-A"], operatorConfig), outcome => outcome.ExitCode == 0,
            "the operator's ClusterRole to let it list WorkspaceStorages", TimeSpan.FromSeconds(10), outcome => outcome.Error.Trim());
        var denied = await server.KubectlAsync(["delete", "wss", "ws-alpha", "-n", "default"], operatorConfig);
        Assert.NotEqual(0, denied.ExitCode);
        Assert.Contains("Error from server (Forbidden)", denied.Error, StringComparison.Ordinal);
        Assert.Contains("User \"system:serviceaccount:system:operator\" cannot delete resource \"workspacestorages\"", denied.Error, StringComparison.Ordinal);
        var pods = await server.KubectlAsync(["get", "configmaps", "-n", "default"], operatorConfig);
        Assert.Contains("Forbidden", pods.Error, StringComparison.Ordinal);
    }

    private async Task ApplySamplesAsync()
    {
        await server.KubectlAsync(["create", "namespace", "workspace-storage-system"]);
        await server.KubectlOkAsync(["apply", "-k", "config/samples"]);
    }
}
