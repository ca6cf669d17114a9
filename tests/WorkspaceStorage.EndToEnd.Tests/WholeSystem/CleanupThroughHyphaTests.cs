using WorkspaceStorage.Core.Model;
using WorkspaceStorage.Resources;
using WorkspaceStorage.Core.Workspaces;
using WorkspaceStorage.Testing.Support;

namespace WorkspaceStorage.EndToEnd.Tests.WholeSystem;

/// <summary>
/// Clean-up of on-demand storage through a real Hypha: a temporary (anonymous) workspace that Hypha deletes when its
/// client leaves loses its identity and, with deletionPolicy Delete, its data; a declared WorkspaceStorage is untouched.
/// </summary>
[Collection(SoleModeHyphaCollection.Name)]
public sealed class CleanupThroughHyphaTests(SoleModeHypha hypha)
{
    private static CancellationToken Ct => TestContext.Current.CancellationToken;

    [Fact]
    public async Task A_temporary_workspace_Hypha_deletes_loses_its_identity_and_data_and_a_declared_one_is_untouched()
    {
        await using var system = await HyphaSystem.StartAsync(hypha, Ct, extra: new Dictionary<string, string?>
        {
            ["Api:AnonymousUsersMayWrite"] = "true",
            ["OnDemand:HyphaWorkspacePollPeriod"] = "00:00:01",
        });
        var declared = await DeclareAsync(system);

        // An anonymous user writes in its temporary workspace, then leaves: Hypha deletes the workspace.
        var used = await StorageClientRun.RunAsync(system, token: null, null, Ct, "use_and_leave");
        var temporary = WorkspaceId.Parse(used.GetProperty("workspace").GetString()!);
        Assert.StartsWith("ws-user-anonymouz-", temporary.Value, StringComparison.Ordinal);
        using var rgw = new RgwInventory(system.Cluster.Rgw);
        // Its upload through a presigned URL signed with the workspace's own key succeeded (the script checks the 200),
        // so storage was made on demand. It is not looked up on RGW here: Hypha deletes the workspace as soon as the
        // client leaves, and with a 1 s poll the identity may rightly be gone already (a loaded machine lost that race).

        var started = DateTime.UtcNow;
        await Eventually.WaitAsync("the temporary workspace's WorkspaceStorage and identity to be gone", TimeSpan.FromSeconds(60), async ct =>
        {
            var resource = (await system.Cluster.WorkspaceStoragesAsync(HyphaSystem.OnDemandNamespace)).FirstOrDefault(r => r.Spec.Workspace == temporary.Value);
            var identity = await rgw.HasIdentityAsync(temporary, ct);
            return (resource is null && !identity, $"object {(resource is null ? "gone" : "present")}, identity {(identity ? "present" : "gone")}");
        }, Ct);
        TestContext.Current.TestOutputHelper?.WriteLine($"storage of {temporary} removed {(DateTime.UtcNow - started).TotalSeconds:0.0} s after its client left");

        // deletionPolicy Delete (the template's): the data under the prefix went too.
        using (var admin = system.Cluster.Rgw.CreateAwsS3Client(system.Cluster.Rgw.Admin))
        {
            var left = await admin.ListObjectsV2Async(new Amazon.S3.Model.ListObjectsV2Request { BucketName = system.Cluster.Bucket, Prefix = temporary.Prefix }, Ct);
            Assert.True((left.S3Objects?.Count ?? 0) == 0, $"objects left under {temporary.Prefix}: {left.S3Objects?.Count}");
        }

        // The declared WorkspaceStorage (no on-demand label) is untouched, and its key still works.
        var stillThere = Assert.Single(await system.Cluster.WorkspaceStoragesAsync(HyphaSystem.OnDemandNamespace), r => r.Metadata.Name == "declared-team");
        Assert.True(stillThere.Status?.IsTrue(ConditionTypes.Ready));
        Assert.True(await rgw.HasIdentityAsync(declared, Ct));
    }

    /// <summary>A declared WorkspaceStorage, as GitOps writes it, in the on-demand namespace itself; made Ready by the operator.</summary>
    private static async Task<WorkspaceId> DeclareAsync(HyphaSystem system)
    {
        var workspace = WorkspaceId.Parse("ws-team-declared-" + Guid.NewGuid().ToString("N")[..6]);
        await system.Cluster.Kube.SeedAsync(new WorkspaceStorageResource
        {
            Metadata = new k8s.Models.V1ObjectMeta { Name = "declared-team", NamespaceProperty = HyphaSystem.OnDemandNamespace },
            Spec = new WorkspaceStorageSpec { Workspace = workspace.Value, BackendRef = new BackendReference { Name = system.Cluster.BackendName } },
        });
        await Eventually.WaitAsync("the declared WorkspaceStorage Ready", TimeSpan.FromSeconds(60), async _ =>
        {
            var resource = await system.Cluster.Kube.GetAsync<WorkspaceStorageResource>(HyphaSystem.OnDemandNamespace, "declared-team");
            return (resource?.Status?.IsTrue(ConditionTypes.Ready) == true, resource?.Status?.Conditions.FirstOrDefault()?.Message ?? "no status");
        }, Ct);
        return workspace;
    }
}
