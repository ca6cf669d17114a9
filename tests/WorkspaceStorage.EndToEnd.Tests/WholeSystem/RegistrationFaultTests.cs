using Microsoft.Extensions.DependencyInjection;
using WorkspaceStorage.Api.HyphaRpc;
using WorkspaceStorage.Testing.Support;

namespace WorkspaceStorage.EndToEnd.Tests.WholeSystem;

/// <summary>
/// The registration under faults: Hypha restarted under the companion (back within 10 s, no companion restart), the
/// companion restarted (clients see the new registration), and no token or key in any log line.
/// </summary>
[Collection(SoleModeHyphaCollection.Name)]
public sealed class RegistrationFaultTests(SoleModeHypha hypha)
{
    private static CancellationToken Ct => TestContext.Current.CancellationToken;

    [Fact]
    public async Task After_a_Hypha_restart_the_service_is_back_within_10_s_without_restarting_the_companion()
    {
        await using var system = await HyphaSystem.StartAsync(hypha, Ct);
        var token = StorageClientRun.NewUserToken(system, "restart-" + Guid.NewGuid().ToString("N")[..6]);
        var client = system.Companion.App.Services.GetRequiredService<HyphaRegistrationService>().Client;
        var before = client.Registration!.Connection;

        await system.Hypha.StopAsync(Ct);
        await system.Hypha.StartAgainAsync(Ct);
        var answered = DateTime.UtcNow;
        await Eventually.WaitAsync("the companion registered again", TimeSpan.FromSeconds(10), ct =>
            Task.FromResult((client.Registration is { } r && r.Connection > before, client.State.ToString())), Ct);
        var back = DateTime.UtcNow - answered;
        TestContext.Current.TestOutputHelper?.WriteLine($"registered again {back.TotalSeconds:0.0} s after Hypha answered");

        await StorageClientRun.RunAsync(system, token, null, Ct, "credential_upload");
        Assert.True(back < TimeSpan.FromSeconds(10));
    }

    [Fact]
    public async Task A_restarted_companion_is_found_by_clients_under_its_new_registration_and_nothing_secret_reaches_a_log()
    {
        await using var system = await HyphaSystem.StartAsync(hypha, Ct);
        var token = StorageClientRun.NewUserToken(system, "swap-" + Guid.NewGuid().ToString("N")[..6]);
        var first = await StorageClientRun.RunAsync(system, token, null, Ct, "credential_upload");

        var old = system.Companion;
        var oldId = old.App.Services.GetRequiredService<HyphaRegistrationService>().Client.Registration!.ServiceIds.Single();
        var replacement = await system.AddCompanionAsync(null, Ct);
        await old.DisposeAsync(); // unregisters on shutdown
        var newId = replacement.App.Services.GetRequiredService<HyphaRegistrationService>().Client.Registration!.ServiceIds.Single();
        Assert.NotEqual(oldId, newId);

        var run = await system.PythonAsync(RepositoryRoot.Combine("tests", "WorkspaceStorage.EndToEnd.Tests", "WholeSystem", "Python", "registrations.py"), [],
            new Dictionary<string, string> { ["COUNT"] = "20", ["HYPHA_TOKEN"] = token }, Ct);
        var ids = StorageClientRun.Result(run).GetProperty("ids").EnumerateObject().Select(p => p.Name).ToList();
        Assert.Equal([newId], ids);

        // Secrets the run handled: the root token, Hypha's JWT secret, the user's token, and the keys it was given.
        var secrets = new[] { system.Hypha.RootToken, system.JwtSecret, token };
        foreach (var companion in new[] { old, replacement })
        {
            foreach (var line in companion.Logs.Lines)
            {
                Assert.DoesNotContain(secrets, secret => line.Contains(secret, StringComparison.Ordinal));
            }
        }

        Assert.True(first.GetProperty("root_listing_denied").GetBoolean());
    }
}
