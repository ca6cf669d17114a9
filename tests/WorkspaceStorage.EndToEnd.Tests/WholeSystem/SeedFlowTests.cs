
namespace WorkspaceStorage.EndToEnd.Tests.WholeSystem;

/// <summary>
/// The seed's Python client flows (../shared/hypha-clients/seed_flow.py beside the checkout), verbatim, run with the real
/// hypha_rpc client against a real Hypha in which the companion is <c>public/s3-storage</c>; the /files and /s3 steps go
/// to the companion (in a cluster the Ingress puts them on Hypha's host).
/// </summary>
[Collection(SoleModeHyphaCollection.Name)]
public sealed class SeedFlowTests(SoleModeHypha hypha)
{
    private static CancellationToken Ct => TestContext.Current.CancellationToken;

    [Fact]
    public async Task The_seed_flow_passes_every_step_through_Hypha_with_two_companion_replicas_registered()
    {
        // Sole mode with two replicas registered: Hypha spreads the seed's calls over both.
        await using var system = await HyphaSystem.StartAsync(hypha, Ct, replicas: 2);
        var seedFlow = Path.GetFullPath(RepositoryRoot.Combine("..", "shared", "hypha-clients", "seed_flow.py"));
        Assert.True(File.Exists(seedFlow), $"the seed's client flows are not at {seedFlow} (shared/ beside the checkout)");

        var run = await system.PythonAsync(seedFlow,
            [system.Hypha.Url.ToString().TrimEnd('/'), "--admin-type", "minio", "--http-base", system.Companion.BaseAddress.ToString().TrimEnd('/')],
            null, Ct);

        TestContext.Current.TestOutputHelper?.WriteLine(run.Output);
        Assert.True(run.ExitCode == 0, $"seed_flow failed:\n{run}\n--- companion log tail\n{system.Companion.Logs.Tail(30)}");
        Assert.DoesNotContain("FAIL ", run.Output, StringComparison.Ordinal);
        Assert.Contains("15 passed, 0 failed", run.Output, StringComparison.Ordinal);
    }
}
