using System.Net;
using System.Text.Json;
using Amazon.S3.Model;
using k8s.Models;
using WorkspaceStorage.Core.Model;
using WorkspaceStorage.Resources;
using WorkspaceStorage.Core.Signing;
using WorkspaceStorage.Core.Workspaces;
using WorkspaceStorage.Testing.Support;

namespace WorkspaceStorage.EndToEnd.Tests.WholeSystem;

/// <summary>
/// A tenant namespace squats a Hypha user's personal workspace before the user's first call, with the real operator, the
/// real companion (on-demand provisioning) and the real API server and RGW: the StorageBackend's claim ceiling refuses the
/// squat, the user's first call still gets storage, and the squatter's deletion with deletionPolicy Delete touches nothing.
/// </summary>
public sealed class SquattingSystemTests
{
    private const string OnDemandNamespace = "hypha-users";
    private const string Tenant = "team-a";

    private static CancellationToken Ct => TestContext.Current.CancellationToken;

    [Fact]
    public async Task A_tenant_squatting_a_users_workspace_is_refused_and_the_users_on_demand_storage_works()
    {
        await using var cluster = await LocalCluster.StartAsync([OnDemandNamespace, Tenant], Ct);
        await cluster.Kube.ModifyAsync<StorageBackendResource>(null, cluster.BackendName, b => b.Spec = b.Spec with
        {
            AllowClaimsFromAnyNamespace = false,
            AllowedClaims =
            [
                new AllowedClaim { Namespaces = [Tenant], Workspaces = ["ws-team-a-*"] },
                new AllowedClaim { Namespaces = [OnDemandNamespace], Workspaces = ["ws-user-*"] },
            ],
        });
        await using var companion = await CompanionHost.StartAsync(cluster, CompanionHost.OnDemandSettings(cluster, OnDemandNamespace), null, Ct);
        var user = WorkspaceId.Parse($"ws-user-github|{Guid.NewGuid().ToString("N")[..10]}");

        await cluster.Kube.SeedAsync(new WorkspaceStorageResource
        {
            Metadata = new V1ObjectMeta { Name = "squat", NamespaceProperty = Tenant },
            Spec = new WorkspaceStorageSpec
            {
                Workspace = user.Value,
                BackendRef = new BackendReference { Name = cluster.BackendName },
                DeletionPolicy = DeletionPolicy.Delete,
            },
        });
        var squat = await Eventually.ValueAsync(_ => cluster.Kube.GetAsync<WorkspaceStorageResource>(Tenant, "squat"),
            ws => ws?.Status.Find(ConditionTypes.Stalled) is { Status: Conditions.True, Reason: ConditionReasons.ClaimNotAllowed }, "the squat refused");
        Assert.Contains("spec.allowedClaims", squat!.Status.Find(ConditionTypes.Stalled)!.Message, StringComparison.Ordinal);
        Assert.Empty((await cluster.Kube.ObjectsAsync<V1Secret>(Tenant)));

        // The user's first call: storage on demand, in the on-demand namespace, despite the older squat.
        using var request = new HttpRequestMessage(HttpMethod.Get, "/public/services/s3-storage/generate_credential");
        request.Headers.Authorization = new("Bearer", companion.Tokens.ForWorkspace(user.Value, "rw", userId: user.Value));
        using var response = await companion.Http.SendAsync(request, Ct);
        var body = await response.Content.ReadAsStringAsync(Ct);
        Assert.True(response.StatusCode == HttpStatusCode.OK, $"{(int)response.StatusCode} {body}");
        var credential = JsonDocument.Parse(body).RootElement;
        Assert.Equal(user.Prefix, credential.GetProperty("prefix").GetString());
        var temporary = new AwsCredentials(credential.GetProperty("access_key_id").GetString()!, credential.GetProperty("secret_access_key").GetString()!,
            credential.GetProperty("session_token").GetString());
        using (var s3 = cluster.Rgw.CreateAwsS3Client(temporary))
        {
            await s3.PutObjectAsync(new PutObjectRequest { BucketName = cluster.Bucket, Key = user.Prefix + "mine.txt", ContentBody = "the user's" }, Ct);
        }

        var home = Assert.Single(await cluster.WorkspaceStoragesAsync(OnDemandNamespace));
        Assert.True(home.Status.IsTrue(ConditionTypes.Ready));
        using var rgw = new RgwInventory(cluster.Rgw);
        Assert.Equal([home.Status!.AccessKeyId!], await rgw.KeysAsync(user, Ct));
        Assert.Empty((await cluster.Kube.ObjectsAsync<V1Secret>(Tenant)));

        // The squatter deletes its claim, asking for the data to go: the user's data and key stay.
        await cluster.Kube.DeleteAsync<WorkspaceStorageResource>(Tenant, "squat");
        await Eventually.TrueAsync(async _ => await cluster.Kube.GetAsync<WorkspaceStorageResource>(Tenant, "squat") is null, "the squat gone");
        using var admin = cluster.Rgw.CreateAwsS3Client(cluster.Rgw.Admin);
        var listed = await admin.ListObjectsV2Async(new ListObjectsV2Request { BucketName = cluster.Bucket, Prefix = user.Prefix }, Ct);
        Assert.Equal([user.Prefix + "mine.txt"], (listed.S3Objects ?? []).Select(o => o.Key));
        Assert.Equal([home.Status!.AccessKeyId!], await rgw.KeysAsync(user, Ct));
    }
}
