using System.Net;
using WorkspaceStorage.Testing.Support;
using k8s.Models;
using WorkspaceStorage.Core.Credentials;
using WorkspaceStorage.Core.Model;
using WorkspaceStorage.Resources;
using WorkspaceStorage.Core.Signing;
using WorkspaceStorage.Core.Workspaces;
using WorkspaceStorage.Operator.Reconciliation;
using WorkspaceStorage.Kubernetes.Runtime;
using WorkspaceStorage.Storage.Backends;
using WorkspaceStorage.Storage.CephRgw;
using WorkspaceStorage.Testing.Kubernetes;

namespace WorkspaceStorage.Operator.Tests.Scenarios;

/// <summary>
/// The operator's behaviour as a user sees it: real KubernetesClient against the in-process API server, real Ceph RGW.
/// (Scenario 8, relist after 410, and 10, leader election, are covered by Runtime/InformerTests and
/// Runtime/LeaderElectionRunnerTests.)
/// </summary>
public sealed class WorkspaceStorageScenarios
{
    private static CancellationToken Ct => TestContext.Current.CancellationToken;

    [Fact]
    public async Task S01_Create_becomes_Ready_and_the_Secret_key_works_only_under_its_prefix()
    {
        await using var h = await ScenarioHarness.CreateAsync();
        h.StartOperator();
        var workspace = h.NewWorkspace();
        await h.CreateStorageAsync("data", h.Spec(workspace));

        var ready = await h.WaitReadyAsync("data");
        Assert.Equal(workspace.Value, ready.Status!.Workspace);
        Assert.Equal(workspace.Prefix, ready.Status.Prefix);
        Assert.Equal(h.Bucket, ready.Status.Bucket);
        Assert.Equal("data-s3", ready.Status.SecretName);
        Assert.Contains(ResourceMetadata.Finalizer, ready.Metadata.Finalizers);

        var secret = (await h.SecretAsync("data-s3"))!;
        var key = (await h.SecretKeyAsync("data-s3"));
        Assert.Equal(ready.Status.AccessKeyId, key.AccessKeyId);
        Assert.Contains(secret.Metadata.OwnerReferences, r => r.Uid == ready.Metadata.Uid && r.Controller == true);
        Assert.Equal(ResourceMetadata.ManagedByValue, secret.Metadata.Labels[ResourceMetadata.ManagedByLabel]);
        Assert.Equal(workspace.Prefix, System.Text.Encoding.UTF8.GetString(secret.Data[CredentialSecretLayout.S3Prefix]));

        Assert.Equal(HttpStatusCode.OK, await h.PutAsync(key, workspace.Prefix + "hello.txt"));
        Assert.Equal(HttpStatusCode.OK, await h.GetAsync(key, workspace.Prefix + "hello.txt"));
        Assert.Equal(HttpStatusCode.Forbidden, await h.PutAsync(key, "other-ws/hello.txt"));
        Assert.Equal(HttpStatusCode.Forbidden, await h.PutAsync(key, workspace.Value + "x/hello.txt"));

        // The secret key never reaches the status or an event.
        var statusJson = k8s.KubernetesJson.Serialize(ready.Status);
        Assert.DoesNotContain(key.SecretAccessKey, statusJson, StringComparison.Ordinal);
        var events = (await h.Kube.ObjectsAsync<Corev1Event>(ScenarioHarness.Namespace));
        Assert.Contains(events, e => e.Reason == "Provisioned");
        Assert.DoesNotContain(events, e => e.Message.Contains(key.SecretAccessKey, StringComparison.Ordinal));
    }

    [Fact]
    public async Task S02_ReadWrite_to_ReadOnly_stops_writes_but_not_reads()
    {
        await using var h = await ScenarioHarness.CreateAsync();
        h.StartOperator();
        var workspace = h.NewWorkspace();
        await h.CreateStorageAsync("rw", h.Spec(workspace));
        await h.WaitReadyAsync("rw");
        var key = (await h.SecretKeyAsync("rw-s3"));
        Assert.Equal(HttpStatusCode.OK, await h.PutAsync(key, workspace.Prefix + "a.txt"));

        var changed = (await h.Kube.ModifyAsync<WorkspaceStorageResource>(ScenarioHarness.Namespace, "rw", ws => ws.Spec = ws.Spec with { Access = WorkspaceAccess.ReadOnly }));
        await h.WaitAsync("rw", ws => ScenarioHarness.IsReady(ws) && ws!.Status!.ObservedGeneration == changed.Metadata.Generation, "Ready for the ReadOnly generation");

        Assert.Equal(key, (await h.SecretKeyAsync("rw-s3"))); // same key, narrower policy
        Assert.Equal(HttpStatusCode.Forbidden, await h.PutAsync(key, workspace.Prefix + "b.txt"));
        Assert.Equal(HttpStatusCode.OK, await h.GetAsync(key, workspace.Prefix + "a.txt"));
    }

    [Fact]
    public async Task S03_Delete_with_Retain_keeps_data_and_removes_the_identity_Delete_removes_only_the_prefix()
    {
        await using var h = await ScenarioHarness.CreateAsync();
        h.StartOperator();
        var kept = h.NewWorkspace("k");
        var wiped = h.NewWorkspace("d");
        await h.CreateStorageAsync("kept", h.Spec(kept, deletion: DeletionPolicy.Retain));
        await h.CreateStorageAsync("wiped", h.Spec(wiped, deletion: DeletionPolicy.Delete));
        await h.WaitReadyAsync("kept");
        await h.WaitReadyAsync("wiped");
        var keptKey = (await h.SecretKeyAsync("kept-s3"));
        var wipedKey = (await h.SecretKeyAsync("wiped-s3"));
        Assert.Equal(HttpStatusCode.OK, await h.PutAsync(keptKey, kept.Prefix + "keep.txt"));
        Assert.Equal(HttpStatusCode.OK, await h.PutAsync(wipedKey, wiped.Prefix + "gone.txt"));
        // A neighbour whose name starts with the deleted workspace's: must survive.
        await h.PutAsAdminAsync(wiped.Value + "b/neighbour.txt");

        await h.Stores.WorkspaceStorages.DeleteAsync(new ResourceKey(ScenarioHarness.Namespace, "kept"), Ct);
        await h.Stores.WorkspaceStorages.DeleteAsync(new ResourceKey(ScenarioHarness.Namespace, "wiped"), Ct);
        await h.WaitAsync("kept", ws => ws is null, "finalized and gone");
        await h.WaitAsync("wiped", ws => ws is null, "finalized and gone");

        Assert.Null((await h.SecretAsync("kept-s3")));
        Assert.Null((await h.SecretAsync("wiped-s3")));
        Assert.Equal([kept.Prefix + "keep.txt"], await h.KeysAsAdminAsync(kept.Prefix));
        Assert.Equal(HttpStatusCode.Forbidden, await h.GetAsync(keptKey, kept.Prefix + "keep.txt"));
        Assert.Empty(await h.KeysAsAdminAsync(wiped.Prefix));
        Assert.Equal([wiped.Value + "b/neighbour.txt"], await h.KeysAsAdminAsync(wiped.Value + "b/"));
        Assert.Contains((await h.Kube.ObjectsAsync<Corev1Event>(ScenarioHarness.Namespace)), e => e.Reason == "Deleted");
    }

    [Theory]
    [InlineData(false)]
    [InlineData(true)]
    public async Task S03_A_Retained_workspace_declared_again_a_restore_gets_a_new_key_to_its_old_data_and_the_old_key_is_refused(bool clusterLost)
    {
        // docs/deploy.md's backup and restore: the WorkspaceStorage Kubernetes held is applied again after it was
        // deleted (finalized: the identity went with it) or lost with its cluster (never finalized: the identity and
        // its key are still on the server), and the data kept under the prefix is the workspace's again.
        await using var h = await ScenarioHarness.CreateAsync();
        h.StartOperator();
        var workspace = h.NewWorkspace("restore");
        await h.CreateStorageAsync("restore", h.Spec(workspace, deletion: DeletionPolicy.Retain));
        await h.WaitReadyAsync("restore");
        var before = await h.SecretKeyAsync("restore-s3");
        Assert.Equal(HttpStatusCode.OK, await h.PutAsync(before, workspace.Prefix + "kept.txt"));

        if (clusterLost)
        {
            await h.StopOperatorAsync();
            await h.Kube.ModifyAsync<WorkspaceStorageResource>(ScenarioHarness.Namespace, "restore", ws => ws.Metadata.Finalizers = null);
            await h.Kube.DeleteAsync<WorkspaceStorageResource>(ScenarioHarness.Namespace, "restore");
            await h.Kube.DeleteAsync<V1Secret>(ScenarioHarness.Namespace, "restore-s3");
            Assert.Equal(HttpStatusCode.OK, await h.GetAsync(before, workspace.Prefix + "kept.txt"));
            h.StartOperator();
        }
        else
        {
            await h.Stores.WorkspaceStorages.DeleteAsync(new ResourceKey(ScenarioHarness.Namespace, "restore"), Ct);
            await h.WaitAsync("restore", ws => ws is null, "finalized and gone");
        }

        await h.CreateStorageAsync("restore", h.Spec(workspace, deletion: DeletionPolicy.Retain));
        await h.WaitReadyAsync("restore");

        var after = await h.SecretKeyAsync("restore-s3");
        Assert.NotEqual(before.AccessKeyId, after.AccessKeyId);
        Assert.Equal(HttpStatusCode.OK, await h.GetAsync(after, workspace.Prefix + "kept.txt"));
        await Eventually.TrueAsync(async _ => await h.GetAsync(before, workspace.Prefix + "kept.txt") == HttpStatusCode.Forbidden,
            "the key from before the restore to be refused");
    }

    [Fact]
    public async Task S04_A_policy_deleted_behind_the_operators_back_is_restored_by_the_next_resync()
    {
        await using var h = await ScenarioHarness.CreateAsync();
        h.StartOperator(resync: TimeSpan.FromSeconds(2));
        var workspace = h.NewWorkspace();
        await h.CreateStorageAsync("drift", h.Spec(workspace));
        await h.WaitReadyAsync("drift");
        var key = (await h.SecretKeyAsync("drift-s3"));
        var names = RgwNames.For(workspace, CephRgwStorageBackend.MaxNameLength);

        Assert.True(await h.Iam.DeleteUserPolicyAsync(names.Identity, names.Policy, Ct));
        Assert.Null(await h.Iam.GetUserPolicyAsync(names.Identity, names.Policy, Ct));

        await Eventually.TrueAsync(async ct => await h.Iam.GetUserPolicyAsync(names.Identity, names.Policy, ct) is not null,
            "the resync to restore the user policy");

        Assert.Equal(HttpStatusCode.OK, await h.PutAsync(key, workspace.Prefix + "after-drift.txt"));
        Assert.Equal(key, (await h.SecretKeyAsync("drift-s3")));
    }

    [Fact]
    public async Task S05_Backend_down_reports_BackendUnavailable_and_recovers_when_pointed_back()
    {
        await using var h = await ScenarioHarness.CreateAsync();
        using var closed = FreeTcpPort.Refusing();
        await h.Kube.ModifyAsync<StorageBackendResource>(null, h.BackendName, b => b.Spec = b.Spec with { Endpoint = closed.Endpoint.ToString() });
        h.StartOperator();
        var workspace = h.NewWorkspace();
        await h.CreateStorageAsync("down", h.Spec(workspace));

        var down = await h.WaitAsync("down", ws => ws?.Status.Find(ConditionTypes.Reconciling)?.Reason == ConditionReasons.BackendUnavailable,
            "Reconciling=True BackendUnavailable");
        Assert.Equal(Conditions.False, down.Status.Find(ConditionTypes.Ready)!.Status);
        Assert.Equal(Conditions.True, down.Status.Find(ConditionTypes.Reconciling)!.Status);
        Assert.Null(down.Status.Find(ConditionTypes.Stalled));
        Assert.Null((await h.SecretAsync("down-s3")));
        var sb = await WaitBackendAsync(h, b => b?.Status.Find(ConditionTypes.Ready)?.Reason == ConditionReasons.BackendUnavailable);
        Assert.Equal(Conditions.False, sb.Status.Find(ConditionTypes.Ready)!.Status);

        // Backoff: failures are retried (wait for the retry itself), but not in a hot loop: the queue's backoff starts at
        // 100 ms and doubles, so however long the wait took, fewer than 40 calls a second of it (a hot loop makes
        // thousands). A slower machine only makes fewer calls, so the bound cannot flake.
        var before = h.BackendCalls.Calls.Count;
        var waited = System.Diagnostics.Stopwatch.StartNew();
        await Eventually.TrueAsync(() => h.BackendCalls.Calls.Count > before, "a retry of the failed reconcile");
        await Eventually.TrueAsync(() => h.BackendCalls.Calls.Count > before + 1, "a second retry");
        var retried = h.BackendCalls.Calls.Count - before;
        Assert.True(retried <= 40 * Math.Max(1, waited.Elapsed.TotalSeconds), $"{retried} backend calls in {waited.Elapsed.TotalSeconds:F1} s of retries");
        Assert.Contains((await h.Kube.ObjectsAsync<Corev1Event>(ScenarioHarness.Namespace)), e => e.Reason == ConditionReasons.BackendUnavailable && e.Type == "Warning");

        await h.Kube.ModifyAsync<StorageBackendResource>(null, h.BackendName, b => b.Spec = b.Spec with { Endpoint = h.Rgw.Endpoint.ToString() });
        var ready = await h.WaitReadyAsync("down");
        Assert.Null(ready.Status!.Find(ConditionTypes.Reconciling));
        Assert.Equal(HttpStatusCode.OK, await h.PutAsync((await h.SecretKeyAsync("down-s3")), workspace.Prefix + "up.txt"));
        await WaitBackendAsync(h, b => b?.Status.IsTrue(ConditionTypes.Ready) == true);
    }

    [Fact]
    public async Task S06_A_crash_between_backend_and_Secret_writes_leaves_no_orphaned_key()
    {
        await using var h = await ScenarioHarness.CreateAsync();
        var workspace = h.NewWorkspace();
        await h.CreateStorageAsync("crash", h.Spec(workspace));
        var direct = await h.DirectBackendAsync();

        // 1. The Secret write fails: the backend never learns the key.
        using (h.Kube.FailRequests(500, r => r.Type == KubeResources.Secrets && r.IsWrite, count: 1))
        {
            await Assert.ThrowsAnyAsync<ResourceClientException>(() => ScenarioHarness.ReconcileOnceAsync(h.NewReconciler(), "crash"));
        }

        Assert.Empty(await direct.ListKeysAsync(workspace, Ct));

        // 2. The process dies right after the backend accepted the key (before status and clean-up).
        var crashing = h.NewReconciler(backend => new CrashAfterEnsureKey(backend));
        await Assert.ThrowsAsync<OperationCanceledException>(() => ScenarioHarness.ReconcileOnceAsync(crashing, "crash"));
        var written = (await h.SecretKeyAsync("crash-s3"));
        Assert.Equal([written.AccessKeyId], await direct.ListKeysAsync(workspace, Ct));

        // 3. A key some earlier crash left on the backend, not in the Secret.
        var orphan = AccessKeyGenerator.Generate();
        await direct.EnsureKeyAsync(workspace, orphan, Ct);
        Assert.Equal(2, (await direct.ListKeysAsync(workspace, Ct)).Count);

        // A fresh operator converges: the Secret's key, and only it.
        var result = await ScenarioHarness.ReconcileOnceAsync(h.NewReconciler(), "crash");
        Assert.Equal(ReconcileOutcome.Done, result.Outcome);
        Assert.True(ScenarioHarness.IsReady((await h.GetAsync("crash"))));
        Assert.Equal(written, (await h.SecretKeyAsync("crash-s3")));
        Assert.Equal([written.AccessKeyId], await direct.ListKeysAsync(workspace, Ct));
        Assert.Equal(HttpStatusCode.OK, await h.PutAsync(written, workspace.Prefix + "ok.txt"));
        Assert.Equal(HttpStatusCode.Forbidden, await h.GetAsync(orphan, workspace.Prefix + "ok.txt"));
    }

    [Fact]
    public async Task S07_Conflicts_on_the_status_write_are_retried_and_end_Ready()
    {
        await using var h = await ScenarioHarness.CreateAsync();
        var workspace = h.NewWorkspace();
        await h.CreateStorageAsync("conflict", h.Spec(workspace));
        var reconciler = h.NewReconciler();
        h.Kube.InjectConflicts(KubeResources.WorkspaceStorages, ScenarioHarness.Namespace, "conflict", count: 2, onStatus: true);
        h.Kube.ResetRequestCounts();

        var result = await ScenarioHarness.ReconcileOnceAsync(reconciler, "conflict");

        Assert.Equal(ReconcileOutcome.Done, result.Outcome);
        Assert.True(ScenarioHarness.IsReady((await h.GetAsync("conflict"))));
        Assert.Equal(3, h.Kube.RequestCount("update", KubeResources.WorkspaceStorages, "status"));
    }

    [Fact]
    public async Task S09_Rotation_overlaps_both_keys_for_the_grace_period_then_revokes_the_old_one()
    {
        await using var h = await ScenarioHarness.CreateAsync();
        h.StartOperator();
        var workspace = h.NewWorkspace();
        await h.CreateStorageAsync("rot", h.Spec(workspace, grace: "4s"));
        var first = await h.WaitReadyAsync("rot");
        var oldKey = (await h.SecretKeyAsync("rot-s3"));
        Assert.Equal(Conditions.False, first.Status.Find(WorkspaceStorageConditions.CredentialsRotating)!.Status);

        await h.Kube.ModifyAsync<WorkspaceStorageResource>(ScenarioHarness.Namespace, "rot", ws =>
            (ws.Metadata.Annotations ??= new Dictionary<string, string>())[ResourceMetadata.RotateAnnotation] = "2026-11-23T01");
        var rotating = await h.WaitAsync("rot", ws => ws?.Status?.LastRotationRequest == "2026-11-23T01" && ws.Status.IsTrue(WorkspaceStorageConditions.CredentialsRotating),
            "rotation under way");
        var newKey = (await h.SecretKeyAsync("rot-s3"));
        Assert.NotEqual(oldKey.AccessKeyId, newKey.AccessKeyId);
        Assert.Equal(newKey.AccessKeyId, rotating.Status!.AccessKeyId);
        Assert.Equal(oldKey.AccessKeyId, rotating.Status.PreviousAccessKeyId);
        Assert.NotNull(rotating.Status.PreviousKeyRevokeAfter);
        Assert.True(rotating.Status.CredentialsRotatedAt >= first.Status!.CredentialsRotatedAt); // whole seconds
        Assert.True(ScenarioHarness.IsReady(rotating));

        // Both keys work during the grace period.
        Assert.Equal(HttpStatusCode.OK, await h.PutAsync(newKey, workspace.Prefix + "new.txt"));
        Assert.Equal(HttpStatusCode.OK, await h.PutAsync(oldKey, workspace.Prefix + "old.txt"));

        var done = await h.WaitAsync("rot", ws => ws?.Status is { PreviousAccessKeyId: null } s && s.Find(WorkspaceStorageConditions.CredentialsRotating)?.Status == Conditions.False,
            "grace period over, condition cleared", TimeSpan.FromSeconds(20));
        Assert.Null(done.Status!.PreviousKeyRevokeAfter);
        Assert.Equal(HttpStatusCode.Forbidden, await h.GetAsync(oldKey, workspace.Prefix + "new.txt"));
        Assert.Equal(HttpStatusCode.OK, await h.GetAsync(newKey, workspace.Prefix + "old.txt"));
        var events = (await h.Kube.ObjectsAsync<Corev1Event>(ScenarioHarness.Namespace));
        Assert.Contains(events, e => e.Reason == "KeyRotated");
        Assert.Contains(events, e => e.Reason == "KeyRevoked" && e.Message.Contains(oldKey.AccessKeyId, StringComparison.Ordinal));
        Assert.Equal([newKey.AccessKeyId], await (await h.DirectBackendAsync()).ListKeysAsync(workspace, Ct));
    }

    [Fact]
    public async Task S11_Invalid_specs_stall_with_the_field_named_and_make_no_backend_call()
    {
        await using var h = await ScenarioHarness.CreateAsync();
        await h.Stores.StorageBackends.CreateAsync(h.NewBackend("no-admin-secret", h.Rgw.Endpoint.ToString(), adminSecret: "missing"), Ct);
        h.StartOperator();
        var good = h.NewWorkspace();
        // A bad id never reaches the operator: the CRD's own schema refuses it (the rule's message, the field named).
        var refused = await Assert.ThrowsAsync<ResourceRejectedException>(() => h.CreateStorageAsync("bad-id", h.Spec(good) with { Workspace = "Bad_Workspace" }));
        Assert.Equal(422, refused.StatusCode);
        Assert.Contains("spec.workspace in body should match '^[a-z0-9|-]+$'", refused.Message, StringComparison.Ordinal);
        // What only the operator can know: this operator runs without a default backend, so backendRef is required.
        await h.CreateStorageAsync("bad-id", h.Spec(good) with { BackendRef = null });
        await h.CreateStorageAsync("no-backend", h.Spec(good) with { BackendRef = new BackendReference { Name = "does-not-exist" } });
        await h.CreateStorageAsync("no-secret", h.Spec(good) with { BackendRef = new BackendReference { Name = "no-admin-secret" } });

        static Func<WorkspaceStorageResource?, bool> StalledOn(string reason) =>
            ws => ws?.Status.Find(ConditionTypes.Stalled) is { Status: Conditions.True } c && c.Reason == reason && ws.Status!.ObservedGeneration == ws.Metadata.Generation;

        var badId = await h.WaitAsync("bad-id", StalledOn(ConditionReasons.InvalidSpec), "Stalled InvalidSpec");
        Assert.Equal("spec.backendRef: is required: the operator runs without a default backend", badId.Status.Find(ConditionTypes.Stalled)!.Message);
        Assert.Equal(Conditions.False, badId.Status.Find(ConditionTypes.Ready)!.Status);
        Assert.Null(badId.Metadata.Finalizers);

        var noBackend = await h.WaitAsync("no-backend", StalledOn(ConditionReasons.BackendNotFound), "Stalled BackendNotFound");
        Assert.Equal("spec.backendRef.name: StorageBackend \"does-not-exist\" not found", noBackend.Status.Find(ConditionTypes.Stalled)!.Message);

        var noSecret = await h.WaitAsync("no-secret", StalledOn(ConditionReasons.BackendNotReady), "Stalled BackendNotReady");
        var message = noSecret.Status.Find(ConditionTypes.Stalled)!.Message;
        Assert.StartsWith("spec.backendRef.name:", message, StringComparison.Ordinal);
        Assert.Contains("spec.adminCredentialsSecretRef", message, StringComparison.Ordinal);
        Assert.Contains("wso-system/missing", message, StringComparison.Ordinal);

        // Let the StorageBackend controller finish too, then check: nobody touched the backend for these three.
        await WaitBackendAsync(h, b => b?.Status.IsTrue(ConditionTypes.Ready) == true);
        // The only calls are the StorageBackend controller's own checks of the healthy backend (bucket, admin health, bucket CORS).
        var calls = h.BackendCalls.Calls;
        string[] backendChecks = ["HeadBucket", "CreateBucket", "get-user-by-key", "GetBucketCors", "PutBucketCors"];
        Assert.All(calls, c => Assert.Contains(c.Operation, backendChecks));
        Assert.Empty(await (await h.DirectBackendAsync()).ListKeysAsync(good, Ct));
        Assert.Contains((await h.Kube.ObjectsAsync<Corev1Event>(ScenarioHarness.Namespace)), e => e.Reason == ConditionReasons.InvalidSpec && e.Type == "Warning");
    }

    [Fact]
    public async Task S11b_Invalid_specs_with_a_fresh_reconciler_make_zero_backend_calls()
    {
        await using var h = await ScenarioHarness.CreateAsync();
        var good = h.NewWorkspace();
        var refused = await Assert.ThrowsAsync<ResourceRejectedException>(() => h.CreateStorageAsync("bad-id", h.Spec(good) with { Workspace = "etc" }));
        Assert.Contains("must contain a hyphen (names without one, such as 'etc', are reserved)", refused.Message, StringComparison.Ordinal);
        await h.CreateStorageAsync("bad-id", h.Spec(good) with { BackendRef = null });
        await h.CreateStorageAsync("no-backend", h.Spec(good) with { BackendRef = new BackendReference { Name = "does-not-exist" } });
        var reconciler = h.NewReconciler();
        await ScenarioHarness.ReconcileOnceAsync(reconciler, "bad-id");
        await ScenarioHarness.ReconcileOnceAsync(reconciler, "no-backend");
        Assert.Empty(h.BackendCalls.Calls);
        Assert.True((await h.GetAsync("bad-id"))!.Status.IsTrue(ConditionTypes.Stalled));
        Assert.True((await h.GetAsync("no-backend"))!.Status.IsTrue(ConditionTypes.Stalled));

        // A backendRef typo must not block deletion: nothing was made, so it gets no finalizer (the claim ceiling, read
        // from the StorageBackend, comes before the finalizer) and goes at once.
        Assert.DoesNotContain(ResourceMetadata.Finalizer, (await h.GetAsync("no-backend"))!.Metadata.Finalizers ?? []);
        await h.Stores.WorkspaceStorages.DeleteAsync(new ResourceKey(ScenarioHarness.Namespace, "no-backend"), Ct);
        Assert.Null((await h.GetAsync("no-backend")));
        Assert.Empty(h.BackendCalls.Calls);
    }

    [Fact]
    public async Task S13_The_operators_own_writes_set_off_no_second_reconcile_but_a_users_edit_just_after_Ready_is_repaired()
    {
        await using var h = await ScenarioHarness.CreateAsync();
        h.StartOperator();
        // The StorageBackend's first Ready re-reconciles its users that are not Ready yet: let that pass first.
        await WaitBackendAsync(h, b => b?.Status?.IsTrue(ConditionTypes.Ready) == true);
        var workspace = h.NewWorkspace();
        h.BackendCalls.Reset();
        await h.CreateStorageAsync("echo", h.Spec(workspace));
        await h.WaitReadyAsync("echo");

        // The finalizer, Secret and status writes each come back as a watch event. Without telling those echoes apart
        // they reconcile the object once more: a second pass of reads (on RGW, a second GetRole among eight) that
        // finds nothing to do. The fence: a second WorkspaceStorage, created after echo's echoes were sent, made Ready.
        // Its reconciles queue behind them, so by then a second pass of echo would have read RGW: two GetRole in all.
        await FenceAsync(h);
        var calls = h.BackendCalls.Calls.Select(c => c.Operation).ToList();
        Assert.True(calls.Count(c => c == "GetRole") == 2, $"not one reconcile pass each for echo and the fence: {string.Join(", ", calls)}");

        // Someone else's write to the same Secret is not an echo: it is reconciled, and the field comes back.
        var secret = (await h.SecretAsync("echo-s3"))!;
        Assert.True(secret.Data.Remove(CredentialSecretLayout.S3Prefix));
        await h.Stores.Secrets.ReplaceAsync(secret, Ct);
        await Eventually.TrueAsync(async _ => (await h.SecretAsync("echo-s3"))?.Data?.ContainsKey(CredentialSecretLayout.S3Prefix) == true, "the Secret edited by hand to be repaired");

        Assert.Equal(workspace.Prefix, System.Text.Encoding.UTF8.GetString((await h.SecretAsync("echo-s3"))!.Data[CredentialSecretLayout.S3Prefix]));
    }

    [Fact]
    public async Task S14_A_StorageBackend_status_change_reconciles_only_its_users_that_are_not_Ready_a_spec_change_all_of_them()
    {
        await using var h = await ScenarioHarness.CreateAsync();
        await h.Stores.Secrets.CreateAsync(new V1Secret
        {
            Metadata = new V1ObjectMeta { Name = "blocked-s3", NamespaceProperty = ScenarioHarness.Namespace },
            Data = new Dictionary<string, byte[]> { ["password"] = System.Text.Encoding.UTF8.GetBytes("hunter2") },
        }, Ct);
        h.StartOperator();
        await WaitBackendAsync(h, b => b?.Status?.IsTrue(ConditionTypes.Ready) == true);
        await h.CreateStorageAsync("ready", h.Spec(h.NewWorkspace()));
        await h.CreateStorageAsync("blocked", h.Spec(h.NewWorkspace()));
        await h.WaitReadyAsync("ready");
        await h.WaitAsync("blocked", ws => ws?.Status.Find(ConditionTypes.Stalled)?.Reason == ConditionReasons.SecretConflict, "Stalled SecretConflict");
        await FenceAsync(h); // the echoes of ready's and blocked's own writes have been handled

        // Status only, as when the backend's health check fails for a moment: the user that is not Ready is looked at
        // again (a reconcile starts with a read of the object); the Ready ones are not (they would read RGW: GetRole).
        // The fence: one more WorkspaceStorage, refused its Secret name before any backend call, settled after blocked
        // was read; a reconcile of the Ready ones, enqueued with blocked's, would have read RGW before then. (A fence
        // made Ready would add GetRoles of its own, once or twice as its writes' echoes race: no exact count then.)
        h.BackendCalls.Reset();
        h.Kube.ResetRequestCounts();
        await h.Kube.ModifyStatusAsync<StorageBackendResource>(null, h.BackendName, b => b.Status!.Conditions[0].Message = "flickered");
        await Eventually.TrueAsync(() => h.Kube.RequestCount("get", KubeResources.WorkspaceStorages) >= 1, "the WorkspaceStorage that is not Ready to be reconciled");
        await h.Stores.Secrets.CreateAsync(new V1Secret
        {
            Metadata = new V1ObjectMeta { Name = "fence-s3", NamespaceProperty = ScenarioHarness.Namespace },
            Data = new Dictionary<string, byte[]> { ["password"] = System.Text.Encoding.UTF8.GetBytes("not ours") },
        }, Ct);
        await h.CreateStorageAsync("fence", h.Spec(h.NewWorkspace()));
        await h.WaitAsync("fence", ws => ws?.Status.Find(ConditionTypes.Stalled)?.Reason == ConditionReasons.SecretConflict, "Stalled SecretConflict");
        Assert.DoesNotContain(h.BackendCalls.Calls, c => c.Operation == "GetRole");

        // A new spec concerns every user: the Ready one's Secret follows the new public endpoint.
        await h.Kube.ModifyAsync<StorageBackendResource>(null, h.BackendName, b => b.Spec = b.Spec with { PublicEndpoint = "https://s3.example.test/" });
        await Eventually.TrueAsync(async _ => (await h.SecretAsync("ready-s3"))?.Data is { } data
            && System.Text.Encoding.UTF8.GetString(data[CredentialSecretLayout.AwsEndpointUrl]).TrimEnd('/') == "https://s3.example.test",
            "the Ready WorkspaceStorage to follow the StorageBackend's new spec");
    }

    [Fact]
    public async Task S12_Two_hundred_converge_and_a_full_resync_writes_nothing()
    {
        const int count = 200;
        await using var h = await ScenarioHarness.CreateAsync();
        var started = System.Diagnostics.Stopwatch.StartNew();
        h.StartOperator(resync: TimeSpan.FromMinutes(10), workers: 8);
        var names = Enumerable.Range(0, count).Select(i => $"ws{i:D3}").ToList();
        await Parallel.ForEachAsync(names, new ParallelOptions { MaxDegreeOfParallelism = 8, CancellationToken = Ct },
            async (name, _) => await h.CreateStorageAsync(name, h.Spec(h.NewWorkspace("s"))));

        await Eventually.ValueAsync(async _ => (await h.Kube.ObjectsAsync<WorkspaceStorageResource>(ScenarioHarness.Namespace)).Count(ScenarioHarness.IsReady), ready => ready == count,
            $"{count} Ready", TimeSpan.FromSeconds(120));

        var converge = started.Elapsed;
        await h.StopOperatorAsync(); // waits for the reconciles in flight (their event writes), so none lands in the resync's counts
        var firstPass = h.BackendCalls.Calls;
        var firstWrites = firstPass.Count(c => c.IsWrite);

        // One full resync, as the informer's periodic resync does it: every key through the operator's own reconciler
        // (same backend cache and informer cache), 8 at a time. Driven directly so exactly one pass is counted.
        h.BackendCalls.Reset();
        h.Kube.ResetRequestCounts();
        var resyncTime = System.Diagnostics.Stopwatch.StartNew();
        var outcomes = new System.Collections.Concurrent.ConcurrentBag<ReconcileOutcome>();
        await Parallel.ForEachAsync(names, new ParallelOptions { MaxDegreeOfParallelism = 8, CancellationToken = Ct },
            async (name, _) => outcomes.Add((await ScenarioHarness.ReconcileOnceAsync(h.Host!.WorkspaceStorageReconciler, name)).Outcome));
        resyncTime.Stop();
        var resyncCalls = h.BackendCalls.Calls;
        var statusWrites = h.Kube.RequestCount("update", KubeResources.WorkspaceStorages, "status");
        var objectWrites = h.Kube.WriteCount(KubeResources.WorkspaceStorages);
        var secretWrites = h.Kube.WriteCount(KubeResources.Secrets);
        var eventWrites = h.Kube.WriteCount(KubeResources.CoreEvents);

        var figures = $"S12: {count} WorkspaceStorages Ready in {converge.TotalSeconds:F1} s; first pass {firstPass.Count} backend calls " +
            $"({firstPass.Count / (double)count:F1}/workspace, {firstWrites / (double)count:F1} writes/workspace); " +
            $"resync pass in {resyncTime.Elapsed.TotalSeconds:F1} s: {resyncCalls.Count} backend calls ({resyncCalls.Count / (double)count:F1}/workspace, " +
            $"{resyncCalls.Count(c => c.IsWrite)} writes), {statusWrites} status writes, {objectWrites} WorkspaceStorage writes, {secretWrites} Secret writes, " +
            $"{eventWrites} event writes, {h.Kube.TotalRequestCount} API requests";
        TestContext.Current.TestOutputHelper?.WriteLine(figures);
        await File.AppendAllTextAsync(Path.Combine(Path.GetTempPath(), "wso-s12-figures.txt"), $"{DateTime.UtcNow:O} {figures}\n", Ct);

        Assert.All(outcomes, o => Assert.Equal(ReconcileOutcome.Done, o));
        Assert.Equal(count, outcomes.Count);
        Assert.DoesNotContain(resyncCalls, c => c.IsWrite);
        Assert.Equal(0, objectWrites);
        Assert.Equal(0, secretWrites);
        Assert.Equal(0, eventWrites);
        Assert.Equal(0, h.Host!.Resolver.InstancesBuilt - 1); // one backend client, built once
    }

    private static Task<StorageBackendResource> WaitBackendAsync(ScenarioHarness h, Func<StorageBackendResource?, bool> condition) =>
        h.WaitBackendAsync(h.BackendName, condition, "the expected status");

    /// <summary>
    /// A fence for "nothing else happened": a new WorkspaceStorage, created now and waited Ready. Its watch events and
    /// queue items come after everything the operator was told before, so work those would cause has been done by then.
    /// </summary>
    private static async Task FenceAsync(ScenarioHarness h)
    {
        var name = "fence-" + Guid.NewGuid().ToString("N")[..6];
        await h.CreateStorageAsync(name, h.Spec(h.NewWorkspace()));
        await h.WaitReadyAsync(name);
    }

    /// <summary>A backend whose process "dies" right after EnsureKey succeeds.</summary>
    private sealed class CrashAfterEnsureKey(IStorageBackend inner) : ForwardingBackend(inner)
    {
        public override async Task<EnsureOutcome> EnsureKeyAsync(WorkspaceId workspace, AwsCredentials key, CancellationToken cancellationToken)
        {
            await base.EnsureKeyAsync(workspace, key, cancellationToken);
            throw new OperationCanceledException("process killed");
        }
    }
}
