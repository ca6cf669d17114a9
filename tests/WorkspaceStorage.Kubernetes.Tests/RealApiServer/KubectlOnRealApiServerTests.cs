using WorkspaceStorage.Testing.Support;

namespace WorkspaceStorage.Kubernetes.Tests.RealApiServer;

/// <summary>
/// The repository's manifests as a user applies them, with kubectl, to a real API server (Kubernetes' own code): the
/// CRDs establish, the samples are accepted, the CRD's own CEL rule rejects a bad spec with its message, kubectl's
/// short names and columns work, and the operator's ClusterRole (config/rbac) is enforced: a verb it lacks gets 403.
/// One server for the class; the tests share its objects, so each creates what it needs idempotently.
/// </summary>
public sealed class KubectlOnRealApiServerTests(RealApiServer server) : IClassFixture<RealApiServer>
{
    [Fact]
    public async Task TheCrdsEstablish()
    {
        await ApplyCrdsAsync();
        var established = await Ok(["wait", "--for=condition=Established", "--timeout=30s",
            "crd/workspacestorages.workspacestorage.hypha.amun.ai", "crd/storagebackends.workspacestorage.hypha.amun.ai"]);
        Assert.Contains("condition met", established, StringComparison.Ordinal);
    }

    [Fact]
    public async Task TheSamplesAreAcceptedAndListedByShortName()
    {
        await ApplySamplesAsync();
        var listed = await Ok(["get", "wss", "-A"]);
        Assert.Contains("ws-alpha", listed, StringComparison.Ordinal);
        Assert.Contains("github-12345-home", listed, StringComparison.Ordinal);
        var defaulted = await Ok(["get", "wss", "ws-alpha", "-n", "default", "-o", "jsonpath={.spec.deletionPolicy}"]);
        Assert.Equal("Retain", defaulted); // the CRD's default, applied by the server
        var secret = await Ok(["get", "secret", "local-ceph-admin", "-n", "workspace-storage-system", "-o", "jsonpath={.type} {.data.AWS_ACCESS_KEY_ID}"]);
        Assert.Equal("Opaque " + Convert.ToBase64String("WSOTESTADMINACCESSKEY"u8.ToArray()), secret); // stringData merged into data
    }

    [Fact]
    public async Task AnInvalidWorkspaceStorageIsRejectedWithTheCrdsOwnMessage()
    {
        await ApplyCrdsAsync();
        var manifest = WriteManifest("""
            apiVersion: workspacestorage.hypha.amun.ai/v1alpha1
            kind: WorkspaceStorage
            metadata:
              name: no-hyphen
              namespace: default
            spec:
              workspace: etc
              backendRef:
                name: local-ceph
            """);
        var outcome = await server.KubectlAsync(["apply", "-f", manifest]);
        File.Delete(manifest);
        Assert.NotEqual(0, outcome.ExitCode);
        Assert.Contains("must contain a hyphen (names without one, such as 'etc', are reserved)", outcome.Error, StringComparison.Ordinal);
    }

    [Fact]
    public async Task TheOperatorsClusterRoleIsEnforced()
    {
        await ApplySamplesAsync();
        await server.KubectlAsync(["create", "namespace", "system"]);
        await Ok(["apply", "-k", "config/rbac"]);
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

    private async Task ApplyCrdsAsync()
    {
        await Ok(["apply", "-f", "crds/"]);
        await Ok(["wait", "--for=condition=Established", "--timeout=30s", "crd/workspacestorages.workspacestorage.hypha.amun.ai", "crd/storagebackends.workspacestorage.hypha.amun.ai"]);
    }

    private async Task ApplySamplesAsync()
    {
        await ApplyCrdsAsync();
        await server.KubectlAsync(["create", "namespace", "workspace-storage-system"]);
        await Ok(["apply", "-k", "config/samples"]);
    }

    private async Task<string> Ok(string[] arguments)
    {
        var outcome = await server.KubectlAsync(arguments);
        Assert.True(outcome.ExitCode == 0, $"kubectl {string.Join(' ', arguments)} failed: {outcome.Error.Trim()}");
        return outcome.Output;
    }

    private static string WriteManifest(string yaml)
    {
        var file = Path.Combine(Path.GetTempPath(), $"wso-kube-{Guid.NewGuid():N}.yaml");
        File.WriteAllText(file, yaml);
        return file;
    }
}
