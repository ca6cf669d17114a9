using System.Net;
using k8s.Models;
using WorkspaceStorage.Core.Model;
using WorkspaceStorage.Resources;
using WorkspaceStorage.Kubernetes.Runtime;
using WorkspaceStorage.Testing.Support;

namespace WorkspaceStorage.Operator.Tests.Scenarios;

/// <summary>
/// Many teams, one cluster, on the real API server and the real RGW with the operator running: a StorageBackend's
/// claim ceiling (spec.allowedClaims) decides which namespace may claim which workspace, whatever a tenant writes into
/// its own WorkspaceStorage, and a claim outside it gets no identity, no key and can delete nothing.
/// </summary>
public sealed class ClaimCeilingScenarios
{
    private const string OnDemandNamespace = "workspace-storage-on-demand";
    private const string TeamB = "team-b";
    private static CancellationToken Ct => TestContext.Current.CancellationToken;

    private static Func<WorkspaceStorageResource?, bool> StalledOn(string reason) =>
        ws => ws?.Status.Find(ConditionTypes.Stalled) is { Status: Conditions.True } c && c.Reason == reason;

    /// <summary>A world whose StorageBackend lets team-a claim ws-team-a-* and the on-demand namespace ws-user-*, nothing else.</summary>
    private static async Task<ScenarioHarness> MultiTenantAsync(params AllowedClaim[] claims)
    {
        var h = await ScenarioHarness.CreateAsync();
        await h.Kube.EnsureNamespaceAsync(OnDemandNamespace);
        await h.Kube.EnsureNamespaceAsync(TeamB);
        await SetCeilingAsync(h, claims.Length > 0 ? claims :
        [
            new AllowedClaim { Namespaces = [ScenarioHarness.Namespace], Workspaces = ["ws-team-a-*"] },
            new AllowedClaim { Namespaces = [OnDemandNamespace], Workspaces = ["ws-user-*"] },
        ]);
        return h;
    }

    private static Task SetCeilingAsync(ScenarioHarness h, AllowedClaim[] claims) =>
        h.Kube.ModifyAsync<StorageBackendResource>(null, h.BackendName, b => b.Spec = b.Spec with { AllowedClaims = claims, AllowClaimsFromAnyNamespace = false });

    private static Task<WorkspaceStorageResource> CreateInAsync(ScenarioHarness h, string @namespace, string name, WorkspaceStorageSpec spec) =>
        h.Stores.WorkspaceStorages.CreateAsync(new WorkspaceStorageResource { Metadata = new V1ObjectMeta { Name = name, NamespaceProperty = @namespace }, Spec = spec }, Ct);

    private static async Task<WorkspaceStorageResource> WaitInAsync(ScenarioHarness h, string @namespace, string name, Func<WorkspaceStorageResource?, bool> condition, string what) =>
        (await Eventually.ValueAsync(_ => h.Kube.GetAsync<WorkspaceStorageResource>(@namespace, name), condition, $"{@namespace}/{name}: {what}", null,
            ScenarioHarness.DescribeConditions))!;

    private static async Task<Core.Signing.AwsCredentials> KeyInAsync(ScenarioHarness h, string @namespace, string secret) =>
        Core.Credentials.CredentialSecretLayout.ReadCredentials((await h.Kube.GetAsync<V1Secret>(@namespace, secret))?.Data)
        ?? throw new InvalidOperationException($"Secret {@namespace}/{secret} holds no key");

    [Fact]
    public async Task A_tenant_squatting_a_Hypha_users_workspace_is_refused_holds_no_key_and_its_deletion_with_Delete_touches_no_data()
    {
        await using var h = await MultiTenantAsync();
        h.StartOperator();
        var user = h.NewWorkspace("user-github-");
        Assert.StartsWith("ws-user-", user.Value, StringComparison.Ordinal);

        // team-a claims the user's workspace before the user's first call, asking for its data to be deleted with it.
        await h.CreateStorageAsync("squat", h.Spec(user, deletion: DeletionPolicy.Delete));
        var refused = await h.WaitAsync("squat", StalledOn(ConditionReasons.ClaimNotAllowed), "Stalled ClaimNotAllowed");
        var stalled = refused.Status.Find(ConditionTypes.Stalled)!;
        Assert.Equal($"spec.workspace: StorageBackend '{h.BackendName}' spec.allowedClaims lets namespace 'team-a' claim only workspaces matching 'ws-team-a-*'; '{user}' matches none",
            stalled.Message);
        Assert.False(refused.Status.IsTrue(ConditionTypes.Ready));
        Assert.Null(refused.Status!.AccessKeyId);
        Assert.Null(await h.SecretAsync("squat-s3"));
        Assert.DoesNotContain(ResourceMetadata.Finalizer, refused.Metadata.Finalizers ?? []);
        Assert.False(await h.HasIdentityAsync(user));
        await Eventually.TrueAsync(async _ => (await h.Kube.ObjectsAsync<Corev1Event>(ScenarioHarness.Namespace))
            .Any(e => e.Reason == ConditionReasons.ClaimNotAllowed && e.Type == "Warning" && e.InvolvedObject.Name == "squat"), "a ClaimNotAllowed Warning event");

        // The user's own claim, made later in the on-demand namespace, is not kept out by the older squatter.
        await CreateInAsync(h, OnDemandNamespace, "home", h.Spec(user));
        var home = await WaitInAsync(h, OnDemandNamespace, "home", ScenarioHarness.IsReady, "Ready");
        var userKey = await KeyInAsync(h, OnDemandNamespace, "home-s3");
        Assert.Equal(HttpStatusCode.OK, await h.PutAsync(userKey, user.Prefix + "notes.txt", "the user's"));

        // The squatter is judged again (a resync, a ceiling change) and still holds nothing.
        await h.Kube.ModifyAsync<WorkspaceStorageResource>(ScenarioHarness.Namespace, "squat", ws => ws.Metadata.Annotations = new Dictionary<string, string> { ["poke"] = "1" });
        await h.Kube.ModifyAsync<WorkspaceStorageResource>(ScenarioHarness.Namespace, "squat", ws => ws.Spec = ws.Spec with { Access = WorkspaceAccess.ReadOnly });
        await h.WaitAsync("squat", ws => ws!.Status?.ObservedGeneration == ws.Metadata.Generation && StalledOn(ConditionReasons.ClaimNotAllowed)(ws), "refused again");
        Assert.Null(await h.SecretAsync("squat-s3"));
        Assert.Equal([userKey.AccessKeyId], await (await h.DirectBackendAsync()).ListKeysAsync(user, Ct));

        // Deleted with deletionPolicy Delete: the user's data, identity and key are untouched.
        await h.Stores.WorkspaceStorages.DeleteAsync(new ResourceKey(ScenarioHarness.Namespace, "squat"), Ct);
        await h.WaitAsync("squat", ws => ws is null, "gone");
        Assert.Equal([user.Prefix + "notes.txt"], await h.KeysAsAdminAsync(user.Prefix));
        Assert.Equal(HttpStatusCode.OK, await h.GetAsync(userKey, user.Prefix + "notes.txt"));
        Assert.True(ScenarioHarness.IsReady(await h.Kube.GetAsync<WorkspaceStorageResource>(OnDemandNamespace, "home")));
        Assert.Equal(home.Status!.AccessKeyId, userKey.AccessKeyId);
    }

    /// <summary>
    /// With RBAC on, as a tenant is set up in docs/deploy.md: team-a's service account holds config/rbac's tenant
    /// ClusterRole through a RoleBinding in team-a. It may write a WorkspaceStorage for any workspace id (RBAC cannot
    /// limit field values), but it cannot raise its own ceiling, make a StorageBackend of its own or touch team-b; the
    /// operator refuses its squat and the tenant can read why.
    /// </summary>
    [Fact]
    public async Task A_tenant_with_the_tenant_role_may_write_a_claim_but_not_its_ceiling_and_its_squat_is_refused()
    {
        await using var h = await MultiTenantAsync();
        var server = h.Kube.Server;
        await server.KubectlOkAsync(["apply", "-f", "config/rbac/tenant_role.yaml"]);
        await server.KubectlOkAsync(["create", "rolebinding", "tenant", "-n", ScenarioHarness.Namespace, "--clusterrole=tenant",
            $"--serviceaccount={ScenarioHarness.Namespace}:tenant"]);
        var tenant = server.ServiceAccountKubeconfig(ScenarioHarness.Namespace, "tenant");
        // The authorizer reads RBAC objects from an informer: allowed once it has seen the binding.
        await Eventually.ValueAsync(_ => server.KubectlAsync(["get", "workspacestorages", "-n", ScenarioHarness.Namespace], tenant),
            outcome => outcome.ExitCode == 0, "the tenant's RoleBinding in force", TimeSpan.FromSeconds(10), outcome => outcome.Output + outcome.Error);
        h.StartOperator();
        var user = h.NewWorkspace("user-github-");

        var squat = Path.Combine(Path.GetTempPath(), $"squat-{Guid.NewGuid():N}.yaml");
        await File.WriteAllTextAsync(squat, $$"""
            apiVersion: workspacestorage.hypha.amun.ai/v1alpha1
            kind: WorkspaceStorage
            metadata: {name: squat, namespace: {{ScenarioHarness.Namespace}}}
            spec: {workspace: "{{user}}", backendRef: {name: {{h.BackendName}}}, deletionPolicy: Delete}
            """, Ct);
        try
        {
            Assert.Equal(0, (await server.KubectlAsync(["apply", "-f", squat], tenant)).ExitCode);
        }
        finally
        {
            File.Delete(squat);
        }

        foreach (var (what, arguments) in new (string, string[])[]
                 {
                     ("raise its ceiling", ["patch", "storagebackend", h.BackendName, "--type=merge", "-p", """{"spec":{"allowClaimsFromAnyNamespace":true}}"""]),
                     ("make a StorageBackend", ["create", "-f", "config/samples/storagebackend_local_ceph.yaml"]),
                     ("read another team's claims", ["get", "workspacestorages", "-n", TeamB]),
                     ("read Secrets", ["get", "secrets", "-n", ScenarioHarness.Namespace]),
                 })
        {
            var denied = await server.KubectlAsync(arguments, tenant);
            Assert.True(denied.ExitCode != 0 && denied.Error.Contains("Forbidden", StringComparison.Ordinal), $"the tenant could {what}: {denied.Output}{denied.Error}");
        }

        await h.WaitAsync("squat", StalledOn(ConditionReasons.ClaimNotAllowed), "Stalled ClaimNotAllowed");
        var seen = await server.KubectlAsync(["get", "workspacestorage", "squat", "-n", ScenarioHarness.Namespace,
            "-o", "jsonpath={.status.conditions[?(@.type=='Stalled')].message}"], tenant);
        Assert.Contains("spec.allowedClaims", seen.Output, StringComparison.Ordinal);
        Assert.False(await h.HasIdentityAsync(user));
        Assert.Null(await h.SecretAsync("squat-s3"));
        Assert.False((await h.Kube.GetAsync<StorageBackendResource>(null, h.BackendName))!.Spec.AllowClaimsFromAnyNamespace);
    }

    [Fact]
    public async Task A_claim_the_admin_moves_to_another_namespace_rotates_the_key_and_the_old_holder_loses_access_but_no_data()
    {
        await using var h = await MultiTenantAsync(new AllowedClaim { Namespaces = [ScenarioHarness.Namespace], Workspaces = ["ws-team-*"] });
        h.StartOperator();
        var workspace = h.NewWorkspace("team-shared-");
        await h.CreateStorageAsync("old", h.Spec(workspace, deletion: DeletionPolicy.Delete));
        await h.WaitReadyAsync("old");
        var oldKey = await h.SecretKeyAsync("old-s3");
        Assert.Equal(HttpStatusCode.OK, await h.PutAsync(oldKey, workspace.Prefix + "report.txt", "kept"));

        // team-b asks for it while team-b may not: refused, not merely queued behind the holder.
        await CreateInAsync(h, TeamB, "new", h.Spec(workspace));
        await WaitInAsync(h, TeamB, "new", StalledOn(ConditionReasons.ClaimNotAllowed), "Stalled ClaimNotAllowed");

        // The admin moves the workspace: team-b may claim it, team-a no longer.
        await SetCeilingAsync(h, [new AllowedClaim { Namespaces = [TeamB], Workspaces = ["ws-team-*"] }]);
        await WaitInAsync(h, TeamB, "new", ScenarioHarness.IsReady, "Ready");
        var old = await h.WaitAsync("old", StalledOn(ConditionReasons.ClaimNotAllowed), "Stalled ClaimNotAllowed");
        Assert.Null(old.Status!.AccessKeyId);
        await Eventually.TrueAsync(async _ => await h.SecretAsync("old-s3") is null, "the old holder's Secret deleted");
        var newKey = await KeyInAsync(h, TeamB, "new-s3");
        Assert.NotEqual(oldKey.AccessKeyId, newKey.AccessKeyId);
        await Eventually.TrueAsync(async _ => await h.GetAsync(oldKey, workspace.Prefix + "report.txt") == HttpStatusCode.Forbidden, "the old key refused");
        Assert.Equal(HttpStatusCode.OK, await h.GetAsync(newKey, workspace.Prefix + "report.txt"));
        Assert.Equal([newKey.AccessKeyId], await (await h.DirectBackendAsync()).ListKeysAsync(workspace, Ct));

        // The old holder, deleted with deletionPolicy Delete, deletes nothing of the workspace it no longer may hold.
        await h.Stores.WorkspaceStorages.DeleteAsync(new ResourceKey(ScenarioHarness.Namespace, "old"), Ct);
        await h.WaitAsync("old", ws => ws is null, "finalized and gone");
        Assert.Equal([workspace.Prefix + "report.txt"], await h.KeysAsAdminAsync(workspace.Prefix));
        Assert.True(await h.HasIdentityAsync(workspace));
        Assert.Equal(HttpStatusCode.OK, await h.PutAsync(newKey, workspace.Prefix + "after.txt"));
    }

    [Fact]
    public async Task A_namespace_label_selector_admits_by_label_and_a_label_removed_revokes()
    {
        await using var h = await MultiTenantAsync(new AllowedClaim
        {
            NamespaceSelector = new NamespaceSelector { MatchLabels = new Dictionary<string, string> { ["tenant"] = "b" } },
            Workspaces = ["ws-team-b-*"],
        });
        h.StartOperator();
        var workspace = h.NewWorkspace("team-b-");
        await CreateInAsync(h, TeamB, "labelled", h.Spec(workspace));
        await WaitInAsync(h, TeamB, "labelled", StalledOn(ConditionReasons.ClaimNotAllowed), "refused while unlabelled");

        await h.Kube.ModifyAsync<V1Namespace>(null, TeamB, ns => ns.Metadata.Labels = new Dictionary<string, string> { ["tenant"] = "b" });
        await WaitInAsync(h, TeamB, "labelled", ScenarioHarness.IsReady, "Ready once labelled");
        var key = await KeyInAsync(h, TeamB, "labelled-s3");
        Assert.Equal(HttpStatusCode.OK, await h.PutAsync(key, workspace.Prefix + "x.txt"));

        await h.Kube.ModifyAsync<V1Namespace>(null, TeamB, ns => ns.Metadata.Labels = new Dictionary<string, string> { ["tenant"] = "bb" });
        await WaitInAsync(h, TeamB, "labelled", StalledOn(ConditionReasons.ClaimNotAllowed), "refused once the label changed");
        await Eventually.TrueAsync(async _ => await h.PutAsync(key, workspace.Prefix + "y.txt") == HttpStatusCode.Forbidden, "the key revoked");
    }

    [Fact]
    public async Task A_WorkspaceStorage_that_never_held_its_workspace_deletes_nothing_whatever_its_deletionPolicy()
    {
        await using var h = await ScenarioHarness.CreateAsync(); // every namespace may claim: only "never held" guards here
        var workspace = h.NewWorkspace();
        // Data left under the prefix by an earlier holder (deletionPolicy Retain), with no holder now.
        await h.DirectBackendAsync(); // the bucket
        await h.PutAsAdminAsync(workspace.Prefix + "retained.txt");
        // Its Secret name is taken, so it is stalled before it makes anything on the backend, but has the finalizer.
        await h.Stores.Secrets.CreateAsync(new V1Secret { Metadata = new V1ObjectMeta { Name = "late-s3", NamespaceProperty = ScenarioHarness.Namespace } }, Ct);
        h.StartOperator();
        await h.CreateStorageAsync("late", h.Spec(workspace, deletion: DeletionPolicy.Delete));
        var stalled = await h.WaitAsync("late", StalledOn(ConditionReasons.SecretConflict), "Stalled SecretConflict");
        Assert.Contains(ResourceMetadata.Finalizer, stalled.Metadata.Finalizers);

        await h.Stores.WorkspaceStorages.DeleteAsync(new ResourceKey(ScenarioHarness.Namespace, "late"), Ct);
        await h.WaitAsync("late", ws => ws is null, "finalized and gone");
        Assert.Equal([workspace.Prefix + "retained.txt"], await h.KeysAsAdminAsync(workspace.Prefix));
        // Events are written after the finalizer is removed, so wait for it rather than read once.
        await Eventually.TrueAsync(async _ => (await h.Kube.ObjectsAsync<Corev1Event>(ScenarioHarness.Namespace)).Any(
            e => e.Reason == "Deleted" && e.InvolvedObject.Name == "late" && e.Message.Contains("never held", StringComparison.Ordinal)), "the Deleted event says it never held the workspace");
    }
}
