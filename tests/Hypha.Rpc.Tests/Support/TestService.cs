using System.Security.Cryptography;
using Hypha.Rpc.Services;

namespace Hypha.Rpc.Tests.Support;

/// <summary>
/// The service the tests register: <c>echo</c> (arguments and the stamped context), <c>fail</c> (a chosen error),
/// <c>crash</c> (an unexpected one), <c>slow</c> (sleeps), <c>big</c> (N entries), <c>measure</c> (summarises a large argument).
/// </summary>
public static class TestService
{
    /// <summary>A text only the server side knows; it must never reach a caller.</summary>
    public const string CrashSecret = "internal-detail-7f3a";

    public static HyphaServiceDefinition Create(string id) => new()
    {
        Id = id,
        Name = "RPC test service",
        Description = "Echo, failures, slow and big answers for the Hypha.Rpc tests",
        Functions =
        [
            HyphaFunction.Create("echo", "Return the arguments and the caller's context.",
                """{"type":"object","properties":{"args":{"type":"array"}}}""", Echo),
            new HyphaFunction("fail", "Always refuse with a PermissionError.",
                (_, _) => throw new HyphaCallException("PermissionError", "deliberate refusal for the test")),
            new HyphaFunction("crash", "Fail unexpectedly.",
                (_, _) => throw new InvalidOperationException("boom: " + CrashSecret)),
            HyphaFunction.Create("slow", "Sleep, then answer.",
                """{"type":"object","properties":{"seconds":{"type":"number"}},"required":["seconds"]}""", Slow),
            HyphaFunction.Create("big", "Return N listing entries.",
                """{"type":"object","properties":{"n":{"type":"integer"}},"required":["n"]}""",
                (call, _) => Task.FromResult<object?>(Entries(Convert.ToInt32(call.GetArgument("n", 0), System.Globalization.CultureInfo.InvariantCulture)))),
            HyphaFunction.Create("measure", "Summarise a list and a blob.",
                """{"type":"object","properties":{"entries":{"type":"array"},"blob":{"type":"string"}}}""", Measure),
        ],
    };

    /// <summary>The same entries as hypha_caller.py's <c>entries(n)</c>.</summary>
    public static List<object?> Entries(int n) => Enumerable.Range(0, n).Select(i => (object?)new Dictionary<string, object?>
    {
        ["key"] = $"folder/file-{i:D6}.bin",
        ["size"] = (long)i * 17,
        ["etag"] = i.ToString("x32", System.Globalization.CultureInfo.InvariantCulture),
        ["last_modified"] = 1700000000.5 + i,
    }).ToList();

    private static Task<object?> Echo(HyphaCall call, CancellationToken cancellationToken)
    {
        var context = call.Context;
        var user = context.User;
        return Task.FromResult<object?>(new Dictionary<string, object?>
        {
            ["args"] = call.Args,
            ["kwargs"] = call.Kwargs,
            ["ws"] = context.Workspace,
            ["from"] = context.From,
            ["to"] = context.To,
            ["user_id"] = user?.Id,
            ["is_anonymous"] = user?.IsAnonymous,
            ["roles"] = user?.Roles,
            ["scope"] = user?.Scope is { } scope
                ? new Dictionary<string, object?> { ["current_workspace"] = scope.CurrentWorkspace, ["workspaces"] = scope.Workspaces, ["client_id"] = scope.ClientId }
                : null,
            ["permission"] = context.Workspace is { } ws ? user?.GetPermission(ws)?.ToString() : null,
        });
    }

    private static async Task<object?> Slow(HyphaCall call, CancellationToken cancellationToken)
    {
        var seconds = Convert.ToDouble(call.GetArgument("seconds", 0), System.Globalization.CultureInfo.InvariantCulture);
        await Task.Delay(TimeSpan.FromSeconds(seconds), cancellationToken); // a slow service method: what its callers test
        return $"slept {seconds:0.###} s";
    }

    private static Task<object?> Measure(HyphaCall call, CancellationToken cancellationToken)
    {
        var entries = call.GetArgument("entries", 0) as IReadOnlyList<object?> ?? [];
        var blob = call.GetArgument("blob", 1) as byte[] ?? [];
        return Task.FromResult<object?>(new Dictionary<string, object?>
        {
            ["count"] = entries.Count,
            ["first"] = entries.Count > 0 ? entries[0] : null,
            ["last"] = entries.Count > 0 ? entries[^1] : null,
            ["blob_bytes"] = blob.Length,
            ["blob_sha256"] = Convert.ToHexStringLower(SHA256.HashData(blob)),
        });
    }
}
