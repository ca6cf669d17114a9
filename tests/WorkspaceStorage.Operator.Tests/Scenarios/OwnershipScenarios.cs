using WorkspaceStorage.Testing.Support;
using System.Net;
using System.Text;
using k8s.Models;
using WorkspaceStorage.Core.Credentials;
using WorkspaceStorage.Core.Model;
using WorkspaceStorage.Resources;
using WorkspaceStorage.Operator.Reconciliation;
using WorkspaceStorage.Kubernetes.Runtime;

namespace WorkspaceStorage.Operator.Tests.Scenarios;

/// <summary>Who owns what: a workspace claimed twice, a Secret name already taken, a Secret deleted by hand, keys brought by the user.</summary>
public sealed class OwnershipScenarios
{
    private static CancellationToken Ct => TestContext.Current.CancellationToken;

    private static Func<WorkspaceStorageResource?, bool> StalledOn(string reason) =>
        ws => ws?.Status.Find(ConditionTypes.Stalled) is { Status: Conditions.True } c && c.Reason == reason;

    [Fact]
    public async Task A_second_claim_on_the_same_workspace_stalls_and_deleting_it_leaves_the_owner_intact()
    {
        await using var h = await ScenarioHarness.CreateAsync();
        h.StartOperator();
        var workspace = h.NewWorkspace();
        await h.CreateStorageAsync("owner", h.Spec(workspace));
        await h.WaitReadyAsync("owner");
        var ownerKey = (await h.SecretKeyAsync("owner-s3"));

        await h.CreateStorageAsync("intruder", h.Spec(workspace));
        var stalled = await h.WaitAsync("intruder", StalledOn(WorkspaceStorageConditions.WorkspaceAlreadyClaimed), "Stalled WorkspaceAlreadyClaimed");
        Assert.Contains($"{ScenarioHarness.Namespace}/owner", stalled.Status.Find(ConditionTypes.Stalled)!.Message, StringComparison.Ordinal);
        Assert.Null((await h.SecretAsync("intruder-s3")));

        await h.Stores.WorkspaceStorages.DeleteAsync(new ResourceKey(ScenarioHarness.Namespace, "intruder"), Ct);
        await h.WaitAsync("intruder", ws => ws is null, "finalized and gone");

        Assert.Equal(HttpStatusCode.OK, await h.PutAsync(ownerKey, workspace.Prefix + "still-mine.txt"));
        Assert.Equal([ownerKey.AccessKeyId], await (await h.DirectBackendAsync()).ListKeysAsync(workspace, Ct));
    }

    [Fact]
    public async Task When_the_owner_is_deleted_the_next_claimant_takes_over_without_waiting_for_a_resync()
    {
        await using var h = await ScenarioHarness.CreateAsync();
        h.StartOperator(resync: TimeSpan.FromMinutes(10));
        var workspace = h.NewWorkspace();
        await h.CreateStorageAsync("first", h.Spec(workspace));
        await h.WaitReadyAsync("first");
        await h.CreateStorageAsync("second", h.Spec(workspace));
        await h.WaitAsync("second", StalledOn(WorkspaceStorageConditions.WorkspaceAlreadyClaimed), "Stalled WorkspaceAlreadyClaimed");
        var firstKey = (await h.SecretKeyAsync("first-s3"));

        await h.Stores.WorkspaceStorages.DeleteAsync(new ResourceKey(ScenarioHarness.Namespace, "first"), Ct);
        await h.WaitReadyAsync("second", TimeSpan.FromSeconds(20));

        var secondKey = (await h.SecretKeyAsync("second-s3"));
        Assert.NotEqual(firstKey.AccessKeyId, secondKey.AccessKeyId);
        Assert.Equal(HttpStatusCode.OK, await h.PutAsync(secondKey, workspace.Prefix + "handed-over.txt"));
        Assert.Equal(HttpStatusCode.Forbidden, await h.GetAsync(firstKey, workspace.Prefix + "handed-over.txt"));
    }

    [Fact]
    public async Task A_Secret_name_taken_by_someone_else_is_not_overwritten()
    {
        await using var h = await ScenarioHarness.CreateAsync();
        await h.Stores.Secrets.CreateAsync(new V1Secret
        {
            Metadata = new V1ObjectMeta { Name = "taken-s3", NamespaceProperty = ScenarioHarness.Namespace },
            Data = new Dictionary<string, byte[]> { ["password"] = Encoding.UTF8.GetBytes("hunter2") },
        }, Ct);
        h.StartOperator();
        await h.CreateStorageAsync("taken", h.Spec(h.NewWorkspace()));

        var stalled = await h.WaitAsync("taken", StalledOn(ConditionReasons.SecretConflict), "Stalled SecretConflict");
        Assert.StartsWith("spec.secret.name:", stalled.Status.Find(ConditionTypes.Stalled)!.Message, StringComparison.Ordinal);
        var secret = (await h.SecretAsync("taken-s3"))!;
        Assert.Equal(["password"], secret.Data.Keys);
        Assert.Null(secret.Metadata.OwnerReferences);
    }

    [Fact]
    public async Task A_Secret_deleted_by_hand_is_rewritten_with_a_new_key_and_the_lost_key_is_revoked()
    {
        await using var h = await ScenarioHarness.CreateAsync();
        h.StartOperator();
        var workspace = h.NewWorkspace();
        await h.CreateStorageAsync("lost", h.Spec(workspace));
        await h.WaitReadyAsync("lost");
        var lostKey = (await h.SecretKeyAsync("lost-s3"));

        await h.Stores.Secrets.DeleteAsync(new ResourceKey(ScenarioHarness.Namespace, "lost-s3"), Ct);
        var rewritten = await h.WaitAsync("lost", ws => ScenarioHarness.IsReady(ws) && ws!.Status!.AccessKeyId != lostKey.AccessKeyId, "a new key");
        await Eventually.TrueAsync(async _ => await h.SecretAsync("lost-s3") is not null, "a new Secret");
        var newKey = (await h.SecretKeyAsync("lost-s3"));
        Assert.Equal(rewritten.Status!.AccessKeyId, newKey.AccessKeyId);
        Assert.Equal([newKey.AccessKeyId], await (await h.DirectBackendAsync()).ListKeysAsync(workspace, Ct));
        Assert.Equal(HttpStatusCode.OK, await h.PutAsync(newKey, workspace.Prefix + "new.txt"));
        Assert.Equal(HttpStatusCode.Forbidden, await h.GetAsync(lostKey, workspace.Prefix + "new.txt"));
    }

    [Fact]
    public async Task Bring_your_own_key_is_installed_on_the_backend_and_copied_into_the_Secret()
    {
        await using var h = await ScenarioHarness.CreateAsync();
        var mine = AccessKeyGenerator.Generate();
        await h.Stores.Secrets.CreateAsync(new V1Secret
        {
            Metadata = new V1ObjectMeta { Name = "my-keys", NamespaceProperty = ScenarioHarness.Namespace },
            Data = new Dictionary<string, byte[]>
            {
                ["id"] = Encoding.UTF8.GetBytes(mine.AccessKeyId),
                ["secret"] = Encoding.UTF8.GetBytes(mine.SecretAccessKey),
            },
        }, Ct);
        h.StartOperator();
        var workspace = h.NewWorkspace();
        var spec = h.Spec(workspace);
        await h.CreateStorageAsync("byo", spec with
        {
            Credentials = new CredentialsSpec { ExistingSecretRef = new ExistingSecretReference { Name = "my-keys", AccessKeyIdKey = "id", SecretAccessKeyKey = "secret" } },
        });

        var ready = await h.WaitReadyAsync("byo");
        Assert.Equal(mine.AccessKeyId, ready.Status!.AccessKeyId);
        Assert.Equal(mine, (await h.SecretKeyAsync("byo-s3")));
        Assert.Equal(HttpStatusCode.OK, await h.PutAsync(mine, workspace.Prefix + "byo.txt"));
        Assert.Equal(HttpStatusCode.Forbidden, await h.PutAsync(mine, "elsewhere/byo.txt"));
    }

    [Fact]
    public async Task Bring_your_own_key_from_a_missing_Secret_stalls_naming_the_field()
    {
        await using var h = await ScenarioHarness.CreateAsync();
        h.StartOperator();
        await h.CreateStorageAsync("byo-missing", h.Spec(h.NewWorkspace()) with
        {
            Credentials = new CredentialsSpec { ExistingSecretRef = new ExistingSecretReference { Name = "nowhere" } },
        });

        var stalled = await h.WaitAsync("byo-missing", StalledOn(ConditionReasons.ExistingSecretInvalid), "Stalled ExistingSecretInvalid");
        Assert.StartsWith("spec.credentials.existingSecretRef.name:", stalled.Status.Find(ConditionTypes.Stalled)!.Message, StringComparison.Ordinal);
        Assert.Null((await h.SecretAsync("byo-missing-s3")));
    }
}
