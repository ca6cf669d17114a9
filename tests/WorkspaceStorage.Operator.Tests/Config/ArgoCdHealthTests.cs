using System.Text.Json.Nodes;
using WorkspaceStorage.Testing.Kubernetes;

namespace WorkspaceStorage.Operator.Tests.Config;

/// <summary>config/argocd/health.lua, run by a real Lua interpreter against the statuses the operator writes.</summary>
public sealed class ArgoCdHealthTests
{
    private static JsonObject Resource(long generation, long? observedGeneration, params (string Type, string Status, string Reason, long Generation)[] conditions)
    {
        var resource = new JsonObject { ["metadata"] = new JsonObject { ["name"] = "ws-a", ["generation"] = generation } };
        if (observedGeneration is not null || conditions.Length > 0)
        {
            resource["status"] = StatusJson.Of(observedGeneration, conditions);
        }

        return resource;
    }

    public static TheoryData<string, string, string> Cases() => new()
    {
        { "no status yet", Resource(1, null).ToJsonString(), "Progressing" },
        { "ready and current", Resource(2, 2, ("Ready", "True", "Reconciled", 2)).ToJsonString(), "Healthy" },
        { "ready but spec changed since", Resource(3, 2, ("Ready", "True", "Reconciled", 2)).ToJsonString(), "Progressing" },
        { "ready condition from an older generation", Resource(3, 3, ("Ready", "True", "Reconciled", 2)).ToJsonString(), "Progressing" },
        { "reconciling", Resource(2, 1, ("Reconciling", "True", "Progressing", 2), ("Ready", "Unknown", "Progressing", 2)).ToJsonString(), "Progressing" },
        { "rotating after ready", Resource(2, 2, ("Reconciling", "True", "RotatingCredentials", 2), ("Ready", "Unknown", "RotatingCredentials", 2)).ToJsonString(), "Progressing" },
        { "stalled", Resource(2, 2, ("Stalled", "True", "InvalidSpec", 2), ("Ready", "False", "InvalidSpec", 2)).ToJsonString(), "Degraded" },
        { "ready false", Resource(2, 2, ("Ready", "False", "BackendUnavailable", 2)).ToJsonString(), "Degraded" },
        { "only unknown", Resource(2, 2, ("Ready", "Unknown", "Progressing", 2)).ToJsonString(), "Progressing" },
    };

    [Theory]
    [MemberData(nameof(Cases))]
    public void Health_follows_kstatus(string scenario, string resourceJson, string expected)
    {
        var (status, message) = ArgoCdHealthCheck.Run(JsonNode.Parse(resourceJson)!);
        Assert.True(expected == status, $"{scenario}: expected {expected}, got {status} ({message})");
    }

    [Fact]
    public void Degraded_message_carries_the_reason()
    {
        var (_, message) = ArgoCdHealthCheck.Run(Resource(2, 2, ("Stalled", "True", "InvalidSpec", 2), ("Ready", "False", "InvalidSpec", 2)));
        Assert.Equal("InvalidSpec: details", message);
    }

    [Fact]
    public void Argo_cd_config_map_embeds_the_script_for_both_kinds()
    {
        var documents = YamlDocuments.Parse(File.ReadAllText(RepositoryRoot.Combine("config", "argocd", "argocd-cm.yaml")));
        var data = Assert.Single(documents)["data"]!.AsObject();
        var script = File.ReadAllText(ArgoCdHealthCheck.Script);
        Assert.Equal(script, (string?)data["resource.customizations.health.workspacestorage.hypha.amun.ai_WorkspaceStorage"]);
        Assert.Equal(script, (string?)data["resource.customizations.health.workspacestorage.hypha.amun.ai_StorageBackend"]);
    }
}
