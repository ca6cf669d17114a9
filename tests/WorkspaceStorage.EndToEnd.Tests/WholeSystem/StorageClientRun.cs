using System.Text.Json;
using WorkspaceStorage.Testing.Hypha;

namespace WorkspaceStorage.EndToEnd.Tests.WholeSystem;

/// <summary>Runs commands of WholeSystem/Python/storage_client.py (the real hypha_rpc client) and reads its RESULT line.</summary>
internal static class StorageClientRun
{
    public static string Script { get; } = RepositoryRoot.Combine("tests", "WorkspaceStorage.EndToEnd.Tests", "WholeSystem", "Python", "storage_client.py");

    /// <summary>The RESULT object; fails the test (with the script's output and the companion's log) when a check failed.</summary>
    public static async Task<JsonElement> RunAsync(HyphaSystem system, string? token, IReadOnlyDictionary<string, string>? environment, CancellationToken cancellationToken,
        params string[] commands)
    {
        var run = await RunRawAsync(system, token, environment, cancellationToken, commands);
        Assert.True(run.ExitCode == 0, $"storage_client {string.Join(' ', commands)} failed:\n{run}\n--- companion log tail\n{system.Companion.Logs.Tail(20)}");
        return Result(run);
    }

    public static Task<PythonRun> RunRawAsync(HyphaSystem system, string? token, IReadOnlyDictionary<string, string>? environment, CancellationToken cancellationToken,
        params string[] commands)
    {
        var env = new Dictionary<string, string>(environment ?? new Dictionary<string, string>())
        {
            ["HTTP_BASE"] = system.Companion.BaseAddress.ToString().TrimEnd('/'),
        };
        if (token is not null)
        {
            env["HYPHA_TOKEN"] = token;
        }

        return system.PythonAsync(Script, commands, env, cancellationToken, TimeSpan.FromMinutes(4));
    }

    public static JsonElement Result(PythonRun run)
    {
        var line = run.Output.Split('\n').LastOrDefault(l => l.StartsWith("RESULT ", StringComparison.Ordinal))
            ?? throw new InvalidOperationException($"no RESULT line:\n{run}");
        return JsonDocument.Parse(line["RESULT ".Length..]).RootElement.Clone();
    }

    /// <summary>A token Hypha accepts (signed with its JWT secret) for a brand-new user: Hypha gives it the personal workspace ws-user-{id}.</summary>
    public static string NewUserToken(HyphaSystem system, string userId) =>
        new HyphaTokenFactory(system.JwtSecret).Create(userId, $"ws:ws-user-{userId}#a wid:ws-user-{userId}");
}
