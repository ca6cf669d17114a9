using System.Net;
using System.Text.Json;
using WorkspaceStorage.Core.Credentials;
using WorkspaceStorage.Core.Model;
using WorkspaceStorage.Resources;
using WorkspaceStorage.Core.Workspaces;
using WorkspaceStorage.Testing.Kubernetes;

namespace WorkspaceStorage.EndToEnd.Tests.WholeSystem;

/// <summary>
/// On-demand provisioning with the real operator: the companion creates WorkspaceStorages on first use, the operator (in
/// this process, against the real API server) gives each an identity on the real RGW, and the calls are answered.
/// </summary>
public sealed class OnDemandSystemTests
{
    private const string OnDemandNamespace = "hypha-users";

    private static CancellationToken Ct => TestContext.Current.CancellationToken;

    [Fact]
    public async Task Fifty_new_users_at_once_get_fifty_Ready_objects_every_call_answered_and_no_orphaned_identity()
    {
        await using var cluster = await LocalCluster.StartAsync([OnDemandNamespace], Ct, maxConcurrentReconciles: 8);
        await using var companion = await CompanionHost.StartAsync(cluster, CompanionHost.OnDemandSettings(cluster, OnDemandNamespace), null, Ct);
        var tag = Guid.NewGuid().ToString("N")[..6];
        var users = Enumerable.Range(0, 50).Select(i => WorkspaceId.Parse($"ws-user-sys{tag}-{i}")).ToList();
        var before = (await new RgwInventory(cluster.Rgw).UserIdsAsync(Ct)).ToHashSet(StringComparer.Ordinal);

        var started = DateTime.UtcNow;
        var calls = users.Select(async user =>
        {
            using var request = new HttpRequestMessage(HttpMethod.Get, "/public/services/s3-storage/generate_credential");
            request.Headers.Authorization = new("Bearer", companion.Tokens.ForWorkspace(user.Value, "rw", userId: user.Value));
            using var response = await companion.Http.SendAsync(request, Ct);
            var body = await response.Content.ReadAsStringAsync(Ct);
            Assert.True(response.StatusCode == HttpStatusCode.OK, $"{user}: {(int)response.StatusCode} {body}");
            return JsonDocument.Parse(body).RootElement.Clone();
        }).ToList();
        var credentials = await Task.WhenAll(calls);
        var elapsed = DateTime.UtcNow - started;

        // Every call got credentials for its own prefix.
        for (var i = 0; i < users.Count; i++)
        {
            Assert.Equal(users[i].Prefix, credentials[i].GetProperty("prefix").GetString());
        }

        // Exactly one labelled, Ready object per user.
        var objects = await cluster.WorkspaceStoragesAsync(OnDemandNamespace);
        Assert.Equal(users.Count, objects.Count);
        Assert.All(objects, o => Assert.True(OnDemandWorkspaceStorage.IsOnDemand(o)));
        Assert.All(objects, o => Assert.True(o.Status?.IsTrue(ConditionTypes.Ready), $"{o.Metadata.Name} is Ready"));
        Assert.Equal(users.Select(u => u.Value).Order(), objects.Select(o => o.Spec.Workspace!).Order());

        // RGW holds one identity per user, no more, and each holds exactly the key its Secret names.
        using var rgw = new RgwInventory(cluster.Rgw);
        // Other tests share this RGW: count only this test's identities (its tag), all of them new.
        var added = (await rgw.UserIdsAsync(Ct)).Where(u => u.Contains($"sys{tag}-", StringComparison.Ordinal)).ToHashSet(StringComparer.Ordinal);
        Assert.DoesNotContain(added, before.Contains);
        Assert.Equal(users.Select(RgwInventory.IdentityOf).ToHashSet(StringComparer.Ordinal), added);
        foreach (var resource in objects)
        {
            var secret = await cluster.Kube.GetAsync<k8s.Models.V1Secret>(OnDemandNamespace, resource.Status!.SecretName!);
            var named = CredentialSecretLayout.ReadCredentials(secret!.Data)!.AccessKeyId;
            Assert.Equal([named], await rgw.KeysAsync(WorkspaceId.Parse(resource.Spec.Workspace!), Ct));
        }

        TestContext.Current.TestOutputHelper?.WriteLine($"50 first calls answered in {elapsed.TotalSeconds:0.0} s");
        Assert.Equal(users.Count, cluster.Kube.RequestCount("create", KubeResources.WorkspaceStorages));
    }
}
