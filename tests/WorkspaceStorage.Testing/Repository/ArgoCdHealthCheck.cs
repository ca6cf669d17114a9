using System.Diagnostics;
using System.Globalization;
using System.Text;
using System.Text.Json;
using System.Text.Json.Nodes;

namespace WorkspaceStorage.Testing.Repository;

/// <summary>
/// Runs config/argocd/health.lua, the Argo CD health check, with a real Lua interpreter on a resource's JSON (as Argo
/// CD hands it the object as a Lua table named <c>obj</c>). Without Lua the test fails with the install hint:
/// scripts/install-deps.sh installs lua5.4.
/// </summary>
public static class ArgoCdHealthCheck
{
    public static readonly string Script = RepositoryRoot.Combine("config", "argocd", "health.lua");

    /// <summary>The health status (Healthy, Progressing, Degraded…) and message the script returns for <paramref name="resource"/>.</summary>
    public static (string Status, string Message) Run(JsonNode resource)
    {
        var lua = new[] { "lua5.4", "lua5.3", "lua5.1", "lua" }
            .SelectMany(name => (Environment.GetEnvironmentVariable("PATH") ?? string.Empty).Split(Path.PathSeparator).Select(d => Path.Combine(d, name)))
            .FirstOrDefault(File.Exists);
        Assert.True(lua is not null, "no Lua interpreter to run config/argocd/health.lua (scripts/install-deps.sh installs lua5.4)");

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
            sb.Append(c switch { '"' => "\\\"", '\\' => "\\\\", '\n' => "\\n", '\r' => "\\r", _ => c.ToString() });
        }

        return sb.Append('"').ToString();
    }
}
