using System.Net;
using System.Text;
using Microsoft.Extensions.Time.Testing;
using WorkspaceStorage.Core.Model;
using WorkspaceStorage.Operator.Hosting;
using WorkspaceStorage.Operator.Reconciliation;
using WorkspaceStorage.Resources;

namespace WorkspaceStorage.Operator.Tests.Scenarios;

/// <summary>
/// Workspace quotas on the real API server and the real Ceph RGW. RGW's own user quota cannot do this (it charges the
/// bucket's owner, the admin, not the workspace user), so the operator narrows the identity's policy at the quota and
/// RGW itself refuses the put (403); these scenarios prove that end to end, one reconcile at a time, with a clock of
/// their own for the usage period.
/// </summary>
public sealed class QuotaScenarios
{
    private static CancellationToken Ct => TestContext.Current.CancellationToken;

    private static readonly WorkspaceStorageReconcilerOptions Options = new() { Usage = new UsageReaderOptions { Period = TimeSpan.FromMinutes(5) } };

    private static Task SetBackendQuotaAsync(ScenarioHarness h, BackendQuotaSpec quota) =>
        h.Kube.ModifyAsync<StorageBackendResource>(null, h.BackendName, b => b.Spec = b.Spec with { Quota = quota });

    [Fact]
    public async Task A_workspace_over_its_quota_is_refused_by_rgw_and_raising_the_quota_within_the_ceiling_lets_the_upload_through()
    {
        await using var h = await ScenarioHarness.CreateAsync();
        await SetBackendQuotaAsync(h, new BackendQuotaSpec { Ceiling = new QuotaSpec { MaxSize = "1Mi", MaxObjects = 100 } });
        var time = new FakeTimeProvider(DateTimeOffset.UtcNow);
        var reconciler = h.NewReconciler(options: Options, time: time);
        var workspace = h.NewWorkspace("quota-");
        await h.CreateStorageAsync("quota", h.Spec(workspace) with { Quota = new QuotaSpec { MaxSize = "1000" } });

        await ScenarioHarness.ReconcileOnceAsync(reconciler, "quota");
        var ready = await h.WaitReadyAsync("quota");
        Assert.Equal(new WorkspaceQuotaStatus { MaxBytes = 1000, MaxObjects = 100 }, ready.Status!.Quota); // maxObjects from the ceiling
        Assert.Equal(0, ready.Status.Usage!.Bytes);
        Assert.Equal(Conditions.False, ready.Status.Find(WorkspaceStorageConditions.QuotaExceeded)?.Status);
        var key = await h.SecretKeyAsync(ready.Status.SecretName!);

        // Under the quota when last measured: RGW takes a write that goes over it (the quota is checked per period).
        Assert.Equal(HttpStatusCode.OK, await h.PutAsync(key, workspace.Prefix + "big", new string('x', 3000)));
        Assert.Equal(1, reconciler.Usage.Reads);

        // Within the period nothing is listed again.
        await ScenarioHarness.ReconcileOnceAsync(reconciler, "quota");
        Assert.Equal(1, reconciler.Usage.Reads);

        time.Advance(TimeSpan.FromMinutes(5));
        await ScenarioHarness.ReconcileOnceAsync(reconciler, "quota");
        Assert.Equal(2, reconciler.Usage.Reads);
        var over = await h.WaitAsync("quota", ws => ws?.Status.IsTrue(WorkspaceStorageConditions.QuotaExceeded) == true, "QuotaExceeded=True");
        Assert.Equal(3000, over.Status!.Usage!.Bytes);
        Assert.Equal(1, over.Status.Usage.Objects);
        Assert.True(over.Status.Usage.Complete);
        Assert.Contains("3000 of 1000 bytes", over.Status.Find(WorkspaceStorageConditions.QuotaExceeded)!.Message, StringComparison.Ordinal);
        Assert.True(ScenarioHarness.IsReady(over), "an over-quota workspace stays Ready: it can still read and delete");

        // RGW itself refuses the next put; reading and deleting still work.
        Assert.Equal(HttpStatusCode.Forbidden, await h.PutAsync(key, workspace.Prefix + "more", "y"));
        Assert.Equal(HttpStatusCode.OK, await h.GetAsync(key, workspace.Prefix + "big"));

        // The gauges say so, per workspace.
        var metrics = new OperatorMetrics();
        var stored = (await h.GetAsync("quota"))!;
        metrics.CountWorkspacesFrom(() => [stored]);
        var text = await ExportAsync(metrics);
        Assert.Contains($"workspace_storage_usage_bytes{{namespace=\"{ScenarioHarness.Namespace}\",name=\"quota\",workspace=\"{workspace.Value}\"}} 3000", text, StringComparison.Ordinal);
        Assert.Contains($"workspace_storage_quota_bytes{{namespace=\"{ScenarioHarness.Namespace}\",name=\"quota\",workspace=\"{workspace.Value}\"}} 1000", text, StringComparison.Ordinal);
        Assert.Contains("workspace_storage_over_quota_workspaces 1", text, StringComparison.Ordinal);

        // The tenant raises its quota within the ceiling: no new listing is needed to restore put.
        await h.Kube.ModifyAsync<WorkspaceStorageResource>(ScenarioHarness.Namespace, "quota", ws => ws.Spec = ws.Spec with { Quota = new QuotaSpec { MaxSize = "1Mi" } });
        await ScenarioHarness.ReconcileOnceAsync(reconciler, "quota");
        var raised = await h.WaitAsync("quota", ws => ws?.Status.Find(WorkspaceStorageConditions.QuotaExceeded)?.Status == Conditions.False && ScenarioHarness.IsReady(ws),
            "QuotaExceeded=False after raising the quota");
        Assert.Equal(1L << 20, raised.Status!.Quota!.MaxBytes);
        Assert.Equal(2, reconciler.Usage.Reads);
        Assert.Equal(HttpStatusCode.OK, await h.PutAsync(key, workspace.Prefix + "more", "y"));
    }

    [Fact]
    public async Task A_quota_above_the_backends_ceiling_is_refused_and_nothing_is_made_on_rgw()
    {
        await using var h = await ScenarioHarness.CreateAsync();
        await SetBackendQuotaAsync(h, new BackendQuotaSpec { Ceiling = new QuotaSpec { MaxSize = "10Gi" } });
        var reconciler = h.NewReconciler(options: Options);
        var workspace = h.NewWorkspace("greedy-");
        await h.CreateStorageAsync("greedy", h.Spec(workspace) with { Quota = new QuotaSpec { MaxSize = "20Gi" } });

        await ScenarioHarness.ReconcileOnceAsync(reconciler, "greedy");

        var stalled = await h.WaitAsync("greedy", ws => ws?.Status.Find(ConditionTypes.Stalled) is { Status: Conditions.True }, "Stalled");
        var condition = stalled.Status.Find(ConditionTypes.Stalled)!;
        Assert.Equal(WorkspaceStorageConditions.QuotaAboveCeiling, condition.Reason);
        Assert.Contains("spec.quota.maxSize", condition.Message, StringComparison.Ordinal);
        Assert.Contains("spec.quota.ceiling.maxSize 10Gi; asked for 20Gi", condition.Message, StringComparison.Ordinal);
        Assert.False(await h.HasIdentityAsync(workspace), "a refused quota must not create an identity");
        Assert.Equal(0, reconciler.Usage.Reads);

        // Back within the ceiling, the same object becomes Ready.
        await h.Kube.ModifyAsync<WorkspaceStorageResource>(ScenarioHarness.Namespace, "greedy", ws => ws.Spec = ws.Spec with { Quota = new QuotaSpec { MaxSize = "10Gi" } });
        await ScenarioHarness.ReconcileOnceAsync(reconciler, "greedy");
        await h.WaitReadyAsync("greedy");
    }

    private static async Task<string> ExportAsync(OperatorMetrics metrics)
    {
        using var stream = new MemoryStream();
        await metrics.Registry.CollectAndExportAsTextAsync(stream, Ct);
        return Encoding.UTF8.GetString(stream.ToArray());
    }
}
