using System.Net;
using System.Net.Http.Json;
using System.Text;
using System.Text.Json;
using WorkspaceStorage.Testing.Support;
using k8s.Models;
using Microsoft.Extensions.DependencyInjection;
using WorkspaceStorage.Api.Tests.Host;
using WorkspaceStorage.Api.Workspaces;
using WorkspaceStorage.Core.Credentials;
using WorkspaceStorage.Core.Model;
using WorkspaceStorage.Resources;
using WorkspaceStorage.Core.Workspaces;
using WorkspaceStorage.Testing.Kubernetes;

namespace WorkspaceStorage.Api.Tests.Storage;

/// <summary>
/// The API with <c>Api:WorkspaceSource=kubernetes</c> against the real Kubernetes API server (the assembly's, emptied for
/// each test, behind a proxy of the test's own) and the real RGW: WorkspaceStorages, StorageBackends and Secrets are
/// seeded as the operator would write them.
/// </summary>
public sealed class KubernetesDirectoryTests
{
    private const string Namespace = "team-a";

    private static CancellationToken Ct => TestContext.Current.CancellationToken;

    [Fact]
    public async Task Ready_workspace_gets_presigned_urls_signed_with_its_own_key_and_not_ready_or_deleted_ones_get_404()
    {
        await using var h = await StorageApiHarness.StartAsync();
        await using var kube = await KubeCluster.StartAsync([Namespace], Ct);
        var backendName = await KubernetesSeeding.SeedBackendAsync(kube, h);
        var ready = await h.AddWorkspaceAsync("kready");
        var notReady = await h.AddWorkspaceAsync("knotready");
        await WorkspaceSeeding.SeedWorkspaceAsync(kube, Namespace, "ready", ready.Workspace, ready.Key, backendName, h.Location.Bucket, isReady: true);
        await WorkspaceSeeding.SeedWorkspaceAsync(kube, Namespace, "not-ready", notReady.Workspace, notReady.Key, backendName, h.Location.Bucket, isReady: false);

        await using var api = await StartApiAsync(kube);
        var token = api.Tokens.ForWorkspace(ready.Workspace.Value, "rw");

        var url = await PresignPutAsync(api, ready.Workspace, token, "k8s/hello.txt");
        Assert.Contains(Uri.EscapeDataString(ready.Key.AccessKeyId + "/"), url, StringComparison.Ordinal);
        using (var urlClient = StorageApiHarness.UrlClient())
        using (var put = await urlClient.PutAsync(new Uri(url), new StringContent("via the cluster directory"), Ct))
        {
            Assert.Equal(HttpStatusCode.OK, put.StatusCode);
        }

        Assert.Equal("via the cluster directory", Encoding.UTF8.GetString((await h.ReadObjectAsync($"{ready.Workspace}/k8s/hello.txt"))!));

        var notReadyToken = api.Tokens.ForWorkspace(notReady.Workspace.Value, "rw");
        using (var response = await CallAsync(api, notReady.Workspace, "list_files", notReadyToken))
        {
            Assert.Equal(HttpStatusCode.NotFound, response.StatusCode);
        }

        Assert.True(await kube.DeleteAsync<WorkspaceStorageResource>(Namespace, "ready"));
        await Eventually.TrueAsync(async _ =>
        {
            using var response = await CallAsync(api, ready.Workspace, "list_files", token);
            return response.StatusCode == HttpStatusCode.NotFound;
        }, "the deleted WorkspaceStorage is no longer served");
    }

    /// <summary>
    /// The companion's side of the default Secret name (the operator's is ReconcilerTests'): a WorkspaceStorage whose
    /// status names no Secret and whose spec asks for none is served with the key of <c>&lt;metadata.name&gt;-s3</c>,
    /// not of a Secret named like the WorkspaceStorage itself.
    /// </summary>
    [Fact]
    public async Task Without_spec_secret_name_the_key_is_read_from_the_Secret_named_metadata_name_s3()
    {
        await using var h = await StorageApiHarness.StartAsync();
        await using var kube = await KubeCluster.StartAsync([Namespace], Ct);
        var backendName = await KubernetesSeeding.SeedBackendAsync(kube, h);
        var w = await h.AddWorkspaceAsync("kdefault");
        var resource = WorkspaceSeeding.Storage(Namespace, "unnamed", w.Workspace, w.Key, backendName, h.Location.Bucket, isReady: true);
        resource.Status!.SecretName = null;
        await kube.SeedAsync(resource);
        Assert.Equal("unnamed-s3", resource.SecretName());
        await kube.SeedAsync(WorkspaceSeeding.CredentialSecret(Namespace, "unnamed-s3", w.Key));
        await kube.SeedAsync(WorkspaceSeeding.CredentialSecret(Namespace, "unnamed", AccessKeyGenerator.Generate()));

        await using var api = await StartApiAsync(kube);
        var token = api.Tokens.ForWorkspace(w.Workspace.Value, "rw");
        Assert.Contains(Uri.EscapeDataString(w.Key.AccessKeyId + "/"), await PresignPutAsync(api, w.Workspace, token, "a.txt"), StringComparison.Ordinal);
    }

    /// <summary>
    /// The companion reads a StorageBackend through the operator's validator, so the two agree on it: the public endpoint
    /// is normalized as the operator writes it into the Secret, and a StorageBackend the operator refuses (an endpoint
    /// with a path) serves nobody, whatever a WorkspaceStorage's status says. Read raw, the companion served it.
    /// The 404 half fails on the raw read; the endpoint half would hold for a raw read too (Uri lower-cases the host and
    /// the trailing slash was handled), so it guards the normalization against regressions rather than proving the fix.
    /// </summary>
    [Fact]
    public async Task StorageBackends_are_read_through_the_operators_validator()
    {
        await using var h = await StorageApiHarness.StartAsync();
        await using var kube = await KubeCluster.StartAsync([Namespace], Ct);
        var valid = await KubernetesSeeding.SeedBackendAsync(kube, h, publicEndpoint: "https://S3.Public.Example:8443/");
        var refused = await KubernetesSeeding.SeedBackendAsync(kube, h, publicEndpoint: "https://s3.public.example:8443/console/");
        var onValid = await SeedWithoutStatusEndpointAsync(kube, h, "on-valid", valid);
        var onRefused = await SeedWithoutStatusEndpointAsync(kube, h, "on-refused", refused);

        await using var api = await StartApiAsync(kube);
        var url = await PresignPutAsync(api, onValid, api.Tokens.ForWorkspace(onValid.Value, "rw"), "a.txt");
        Assert.StartsWith($"https://s3.public.example:8443/{h.Location.Bucket}/{onValid}/a.txt?", url, StringComparison.Ordinal);
        using var response = await CallAsync(api, onRefused, "list_files", api.Tokens.ForWorkspace(onRefused.Value, "rw"));
        Assert.Equal(HttpStatusCode.NotFound, response.StatusCode);
    }

    private static async Task<WorkspaceId> SeedWithoutStatusEndpointAsync(KubeCluster kube, StorageApiHarness h, string name, string backendName)
    {
        var w = await h.AddWorkspaceAsync("k" + name.Replace("-", "", StringComparison.Ordinal));
        var resource = WorkspaceSeeding.Storage(Namespace, name, w.Workspace, w.Key, backendName, h.Location.Bucket, isReady: true);
        resource.Status!.Endpoint = null;
        await kube.SeedAsync(resource);
        await kube.SeedAsync(WorkspaceSeeding.CredentialSecret(Namespace, resource.SecretName(), w.Key));
        return w.Workspace;
    }

    [Fact]
    public async Task A_rotated_key_in_the_Secret_is_used_after_the_watch_event()
    {
        await using var h = await StorageApiHarness.StartAsync();
        await using var kube = await KubeCluster.StartAsync([Namespace], Ct);
        var backendName = await KubernetesSeeding.SeedBackendAsync(kube, h);
        var w = await h.AddWorkspaceAsync("krotate");
        await WorkspaceSeeding.SeedWorkspaceAsync(kube, Namespace, "rotating", w.Workspace, w.Key, backendName, h.Location.Bucket, isReady: true);
        await using var api = await StartApiAsync(kube);
        var token = api.Tokens.ForWorkspace(w.Workspace.Value, "rw");
        Assert.Contains(Uri.EscapeDataString(w.Key.AccessKeyId + "/"), await PresignPutAsync(api, w.Workspace, token, "a.txt"), StringComparison.Ordinal);

        var rotated = AccessKeyGenerator.Generate();
        await h.Backend.EnsureKeyAsync(w.Workspace, rotated, Ct);
        // The operator rewrites the Secret it made (a PUT): the same object with the new key.
        await kube.ModifyAsync<V1Secret>(Namespace, "rotating-creds", s => s.Data = WorkspaceSeeding.CredentialSecret(Namespace, "rotating-creds", rotated).Data);

        await Eventually.TrueAsync(async _ =>
            (await PresignPutAsync(api, w.Workspace, token, "b.txt")).Contains(Uri.EscapeDataString(rotated.AccessKeyId + "/"), StringComparison.Ordinal),
            "presigned URLs are signed with the rotated key");
        using var urlClient = StorageApiHarness.UrlClient();
        using var put = await urlClient.PutAsync(new Uri(await PresignPutAsync(api, w.Workspace, token, "b.txt")), new StringContent("rotated"), Ct);
        Assert.Equal(HttpStatusCode.OK, put.StatusCode);
    }

    [Fact]
    public async Task A_workspace_whose_storage_server_the_operator_lost_is_still_served_and_one_never_Ready_is_not()
    {
        await using var h = await StorageApiHarness.StartAsync();
        await using var kube = await KubeCluster.StartAsync([Namespace], Ct);
        var backendName = await KubernetesSeeding.SeedBackendAsync(kube, h);
        var lost = await h.AddWorkspaceAsync("klost");
        var never = await h.AddWorkspaceAsync("knever");
        await WorkspaceSeeding.SeedWorkspaceAsync(kube, Namespace, "lost", lost.Workspace, lost.Key, backendName, h.Location.Bucket, isReady: true);
        await WorkspaceSeeding.SeedWorkspaceAsync(kube, Namespace, "never", never.Workspace, never.Key, backendName, h.Location.Bucket, isReady: true);
        await using var api = await StartApiAsync(kube);
        var token = api.Tokens.ForWorkspace(lost.Workspace.Value, "rw");
        Assert.Contains(Uri.EscapeDataString(lost.Key.AccessKeyId + "/"), await PresignPutAsync(api, lost.Workspace, token, "a.txt"), StringComparison.Ordinal);

        // What the operator writes when a resync cannot reach the storage server: Reconciling, Ready=False, BackendUnavailable.
        await kube.ModifyStatusAsync<WorkspaceStorageResource>(Namespace, "lost", r =>
        {
            r.Status!.ObservedGeneration = r.Metadata.Generation;
            r.Status.MarkUnavailable(r.Metadata.Generation, ConditionReasons.BackendUnavailable, "S3 get-user: Connection refused", DateTimeOffset.UtcNow);
        });
        // The same condition on one that never got a key is not served: nothing was provisioned.
        await kube.ModifyStatusAsync<WorkspaceStorageResource>(Namespace, "never", r =>
        {
            r.Status!.AccessKeyId = null;
            r.Status.ObservedGeneration = r.Metadata.Generation;
            r.Status.MarkUnavailable(r.Metadata.Generation, ConditionReasons.BackendUnavailable, "S3 get-user: Connection refused", DateTimeOffset.UtcNow);
        });
        var neverToken = api.Tokens.ForWorkspace(never.Workspace.Value, "rw");
        await Eventually.TrueAsync(async _ =>
        {
            using var response = await CallAsync(api, never.Workspace, "list_files", neverToken);
            return response.StatusCode == HttpStatusCode.NotFound;
        }, "the never-provisioned workspace is not served");

        // Presigning needs no storage server: it goes on with the key in the Secret.
        Assert.Contains(Uri.EscapeDataString(lost.Key.AccessKeyId + "/"), await PresignPutAsync(api, lost.Workspace, token, "b.txt"), StringComparison.Ordinal);
    }

    /// <summary>
    /// The companion trusts no Ready status on its own: a workspace is served from the WorkspaceStorage that holds it within
    /// its StorageBackend's claim ceiling, read from the StorageBackend the API watches. A Ready status outside it (one the
    /// operator has not judged again yet, or one written by someone who may write status) serves nothing.
    /// </summary>
    [Fact]
    public async Task A_workspace_is_served_only_from_the_WorkspaceStorage_its_StorageBackends_claim_ceiling_admits()
    {
        await using var h = await StorageApiHarness.StartAsync();
        await using var kube = await KubeCluster.StartAsync([Namespace, "team-b"], Ct);
        var w = await h.AddWorkspaceAsync("team-a-");
        var squatted = await h.AddWorkspaceAsync("user-");
        var backendName = await KubernetesSeeding.SeedBackendAsync(kube, h, [new AllowedClaim { Namespaces = [Namespace], Workspaces = ["ws-team-a-*"] }]);
        // team-b's claim comes first (older) and says Ready with a key of its own: outside the ceiling, it is not served.
        var teamBKey = AccessKeyGenerator.Generate();
        await h.Backend.EnsureKeyAsync(w.Workspace, teamBKey, Ct);
        await WorkspaceSeeding.SeedWorkspaceAsync(kube, "team-b", "first", w.Workspace, teamBKey, backendName, h.Location.Bucket, isReady: true);
        await WorkspaceSeeding.SeedWorkspaceAsync(kube, Namespace, "holder", w.Workspace, w.Key, backendName, h.Location.Bucket, isReady: true);
        await WorkspaceSeeding.SeedWorkspaceAsync(kube, Namespace, "squat", squatted.Workspace, squatted.Key, backendName, h.Location.Bucket, isReady: true);
        await using var api = await StartApiAsync(kube);

        var token = api.Tokens.ForWorkspace(w.Workspace.Value, "rw");
        var url = await PresignPutAsync(api, w.Workspace, token, "a.txt");
        Assert.Contains(Uri.EscapeDataString(w.Key.AccessKeyId + "/"), url, StringComparison.Ordinal);
        Assert.DoesNotContain(Uri.EscapeDataString(teamBKey.AccessKeyId + "/"), url, StringComparison.Ordinal);
        using (var response = await CallAsync(api, squatted.Workspace, "list_files", api.Tokens.ForWorkspace(squatted.Workspace.Value, "rw")))
        {
            Assert.Equal(HttpStatusCode.NotFound, response.StatusCode);
        }

        // The admin moves the workspace to team-b: team-b's claim is served, team-a's no longer, before any status changes.
        await kube.ModifyAsync<StorageBackendResource>(null, backendName, b => b.Spec = b.Spec with
        {
            AllowedClaims = [new AllowedClaim { Namespaces = ["team-b"], Workspaces = ["ws-team-a-*"] }],
        });
        await Eventually.TrueAsync(async _ =>
            (await PresignPutAsync(api, w.Workspace, token, "b.txt")).Contains(Uri.EscapeDataString(teamBKey.AccessKeyId + "/"), StringComparison.Ordinal),
            "the claim team-b now holds is served");

        // And none at all: nothing is served.
        await kube.ModifyAsync<StorageBackendResource>(null, backendName, b => b.Spec = b.Spec with { AllowedClaims = [] });
        await Eventually.TrueAsync(async _ =>
        {
            using var response = await CallAsync(api, w.Workspace, "list_files", token);
            return response.StatusCode == HttpStatusCode.NotFound;
        }, "no claim within the ceiling, no storage");
    }

    [Fact]
    public async Task Readyz_waits_for_the_informers_to_sync()
    {
        await using var kube = await KubeCluster.StartAsync(cancellationToken: Ct);
        var failing = kube.FailRequests(503, r => r.Type == KubeResources.Secrets);
        await using var api = await StartApiAsync(kube);
        using (var response = await api.Client.GetAsync("/readyz", Ct))
        {
            Assert.Equal(HttpStatusCode.ServiceUnavailable, response.StatusCode);
        }

        failing.Dispose();
        await Eventually.TrueAsync(async _ =>
        {
            using var response = await api.Client.GetAsync("/readyz", Ct);
            return response.StatusCode == HttpStatusCode.OK;
        }, "/readyz turns ready once the Secret informer lists");
    }

    private static async Task<TestApi> StartApiAsync(KubeCluster kube)
    {
        var api = await TestApi.StartAsync(
            configure: b => b.Services.AddSingleton(KubernetesDirectorySources.FromKubernetes(kube.CreateClient())),
            settings: new Dictionary<string, string?> { ["Api:WorkspaceSource"] = "kubernetes" });
        return api;
    }

    private static async Task WaitReadyAsync(TestApi api) =>
        await Eventually.TrueAsync(async _ =>
        {
            using var response = await api.Client.GetAsync("/readyz", Ct);
            return response.StatusCode == HttpStatusCode.OK;
        }, "/readyz");

    private static async Task<string> PresignPutAsync(TestApi api, WorkspaceId workspace, string token, string path)
    {
        await WaitReadyAsync(api);
        using var response = await CallAsync(api, workspace, "generate_presigned_url", token, new { path, client_method = "put_object" });
        var body = await response.Content.ReadAsStringAsync(Ct);
        Assert.True(response.StatusCode == HttpStatusCode.OK, $"generate_presigned_url: {(int)response.StatusCode} {body}");
        return JsonDocument.Parse(body).RootElement.GetString()!;
    }

    private static async Task<HttpResponseMessage> CallAsync(TestApi api, WorkspaceId workspace, string method, string token, object? arguments = null)
    {
        await WaitReadyAsync(api);
        using var request = new HttpRequestMessage(HttpMethod.Post, $"/{workspace}/services/s3-storage/{method}")
        {
            Content = JsonContent.Create(arguments ?? new Dictionary<string, object>()),
        };
        request.Headers.Authorization = new("Bearer", token);
        return await api.Client.SendAsync(request, Ct);
    }
}
