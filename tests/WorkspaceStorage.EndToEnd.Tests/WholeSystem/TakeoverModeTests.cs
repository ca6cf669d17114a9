using System.Text.Json;
using Microsoft.Extensions.DependencyInjection;
using WorkspaceStorage.Api.HyphaRpc;
using WorkspaceStorage.Testing.Support;

namespace WorkspaceStorage.EndToEnd.Tests.WholeSystem;

/// <summary>
/// Takeover mode: Hypha keeps its built-in s3-storage (<c>--enable-s3</c>), and two companion replicas registered with
/// <c>HyphaRegistration:Takeover</c> remove the built-in's registration, so every <c>get_service</c> reaches a companion,
/// and Hypha spreads the lookups over both replicas; after a Hypha restart brings the built-in back, it is removed again.
/// </summary>
[Collection(TakeoverModeHyphaCollection.Name)]
public sealed class TakeoverModeTests(TakeoverModeHypha hypha)
{
    private static CancellationToken Ct => TestContext.Current.CancellationToken;

    private static readonly string Script = RepositoryRoot.Combine("tests", "WorkspaceStorage.EndToEnd.Tests", "WholeSystem", "Python", "registrations.py");

    [Fact]
    public async Task Two_replicas_take_over_and_200_consecutive_lookups_all_reach_a_companion_spread_over_both_also_after_a_Hypha_restart()
    {
        await using var system = await HyphaSystem.StartAsync(hypha, Ct, replicas: 2, extra: new Dictionary<string, string?>
        {
            ["HyphaRegistration:Takeover"] = "true",
            ["HyphaRegistration:TakeoverRecheck"] = "00:00:02",
        });

        await AssertEveryLookupReachesBothReplicasAsync(system, "after takeover");
        // At least one: both replicas sweep, and both may unregister the one built-in before either sees it gone.
        Assert.True(Removed(system) >= 1, "the built-in registration was there and was removed");
        var removedBeforeRestart = Removed(system);

        await system.Hypha.RestartAsync(Ct);
        var restarted = DateTime.UtcNow;
        await Eventually.WaitAsync("both replicas registered again after the Hypha restart", TimeSpan.FromSeconds(30), async ct =>
        {
            var bodies = await Task.WhenAll(system.Companions.Select(c => c.Http.GetStringAsync("/readyz", ct)));
            return (bodies.All(b => b.Contains("\"status\":\"Healthy\"", StringComparison.Ordinal)), string.Join(" | ", bodies));
        }, Ct);
        TestContext.Current.TestOutputHelper?.WriteLine($"both replicas registered {(DateTime.UtcNow - restarted).TotalSeconds:0.0} s after Hypha answered again");
        await AssertEveryLookupReachesBothReplicasAsync(system, "after a Hypha restart");
        Assert.True(Removed(system) > removedBeforeRestart, "the built-in came back with Hypha and was removed again");
    }

    private static int Removed(HyphaSystem system) =>
        system.Companions.Sum(c => c.App.Services.GetRequiredService<HyphaRegistrationService>().Takeover!.Removed);

    private static async Task AssertEveryLookupReachesBothReplicasAsync(HyphaSystem system, string when)
    {
        var ids = await Eventually.WaitAsync($"200 lookups all reaching a companion ({when})", TimeSpan.FromSeconds(60), async ct =>
        {
            var run = await system.PythonAsync(Script, [], new Dictionary<string, string> { ["COUNT"] = "200" }, ct);
            var result = StorageClientRun.Result(run);
            var counts = result.GetProperty("ids").EnumerateObject().ToDictionary(p => p.Name, p => p.Value.GetInt32());
            var foreign = counts.Keys.Where(id => !id.Contains(":s3-storage", StringComparison.Ordinal) || !id.Split('/')[1].StartsWith("wso-s3-storage-", StringComparison.Ordinal)).ToList();
            var done = result.GetProperty("errors").GetInt32() == 0 && foreign.Count == 0 && counts.Values.Sum() == 200;
            return (done, counts, JsonSerializer.Serialize(result));
        }, Ct);
        Assert.Equal(2, ids.Count);
        Assert.All(ids.Values, count => Assert.True(count > 0));
        TestContext.Current.TestOutputHelper?.WriteLine($"{when}: {string.Join(", ", ids.Select(p => $"{p.Key} {p.Value}"))}");
    }
}
