using WorkspaceStorage.Core.Model;
using WorkspaceStorage.Resources;
using WorkspaceStorage.Core.Workspaces;

namespace WorkspaceStorage.EndToEnd.Tests.WholeSystem;

/// <summary>One cluster and one registered companion (anonymous users read-only, as Hypha's default) for the class.</summary>
public sealed class RegisteredCompanion(SoleModeHypha hypha) : HyphaSystemFixture(hypha)
{
    protected override IReadOnlyDictionary<string, string?> Settings { get; } =
        new Dictionary<string, string?> { ["Api:AnonymousUsersMayWrite"] = "false", ["OnDemand:AllowedWorkspaces:1"] = "ws-team-*" };
}

/// <summary>
/// Hypha's own Python client using public/s3-storage through a real Hypha, with the companion registered (sole mode), the
/// real operator and the real RGW: new users with no WorkspaceStorage anywhere, every function, and permission taken
/// only from the context Hypha stamps on each call.
/// </summary>
[Collection(SoleModeHyphaCollection.Name)]
public sealed class StorageThroughHyphaTests(RegisteredCompanion fixture) : IClassFixture<RegisteredCompanion>
{
    private static CancellationToken Ct => TestContext.Current.CancellationToken;

    private HyphaSystem System => fixture.System;

    [Fact]
    public async Task A_brand_new_user_gets_credentials_and_uploads_with_boto3_confined_to_its_prefix_and_its_object_is_labelled()
    {
        var user = "newcomer-" + Guid.NewGuid().ToString("N")[..8];
        var result = await StorageClientRun.RunAsync(System, StorageClientRun.NewUserToken(System, user), null, Ct, "credential_upload");

        Assert.Equal($"ws-user-{user}/", result.GetProperty("prefix").GetString());
        Assert.Equal("rw", result.GetProperty("access").GetString());
        var made = Assert.Single(await System.Cluster.WorkspaceStoragesAsync(HyphaSystem.OnDemandNamespace), r => r.Spec.Workspace == $"ws-user-{user}");
        Assert.True(OnDemandWorkspaceStorage.IsOnDemand(made));
        Assert.True(made.Status?.IsTrue(ConditionTypes.Ready));
    }

    [Fact]
    public async Task Presigned_URLs_with_httpx_and_requests_every_file_function_and_a_generated_token_on_the_files_routes_work()
    {
        var user = "files-" + Guid.NewGuid().ToString("N")[..8];
        await StorageClientRun.RunAsync(System, StorageClientRun.NewUserToken(System, user), null, Ct,
            "presigned_http", "file_functions", "files_routes_with_generated_token");
    }

    [Fact]
    public async Task A_read_only_member_lists_and_reads_but_cannot_put_delete_or_get_read_write_credentials()
    {
        var owner = "owner-" + Guid.NewGuid().ToString("N")[..8];
        var result = await StorageClientRun.RunAsync(System, StorageClientRun.NewUserToken(System, owner), null, Ct, "read_only_member");
        Assert.Equal($"ws-user-{owner}", result.GetProperty("reader_ws").GetString());
        Assert.Equal("r", result.GetProperty("reader_credential_access").GetString());
    }

    [Fact]
    public async Task A_caller_whose_current_workspace_is_B_gets_Bs_storage_never_its_own()
    {
        var user = "two-" + Guid.NewGuid().ToString("N")[..8];
        var team = WorkspaceId.Parse("ws-team-" + Guid.NewGuid().ToString("N")[..8]);
        var result = await StorageClientRun.RunAsync(System, StorageClientRun.NewUserToken(System, user),
            new Dictionary<string, string> { ["OTHER_WORKSPACE"] = team.Value }, Ct, "current_workspace");
        Assert.Equal(team.Value, result.GetProperty("connected_ws").GetString());
        Assert.Equal(team.Prefix, result.GetProperty("prefix").GetString());
    }

    [Fact]
    public async Task An_anonymous_caller_gets_what_Hyphas_built_in_gives_one_read_only()
    {
        var result = await StorageClientRun.RunAsync(System, token: null, null, Ct, "anonymous");
        var anonymous = result.GetProperty("anonymous");
        Assert.StartsWith("ws-user-anonymouz-", result.GetProperty("workspace").GetString(), StringComparison.Ordinal);
        Assert.Equal("ok", anonymous.GetProperty("list_files").GetString());
        Assert.Equal("ok", anonymous.GetProperty("presign_get").GetString());
        Assert.Contains("PermissionError", anonymous.GetProperty("presign_put").GetString(), StringComparison.Ordinal);
        Assert.Contains("PermissionError", anonymous.GetProperty("generate_credential").GetString(), StringComparison.Ordinal);
    }

    [Fact]
    public async Task A_listing_of_5000_objects_arrives_intact_and_200_calls_in_flight_are_all_answered()
    {
        var user = "bulk-" + Guid.NewGuid().ToString("N")[..8];
        var token = StorageClientRun.NewUserToken(System, user);
        var listing = await StorageClientRun.RunAsync(System, token, new Dictionary<string, string> { ["COUNT"] = "5000" }, Ct, "big_listing");
        Assert.Equal(5000, listing.GetProperty("listed").GetInt32());
        var calls = await StorageClientRun.RunAsync(System, token, new Dictionary<string, string> { ["COUNT"] = "200" }, Ct, "many_calls");
        Assert.Equal(200, calls.GetProperty("answered").GetInt32());
        TestContext.Current.TestOutputHelper?.WriteLine($"list_files(5000): {listing.GetProperty("list_seconds")} s; 200 calls in flight: {calls.GetProperty("seconds")} s");
    }
}
