using System.Text.Json.Nodes;
using WorkspaceStorage.Testing.Kubernetes;

namespace WorkspaceStorage.Kubernetes.Tests.RealApiServer;

/// <summary>
/// The status the operator writes, through the status subresource of the real API server, read back with kubectl as
/// Argo CD and kstatus read it: config/argocd/health.lua (run by Lua, <see cref="ArgoCdHealthCheck"/>) says Healthy,
/// Progressing or Degraded, and kstatus' rules hold, which rest on the server bumping metadata.generation on a spec
/// change and never on a status write, and on the main resource ignoring a status it is sent.
/// </summary>
public sealed class StatusOnRealApiServerTests(RealKubeApiServer server)
{
    private const string Namespace = "default";

    [Fact]
    public async Task Health_and_kstatus_follow_the_status_written_and_the_generation_the_server_keeps()
    {
        const string name = "health-ws";
        string[] resource = ["workspacestorages.workspacestorage.hypha.amun.ai", name, "-n", Namespace];
        var applied = await server.ApplyAsync($$"""
            {"apiVersion":"workspacestorage.hypha.amun.ai/v1alpha1","kind":"WorkspaceStorage","metadata":{"name":"{{name}}","namespace":"{{Namespace}}"},
             "spec":{"backendRef":{"name":"local-ceph"} } }
            """);
        Assert.True(applied.ExitCode == 0, applied.Error);

        var created = await GetAsync(resource);
        Assert.Equal(1, Generation(created));
        Assert.Equal(("Progressing", "Waiting for the operator to observe the resource"), ArgoCdHealthCheck.Run(created));

        // The operator's first reconcile: Ready for generation 1. A status write leaves the generation alone.
        await WriteStatusAsync(resource, 1, ("Ready", "True", "Reconciled", 1), ("Reconciling", "False", "Reconciled", 1), ("Stalled", "False", "Reconciled", 1));
        var ready = await GetAsync(resource);
        Assert.Equal(1, Generation(ready));
        Assert.Equal(("Healthy", "Reconciled: details"), ArgoCdHealthCheck.Run(ready));
        Assert.Equal("Current", Kstatus(ready));

        // The user changes the spec: the server bumps the generation; the status still describes generation 1.
        await server.KubectlOkAsync([.. resource.Prepend("patch"), "--type=merge", "-p", """{"spec":{"access":"ReadOnly"}}"""]);
        var changed = await GetAsync(resource);
        Assert.Equal(2, Generation(changed));
        Assert.Equal(1, (long)changed["status"]!["observedGeneration"]!);
        Assert.Equal(("Progressing", "Waiting for the operator to observe generation 2"), ArgoCdHealthCheck.Run(changed));
        Assert.Equal("InProgress", Kstatus(changed));

        // Nobody can fake a status through the main resource: the server drops it (and so bumps nothing).
        await server.KubectlOkAsync([.. resource.Prepend("patch"), "--type=merge", "-p", """{"status":{"observedGeneration":2}}"""]);
        var faked = await GetAsync(resource);
        Assert.Equal(2, Generation(faked));
        Assert.Equal(1, (long)faked["status"]!["observedGeneration"]!);

        // The operator picks generation 2 up: Reconciling, then Stalled (say the backend refused it), then Ready again.
        await WriteStatusAsync(resource, 2, ("Ready", "Unknown", "Progressing", 2), ("Reconciling", "True", "Progressing", 2), ("Stalled", "False", "Progressing", 2));
        var reconciling = await GetAsync(resource);
        Assert.Equal(("Progressing", "Progressing: details"), ArgoCdHealthCheck.Run(reconciling));
        Assert.Equal("InProgress", Kstatus(reconciling));

        await WriteStatusAsync(resource, 2, ("Ready", "False", "InvalidSpec", 2), ("Reconciling", "False", "InvalidSpec", 2), ("Stalled", "True", "InvalidSpec", 2));
        var stalled = await GetAsync(resource);
        Assert.Equal(("Degraded", "InvalidSpec: details"), ArgoCdHealthCheck.Run(stalled));
        Assert.Equal("Failed", Kstatus(stalled));

        await WriteStatusAsync(resource, 2, ("Ready", "True", "Reconciled", 2), ("Reconciling", "False", "Reconciled", 2), ("Stalled", "False", "Reconciled", 2));
        var readyAgain = await GetAsync(resource);
        Assert.Equal(2, Generation(readyAgain));
        Assert.Equal("Healthy", ArgoCdHealthCheck.Run(readyAgain).Status);
        Assert.Equal("Current", Kstatus(readyAgain));
        Assert.Contains("condition met", await server.KubectlOkAsync([.. resource.Prepend("wait"), "--for=condition=Ready", "--timeout=10s"]), StringComparison.Ordinal);
    }

    [Fact]
    public async Task A_StorageBackend_the_operator_cannot_reach_is_Degraded_with_the_reason()
    {
        const string name = "health-backend";
        string[] resource = ["storagebackends.workspacestorage.hypha.amun.ai", name];
        var applied = await server.ApplyAsync($$"""
            {"apiVersion":"workspacestorage.hypha.amun.ai/v1alpha1","kind":"StorageBackend","metadata":{"name":"{{name}}"},
             "spec":{"type":"minio","endpoint":"http://127.0.0.1:9","adminCredentialsSecretRef":{"name":"admin","namespace":"wso"} } }
            """);
        Assert.True(applied.ExitCode == 0, applied.Error);

        await WriteStatusAsync(resource, 1, ("Ready", "False", "BackendUnavailable", 1));
        var unreachable = await GetAsync(resource);
        Assert.Equal(1, Generation(unreachable));
        Assert.Equal(("Degraded", "BackendUnavailable: details"), ArgoCdHealthCheck.Run(unreachable));
    }

    private async Task<JsonNode> GetAsync(string[] resource) =>
        JsonNode.Parse(await server.KubectlOkAsync([.. resource.Prepend("get"), "-o", "json"]))!;

    /// <summary>A status as the operator writes it: through the status subresource, every condition with its generation.</summary>
    private Task WriteStatusAsync(string[] resource, long observedGeneration, params (string Type, string Status, string Reason, long Generation)[] conditions) =>
        server.KubectlOkAsync([.. resource.Prepend("patch"), "--subresource=status", "--type=merge", "-p",
            new JsonObject { ["status"] = StatusJson.Of(observedGeneration, conditions) }.ToJsonString()]);

    private static long Generation(JsonNode resource) => (long)resource["metadata"]!["generation"]!;

    /// <summary>
    /// kstatus' rules (sigs.k8s.io/cli-utils, which the repository does not hold), in the order it applies them:
    /// InProgress while status.observedGeneration lags metadata.generation or Reconciling=True, Failed when Stalled=True,
    /// Current when Ready=True for the current generation.
    /// </summary>
    private static string Kstatus(JsonNode resource)
    {
        string? Condition(string type) =>
            resource["status"]?["conditions"]?.AsArray().FirstOrDefault(c => (string?)c!["type"] == type)?["status"]?.GetValue<string>();

        if (resource["status"]?["observedGeneration"] is { } observed && (long)observed != Generation(resource))
        {
            return "InProgress";
        }

        if (Condition("Reconciling") == "True")
        {
            return "InProgress";
        }

        if (Condition("Stalled") == "True")
        {
            return "Failed";
        }

        return Condition("Ready") == "True" ? "Current" : "InProgress";
    }
}
