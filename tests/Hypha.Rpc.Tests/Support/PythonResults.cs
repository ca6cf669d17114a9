using System.Text.Json;
using WorkspaceStorage.Testing.Hypha;

namespace Hypha.Rpc.Tests.Support;

/// <summary>Runs tests/Hypha.Rpc.Tests/Python scripts with Python Hypha's interpreter and reads their <c>RESULT {json}</c> line.</summary>
public static class PythonResults
{
    public static string Script(string name) => Path.Combine(AppContext.BaseDirectory, "Python", name);

    public static async Task<JsonElement> RunAsync(
        HyphaTestServer server, string script, IEnumerable<string> args, IReadOnlyDictionary<string, string>? environment = null, TimeSpan? timeout = null)
    {
        var run = await server.RunPythonAsync(Script(script), args, environment, timeout ?? TimeSpan.FromMinutes(2), TestContext.Current.CancellationToken);
        var line = run.Output.Split('\n').LastOrDefault(l => l.StartsWith("RESULT ", StringComparison.Ordinal));
        Assert.True(run.ExitCode == 0 && line is not null, $"{script} {string.Join(' ', args)} failed: {run}");
        return JsonDocument.Parse(line!["RESULT ".Length..]).RootElement.Clone();
    }
}
