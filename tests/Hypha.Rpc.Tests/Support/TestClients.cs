using System.Security.Cryptography;
using Hypha.Rpc.Services;
using Hypha.Rpc.Tokens;
using WorkspaceStorage.Testing.Hypha;
using WorkspaceStorage.Testing.Support;

namespace Hypha.Rpc.Tests.Support;

/// <summary>Builds the C# clients the tests use against a <see cref="HyphaTestServer"/>.</summary>
public static class TestClients
{
    public static string NewServiceId(string purpose) => $"rpc-{purpose}-{Convert.ToHexStringLower(RandomNumberGenerator.GetBytes(3))}";

    public static HyphaRpcOptions Options(HyphaTestServer server, string? workspace = "public") => new()
    {
        ServerUrl = server.Url.ToString(),
        Workspace = workspace,
        ClientId = "rpc-test-" + Convert.ToHexStringLower(RandomNumberGenerator.GetBytes(4)),
        CallTimeout = TimeSpan.FromSeconds(20),
    };

    /// <summary>The root-token exchange reading the server's root-token file (a restarted server's new token is picked up).</summary>
    public static RootTokenExchangeSource RootExchange(HyphaTestServer server, LogCapture logs, TimeSpan? lifetime = null) =>
        new(SecretText.FromFile(server.RootTokenFile), lifetime ?? TimeSpan.FromHours(1), logger: logs.CreateLogger<RootTokenExchangeSource>());

    /// <summary>A client registering <paramref name="services"/> in <c>public</c> through the root-token exchange, started and registered.</summary>
    public static async Task<HyphaRpcClient> StartRegisteredAsync(
        HyphaTestServer server, LogCapture logs, IEnumerable<HyphaServiceDefinition> services,
        Func<HyphaRpcOptions, HyphaRpcOptions>? configure = null, IHyphaTokenSource? tokenSource = null, Action<HyphaRpcClient>? beforeStart = null)
    {
        var options = Options(server);
        options = configure?.Invoke(options) ?? options;
        var client = new HyphaRpcClient(options, tokenSource ?? RootExchange(server, logs), services, logs.CreateLogger<HyphaRpcClient>());
        beforeStart?.Invoke(client);
        await client.StartAsync(TestContext.Current.CancellationToken);
        using var timeout = CancellationTokenSource.CreateLinkedTokenSource(TestContext.Current.CancellationToken);
        timeout.CancelAfter(TimeSpan.FromSeconds(30));
        try
        {
            await client.WaitUntilRegisteredAsync(timeout.Token);
        }
        catch (OperationCanceledException)
        {
            await client.DisposeAsync();
            throw new InvalidOperationException($"the client did not register within 30 s: {client.LastError}\n{logs.All}\n{server.LogTail()}");
        }

        return client;
    }

    /// <summary>A client without services in the root user's workspace (ws-user-root): a caller with our own client.</summary>
    public static Task<HyphaRpcClient> StartRootCallerAsync(HyphaTestServer server, LogCapture logs) =>
        StartRegisteredAsync(server, logs, [], o => o with { Workspace = null }, FixedTokenSource.FromFile(server.RootTokenFile));

    /// <summary>A token minted by the root user (workspace, permission, lifetime).</summary>
    public static async Task<string> MintTokenAsync(HyphaRpcClient rootCaller, string workspace, string permission, TimeSpan lifetime) =>
        await rootCaller.GenerateTokenAsync(new Dictionary<string, object?>
        {
            ["workspace"] = workspace,
            ["permission"] = permission,
            ["expires_in"] = (long)lifetime.TotalSeconds,
        }, TestContext.Current.CancellationToken);
}
