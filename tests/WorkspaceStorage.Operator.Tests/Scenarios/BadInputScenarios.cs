using WorkspaceStorage.Core.Workspaces;
using System.Net;
using k8s.Models;
using WorkspaceStorage.Core.Model;
using WorkspaceStorage.Resources;
using WorkspaceStorage.Kubernetes.Runtime;
using WorkspaceStorage.Operator.Reconciliation;
using WorkspaceStorage.Testing.Support;

namespace WorkspaceStorage.Operator.Tests.Scenarios;

/// <summary>
/// Input that two correct-looking objects make wrong together, or that arrives at a bad moment: two names for one
/// bucket, two owners for one Secret, a delete during the first reconcile, two claimants of one workspace in one second.
/// Each is refused with a condition naming the field and the other party, and nothing on RGW is lost or left behind.
/// </summary>
public sealed class BadInputScenarios
{
    private static CancellationToken Ct => TestContext.Current.CancellationToken;

    private static ResourceKey Key(string name) => new(ScenarioHarness.Namespace, name);

    private static V1Condition? Stalled(WorkspaceStorageResource resource) =>
        resource.Status.Find(ConditionTypes.Stalled) is { Status: Conditions.True } c ? c : null;

    private static string Describe(WorkspaceStorageResource resource) =>
        string.Join("; ", resource.Status?.Conditions?.Select(c => $"{c.Type}={c.Status} {c.Reason}: {c.Message}") ?? ["no status"]);

    /// <summary>Asserts <paramref name="resource"/> is Stalled for <paramref name="reason"/> and returns the message.</summary>
    private static string AssertStalled(WorkspaceStorageResource resource, string reason)
    {
        var stalled = Stalled(resource);
        Assert.True(stalled?.Reason == reason, $"{resource.Metadata.Name}: expected Stalled {reason}, got {Describe(resource)}");
        Assert.False(ScenarioHarness.IsReady(resource), $"{resource.Metadata.Name} is Ready");
        return stalled!.Message;
    }

    [Fact]
    public async Task A_second_StorageBackend_on_the_same_endpoint_and_bucket_is_refused_and_revokes_nothing()
    {
        await using var h = await ScenarioHarness.CreateAsync();
        h.StartOperator();
        var workspace = h.NewWorkspace();
        await h.CreateStorageAsync("owner", h.Spec(workspace));
        await h.WaitReadyAsync("owner");
        var ownerKey = (await h.SecretKeyAsync("owner-s3"));

        // Comes after the harness's backend: created later, or in the same second and later by name ("rgw-" + hex < "rgw-z").
        const string second = "rgw-zz-same-bucket";
        await h.Stores.StorageBackends.CreateAsync(h.NewBackend(second, h.Rgw.Endpoint.ToString()), Ct);
        // The same workspace through the second name: claims are per backend name, so only the refusal stops it.
        await h.CreateStorageAsync("intruder", h.Spec(workspace) with { BackendRef = new BackendReference { Name = second } });

        var refused = await h.WaitBackendAsync(second, b => b?.Status.Find(ConditionTypes.Ready) is not null, "a Ready condition");
        var backendStalled = refused.Status.Find(ConditionTypes.Stalled);
        Assert.True(backendStalled is { Status: Conditions.True, Reason: ConditionReasons.BackendConflict },
            $"StorageBackend {second}: " + string.Join("; ", refused.Status!.Conditions!.Select(c => $"{c.Type}={c.Status} {c.Reason}: {c.Message}")));
        Assert.Contains($"StorageBackend \"{h.BackendName}\"", backendStalled.Message, StringComparison.Ordinal);
        Assert.Contains("spec.bucket", backendStalled.Message, StringComparison.Ordinal);

        var message = AssertStalled(await h.WaitSettledAsync("intruder"), ConditionReasons.BackendConflict);
        Assert.StartsWith("spec.backendRef.name:", message, StringComparison.Ordinal);
        Assert.Contains($"\"{second}\"", message, StringComparison.Ordinal);
        Assert.Contains($"\"{h.BackendName}\"", message, StringComparison.Ordinal);
        Assert.Null((await h.SecretAsync("intruder-s3")));

        // Nothing revoked: the owner's key is the workspace's only key and still works.
        Assert.Equal([ownerKey.AccessKeyId], await (await h.DirectBackendAsync()).ListKeysAsync(workspace, Ct));
        Assert.Equal(HttpStatusCode.OK, await h.PutAsync(ownerKey, workspace.Prefix + "still-mine.txt"));

        // Once the first name goes, the second is the bucket's only one and is usable.
        await h.Stores.StorageBackends.DeleteAsync(new ResourceKey(null, h.BackendName), Ct);
        await h.WaitBackendAsync(second, b => b?.Status.IsTrue(ConditionTypes.Ready) == true, "Ready once the first StorageBackend is gone");
    }

    [Fact]
    public async Task A_Secret_name_another_WorkspaceStorage_holds_is_not_overwritten_and_the_condition_names_the_holder()
    {
        await using var h = await ScenarioHarness.CreateAsync();
        h.StartOperator();
        var firstWorkspace = h.NewWorkspace();
        var secondWorkspace = h.NewWorkspace();
        var shared = new SecretSpec { Name = "shared-s3" };
        await h.CreateStorageAsync("first", h.Spec(firstWorkspace) with { Secret = shared });
        await h.WaitReadyAsync("first");
        var firstKey = (await h.SecretKeyAsync("shared-s3"));

        await h.CreateStorageAsync("second", h.Spec(secondWorkspace) with { Secret = shared });

        var message = AssertStalled(await h.WaitSettledAsync("second"), ConditionReasons.SecretConflict);
        Assert.StartsWith("spec.secret.name:", message, StringComparison.Ordinal);
        Assert.Contains($"{ScenarioHarness.Namespace}/first", message, StringComparison.Ordinal);
        Assert.Equal(firstKey, (await h.SecretKeyAsync("shared-s3")));
        Assert.Equal((await h.GetAsync("first"))!.Metadata.Uid, Assert.Single((await h.SecretAsync("shared-s3"))!.Metadata.OwnerReferences).Uid);
        Assert.False(await h.HasIdentityAsync(secondWorkspace), "the refused WorkspaceStorage made an RGW user");

        // Not asserted yet: that the other takes the name over at once when the holder goes. It did in most runs, but
        // in some the second stayed refused for its 5-minute retry (the holder's and its Secret's deletions reach two
        // caches in either order); until that race is closed the takeover waits for the retry or the resync.
    }

    [Fact]
    public async Task Two_WorkspaceStorages_asking_for_one_Secret_name_at_once_the_one_that_comes_first_gets_it()
    {
        await using var h = await ScenarioHarness.CreateAsync();
        var shared = new SecretSpec { Name = "shared-s3" };
        var laterWorkspace = h.NewWorkspace();
        await h.CreateStorageAsync("first", h.Spec(h.NewWorkspace()) with { Secret = shared });
        await h.CreateStorageAsync("later", h.Spec(laterWorkspace) with { Secret = shared });
        var pause = new FirstIdentityPause();
        var reconciler = h.NewReconciler(pause.Wrap);

        // "first" is on the backend, its Secret not yet written, when "later" is reconciled.
        var provisioning = ScenarioHarness.ReconcileOnceAsync(reconciler, "first");
        await pause.Reached.WaitAsync(TimeSpan.FromSeconds(30), Ct);
        await ScenarioHarness.ReconcileOnceAsync(reconciler, "later");
        pause.Release();
        await provisioning;

        var message = AssertStalled((await h.GetAsync("later"))!, ConditionReasons.SecretConflict);
        Assert.StartsWith("spec.secret.name:", message, StringComparison.Ordinal);
        Assert.Contains($"{ScenarioHarness.Namespace}/first", message, StringComparison.Ordinal);
        Assert.True(ScenarioHarness.IsReady((await h.GetAsync("first"))), Describe((await h.GetAsync("first"))!));
        Assert.Equal((await h.GetAsync("first"))!.Status!.AccessKeyId, (await h.SecretKeyAsync("shared-s3")).AccessKeyId);
        Assert.False(await h.HasIdentityAsync(laterWorkspace), "the refused WorkspaceStorage made an RGW user");
    }

    [Fact]
    public async Task A_WorkspaceStorage_deleted_while_its_first_reconcile_is_in_flight_leaves_no_user_key_or_Secret()
    {
        await using var h = await ScenarioHarness.CreateAsync();
        var workspace = h.NewWorkspace();
        await h.CreateStorageAsync("brief", h.Spec(workspace));
        var pause = new FirstIdentityPause();
        var reconciler = h.NewReconciler(pause.Wrap);

        var first = ScenarioHarness.ReconcileOnceAsync(reconciler, "brief");
        await pause.Reached.WaitAsync(TimeSpan.FromSeconds(30), Ct);
        await h.Stores.WorkspaceStorages.DeleteAsync(Key("brief"), Ct);
        pause.Release();
        // Its outcome is not the point (the work queue would retry a failure): whatever it made must not outlive the object.
        await Task.WhenAny(first);

        // The delete's own reconcile, which the work queue runs once the one in flight is done.
        await ScenarioHarness.ReconcileOnceAsync(reconciler, "brief");

        Assert.Null((await h.GetAsync("brief")));
        Assert.Null((await h.SecretAsync("brief-s3")));
        var direct = await h.DirectBackendAsync();
        Assert.Empty(await direct.ListKeysAsync(workspace, Ct));
        Assert.False(await h.HasIdentityAsync(workspace), "the RGW user outlived its WorkspaceStorage");
    }

    [Fact]
    public async Task Two_claimants_created_in_the_same_second_the_first_by_name_holds_the_workspace_and_the_other_stalls()
    {
        await using var h = await ScenarioHarness.CreateAsync();
        var workspace = h.NewWorkspace();
        // "b" created first, in the same whole second as "a" (the server's creationTimestamp): only the name tells them apart.
        await h.CreateInOneSecondAsync(["claim-b", "claim-a"], h.Spec(workspace));

        h.StartOperator(workers: 4);
        var holder = await h.WaitSettledAsync("claim-a");
        var other = await h.WaitSettledAsync("claim-b");

        Assert.True(ScenarioHarness.IsReady(holder), Describe(holder));
        var message = AssertStalled(other, WorkspaceStorageConditions.WorkspaceAlreadyClaimed);
        Assert.Contains($"{ScenarioHarness.Namespace}/claim-a", message, StringComparison.Ordinal);
        Assert.Null((await h.SecretAsync("claim-b-s3")));
        Assert.Equal([holder.Status!.AccessKeyId!], await (await h.DirectBackendAsync()).ListKeysAsync(workspace, Ct));
    }

    [Fact]
    public async Task A_claimant_reconciled_while_another_provisions_the_same_workspace_waits_for_it_and_then_stalls()
    {
        await using var h = await ScenarioHarness.CreateAsync();
        WorkspaceId workspace;
        FirstIdentityPause pause;
        LogCapture<WorkspaceStorageReconciler> logger;
        Task<ReconcileResult> provisioning;
        for (var attempt = 1; ; attempt++)
        {
            workspace = h.NewWorkspace();
            pause = new FirstIdentityPause();
            logger = new LogCapture<WorkspaceStorageReconciler>();
            var reconciler = h.NewReconciler(pause.Wrap, logger);
            var provisioner = await h.CreateStorageAsync("claim-b", h.Spec(workspace));
            provisioning = ScenarioHarness.ReconcileOnceAsync(reconciler, "claim-b");
            await pause.Reached.WaitAsync(TimeSpan.FromSeconds(30), Ct);

            // claim-b provisions now and nothing in its status says it holds the workspace yet; claim-a, created in
            // the same second (the server's creationTimestamp) and first by name, is the one the rules would prefer.
            var claimant = await h.CreateStorageAsync("claim-a", h.Spec(workspace));
            if (claimant.Metadata.CreationTimestamp == provisioner.Metadata.CreationTimestamp || attempt == 5)
            {
                Assert.Equal(provisioner.Metadata.CreationTimestamp, claimant.Metadata.CreationTimestamp);
                var second = ScenarioHarness.ReconcileOnceAsync(reconciler, "claim-a");
                await CheckTheWaitAsync(second);
                break;
            }

            // A second boundary fell between the two: start again with a new workspace.
            pause.Release();
            await provisioning;
            await h.Kube.DeleteAsync<WorkspaceStorageResource>(ScenarioHarness.Namespace, "claim-a");
            await h.Kube.DeleteAsync<WorkspaceStorageResource>(ScenarioHarness.Namespace, "claim-b");
            await ScenarioHarness.ReconcileOnceAsync(h.NewReconciler(), "claim-b");
        }

        async Task CheckTheWaitAsync(Task<ReconcileResult> second)
        {

        // Either claim-a waits for claim-b (the guard), or it reaches the backend too, or it is already done: whichever comes first.
            await Eventually.TrueAsync(() => logger.All.Contains("waits for WorkspaceStorage team-a/claim-b", StringComparison.Ordinal) || pause.Calls > 1 || second.IsCompleted,
                "claim-a to wait for claim-b, or to reach the backend", TimeSpan.FromSeconds(30));
            pause.Release();
            await provisioning;
            await second;
        }

        var holder = (await h.GetAsync("claim-b"))!;
        Assert.True(ScenarioHarness.IsReady(holder), Describe(holder));
        var message = AssertStalled((await h.GetAsync("claim-a"))!, WorkspaceStorageConditions.WorkspaceAlreadyClaimed);
        Assert.Contains($"{ScenarioHarness.Namespace}/claim-b", message, StringComparison.Ordinal);
        Assert.Null((await h.SecretAsync("claim-a-s3")));
        Assert.Equal([holder.Status!.AccessKeyId!], await (await h.DirectBackendAsync()).ListKeysAsync(workspace, Ct));
    }
}
