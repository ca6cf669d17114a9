using System.Diagnostics;
using System.Globalization;
using System.Text;
using System.Text.Json;
using System.Text.Json.Nodes;

namespace WorkspaceStorage.Operator.Tests.Config;

/// <summary>config/argocd/health.lua, run by a real Lua interpreter against the statuses the operator writes.</summary>
public sealed class ArgoCdHealthTests
{
    private static readonly string Script = RepositoryRoot.Combine("config", "argocd", "health.lua");

    private static JsonObject Resource(long generation, long? observedGeneration, params (string Type, string Status, string Reason, long Generation)[] conditions)
    {
        var resource = new JsonObject { ["metadata"] = new JsonObject { ["name"] = "ws-a", ["generation"] = generation } };
        if (observedGeneration is not null || conditions.Length > 0)
        {
            resource["status"] = new JsonObject
            {
                ["observedGeneration"] = observedGeneration,
                ["conditions"] = new JsonArray(conditions.Select(c => (JsonNode)new JsonObject
                {
                    ["type"] = c.Type,
                    ["status"] = c.Status,
                    ["reason"] = c.Reason,
                    ["message"] = "details",
                    ["observedGeneration"] = c.Generation,
                }).ToArray()),
            };
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
        var (status, message) = RunHealthCheck(JsonNode.Parse(resourceJson)!);
        Assert.True(expected == status, $"{scenario}: expected {expected}, got {status} ({message})");
    }

    [Fact]
    public void Degraded_message_carries_the_reason()
    {
        var (_, message) = RunHealthCheck(Resource(2, 2, ("Stalled", "True", "InvalidSpec", 2), ("Ready", "False", "InvalidSpec", 2)));
        Assert.Equal("InvalidSpec: details", message);
    }

    [Fact]
    public void Argo_cd_config_map_embeds_the_script_for_both_kinds()
    {
        var documents = YamlDocuments.Parse(File.ReadAllText(RepositoryRoot.Combine("config", "argocd", "argocd-cm.yaml")));
        var data = Assert.Single(documents)["data"]!.AsObject();
        var script = File.ReadAllText(Script);
        Assert.Equal(script, (string?)data["resource.customizations.health.workspacestorage.hypha.amun.ai_WorkspaceStorage"]);
        Assert.Equal(script, (string?)data["resource.customizations.health.workspacestorage.hypha.amun.ai_StorageBackend"]);
    }

    private static (string Status, string Message) RunHealthCheck(JsonNode resource)
    {
        var lua = new[] { "lua5.4", "lua5.3", "lua5.1", "lua" }
            .SelectMany(name => (Environment.GetEnvironmentVariable("PATH") ?? string.Empty).Split(Path.PathSeparator).Select(d => Path.Combine(d, name)))
            .FirstOrDefault(File.Exists);
        if (lua is null)
        {
            Assert.Skip("no Lua interpreter (apt-get install lua5.4) to run config/argocd/health.lua");
        }

        var driver = $"obj = {ToLua(resource)}\nlocal hs = dofile({ToLuaString(Script)})\nio.write(hs.status, \"\\n\", hs.message or \"\")\n";
        var start = new ProcessStartInfo(lua, ["-"]) { RedirectStandardInput = true, RedirectStandardOutput = true, RedirectStandardError = true };
        using var process = Process.Start(start)!;
        process.StandardInput.Write(driver);
        process.StandardInput.Close();
        var output = process.StandardOutput.ReadToEndAsync();
        var error = process.StandardError.ReadToEndAsync();
        Assert.True(process.WaitForExit(TimeSpan.FromSeconds(30)), "lua did not finish");
        Assert.True(process.ExitCode == 0, $"lua failed: {error.Result}");
        var lines = output.Result.Split('\n', 2);
        return (lines[0], lines.Length > 1 ? lines[1] : string.Empty);
    }

    private static string ToLua(JsonNode? node) => node switch
    {
        null => "nil",
        JsonObject obj => "{" + string.Join(", ", obj.Where(p => p.Value is not null).Select(p => $"[{ToLuaString(p.Key)}] = {ToLua(p.Value)}")) + "}",
        JsonArray array => "{" + string.Join(", ", array.Select(ToLua)) + "}",
        JsonValue value => value.GetValueKind() switch
        {
            JsonValueKind.String => ToLuaString(value.GetValue<string>()),
            JsonValueKind.Number => value.GetValue<long>().ToString(CultureInfo.InvariantCulture),
            JsonValueKind.True => "true",
            JsonValueKind.False => "false",
            _ => "nil",
        },
        _ => throw new NotSupportedException(),
    };

    private static string ToLuaString(string value)
    {
        var sb = new StringBuilder("\"");
        foreach (var c in value)
        {
            sb.Append(c switch { '"' => "\\\"", '\\' => "\\\\", '\n' => "\\n", _ => c.ToString() });
        }

        return sb.Append('"').ToString();
    }
}
