using System.Net;
using System.Net.Http.Json;
using System.Text.Json;
using Microsoft.Extensions.DependencyInjection;
using WorkspaceStorage.Api.OnDemand;
using WorkspaceStorage.Api.Tests.Host;
using WorkspaceStorage.Api.Tests.Storage;
using WorkspaceStorage.Api.Workspaces;
using WorkspaceStorage.Core.Model;
using WorkspaceStorage.Resources;
using WorkspaceStorage.Core.Workspaces;
using WorkspaceStorage.Testing.Kubernetes;
using Microsoft.Extensions.Time.Testing;
using WorkspaceStorage.Testing.Support;

namespace WorkspaceStorage.Api.Tests.OnDemand;

/// <summary>
/// On-demand provisioning in the API (Kubernetes workspace source) against the real Kubernetes API server (the
/// assembly's, emptied for each test; the API's requests counted by the test's proxy) and the real RGW, with a stand-in operator that makes each new WorkspaceStorage Ready the way the operator does (identity,
/// key, Secret, status). The operator itself is exercised with the API and a real Hypha in the end-to-end suite.
/// </summary>
public sealed class OnDemandProvisioningTests
{
    private static CancellationToken Ct => TestContext.Current.CancellationToken;

    [Fact]
    public async Task Off_by_default_a_workspace_without_storage_gets_a_clear_404_and_nothing_is_created()
    {
        await using var world = await OnDemandWorld.StartAsync(onDemand: false);
        var workspace = NewWorkspace("ws-user-");
        await using var api = await world.StartApiAsync();

        using var response = await api.CallAsync(workspace, "list_files");
        Assert.Equal(HttpStatusCode.NotFound, response.StatusCode);
        Assert.Contains("has no storage", await response.Content.ReadAsStringAsync(Ct), StringComparison.Ordinal);
        Assert.Equal(0, world.Kube.RequestCount("create", KubeResources.WorkspaceStorages));
    }

    [Fact]
    public async Task A_first_call_creates_one_labelled_WorkspaceStorage_from_the_template_and_is_answered_once_it_is_Ready()
    {
        await using var world = await OnDemandWorld.StartAsync();
        var workspace = WorkspaceId.Parse($"ws-user-github|{StorageApiHarness.RandomPart()}");
        await using var api = await world.StartApiAsync();

        var url = await api.PresignPutAsync(workspace, "first/hello.txt");
        using (var http = StorageApiHarness.UrlClient())
        using (var put = await http.PutAsync(new Uri(url), new StringContent("made on demand"), Ct))
        {
            Assert.Equal(HttpStatusCode.OK, put.StatusCode);
        }

        var created = Assert.Single(await world.Kube.ObjectsAsync<WorkspaceStorageResource>(OnDemandWorld.Namespace));
        Assert.Equal(OnDemandWorkspaceStorage.ObjectName(workspace), created.Metadata.Name);
        Assert.Equal(workspace.Value, created.Spec.Workspace);
        Assert.True(OnDemandWorkspaceStorage.IsOnDemand(created));
        Assert.Equal(world.BackendName, created.Spec.BackendRef!.Name);
        Assert.Equal(DeletionPolicy.Delete, created.Spec.DeletionPolicy);
        using var read = await api.CallAsync(workspace, "get_file", new { file_path = "first/hello.txt" });
        using (var http = StorageApiHarness.UrlClient())
        {
            Assert.Equal("made on demand", await http.GetStringAsync(new Uri(JsonDocument.Parse(await read.Content.ReadAsStringAsync(Ct)).RootElement.GetString()!), Ct));
        }
        // The wait for Ready left nothing behind in the directory.
        Assert.Equal(0, api.App.Services.GetRequiredService<KubernetesWorkspaceDirectory>().Waiters);
    }

    [Fact]
    public async Task Concurrent_first_calls_on_two_replicas_create_one_object_and_all_are_answered()
    {
        await using var world = await OnDemandWorld.StartAsync();
        var workspace = NewWorkspace("ws-user-");
        await using var first = await world.StartApiAsync();
        await using var second = await world.StartApiAsync();

        var calls = Enumerable.Range(0, 24).Select(i => (i % 2 == 0 ? first : second).CallAsync(workspace, "list_files")).ToList();
        foreach (var response in await Task.WhenAll(calls))
        {
            using (response)
            {
                Assert.Equal(HttpStatusCode.OK, response.StatusCode);
            }
        }

        Assert.Single(await world.Kube.ObjectsAsync<WorkspaceStorageResource>(OnDemandWorld.Namespace));
        Assert.Equal(1, world.Operator.Provisioned);
        // One create per replica at most (the second gets 409, which is success): never one per call.
        Assert.InRange(world.Kube.RequestCount("create", KubeResources.WorkspaceStorages), 1, 2);
    }

    [Fact]
    public async Task A_workspace_outside_the_allow_list_is_refused_naming_the_rule_and_nothing_is_created()
    {
        await using var world = await OnDemandWorld.StartAsync();
        await using var api = await world.StartApiAsync();

        foreach (var (workspace, rule) in new[]
                 {
                     (NewWorkspace("ws-user-anonymouz-"), "excluded by the OnDemand:AllowedWorkspaces pattern '!ws-user-anonymouz-*'"),
                     (NewWorkspace("ws-team-"), "matches none of OnDemand:AllowedWorkspaces (ws-user-*, !ws-user-anonymouz-*)"),
                 })
        {
            using var response = await api.CallAsync(workspace, "list_files");
            Assert.Equal(HttpStatusCode.Forbidden, response.StatusCode);
            var detail = JsonDocument.Parse(await response.Content.ReadAsStringAsync(Ct)).RootElement.GetProperty("detail").GetString()!;
            Assert.True(detail.Contains(rule, StringComparison.Ordinal), detail);
        }

        Assert.Empty(await world.Kube.ObjectsAsync<WorkspaceStorageResource>(OnDemandWorld.Namespace));
        Assert.Equal(0, world.Kube.RequestCount("create", KubeResources.WorkspaceStorages));
    }

    [Fact]
    public async Task A_stalled_WorkspaceStorage_fails_the_call_at_once_with_its_reason_instead_of_waiting_for_the_timeout()
    {
        await using var world = await OnDemandWorld.StartAsync();
        world.Operator.StallWith = ("BackendNotFound", "spec.backendRef.name: StorageBackend \"nope\" not found");
        var workspace = NewWorkspace("ws-user-");
        await using var api = await world.StartApiAsync();

        var started = DateTime.UtcNow;
        using var response = await api.CallAsync(workspace, "list_files");
        Assert.Equal(HttpStatusCode.ServiceUnavailable, response.StatusCode);
        Assert.Contains("is stalled: BackendNotFound", JsonDocument.Parse(await response.Content.ReadAsStringAsync(Ct)).RootElement.GetProperty("detail").GetString(), StringComparison.Ordinal);
        Assert.True(DateTime.UtcNow - started < TimeSpan.FromSeconds(15), "answered long before the 60 s ready timeout");
    }

    [Fact]
    public async Task Calls_record_use_without_a_write_per_call_and_idle_clean_up_deletes_only_on_demand_objects()
    {
        await using var world = await OnDemandWorld.StartAsync();
        var used = NewWorkspace("ws-user-");
        var idle = NewWorkspace("ws-user-");
        var declared = NewWorkspace("ws-user-");
        await using var api = await world.StartApiAsync(new Dictionary<string, string?>
        {
            ["OnDemand:IdleTimeout"] = "00:01:00",
            ["OnDemand:UsageRecordInterval"] = "00:00:30",
            ["OnDemand:CleanupPeriod"] = "01:00:00",
        });

        // A declared WorkspaceStorage, as GitOps writes it: no on-demand label, and long unused.
        await world.Operator.DeclareAsync("declared-by-gitops", declared);
        foreach (var workspace in new[] { used, idle })
        {
            using var response = await api.CallAsync(workspace, "list_files");
            Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        }

        world.Kube.ResetRequestCounts();
        for (var i = 0; i < 20; i++)
        {
            using var response = await api.CallAsync(used, "list_files");
            Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        }

        Assert.Equal(0, world.Kube.RequestCount("patch", KubeResources.WorkspaceStorages));

        // Two minutes pass; only `used` is used again, and its use is recorded once.
        world.Clock.Advance(TimeSpan.FromMinutes(2));
        for (var i = 0; i < 5; i++)
        {
            using var response = await api.CallAsync(used, "list_files");
            Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        }

        await Eventually.TrueAsync(() => world.Kube.RequestCount("patch", KubeResources.WorkspaceStorages) == 1, "one last-used write for 5 calls");
        await Eventually.TrueAsync(async _ => OnDemandWorkspaceStorage.LastUsed((await world.FindAsync(used))!) >= world.Clock.GetUtcNow() - TimeSpan.FromSeconds(1),
            "the server holds the recorded use");

        await api.App.Services.GetRequiredService<OnDemandCleanup>().SweepIdleAsync(Ct);

        Assert.NotNull(await world.FindAsync(used));
        Assert.NotNull(await world.FindAsync(declared));
        await Eventually.TrueAsync(async _ => await world.FindAsync(idle) is null, "the idle on-demand WorkspaceStorage is deleted");
    }

    [Fact]
    public async Task Hypha_deleting_a_workspace_removes_its_on_demand_storage_but_never_a_declared_one()
    {
        await using var world = await OnDemandWorld.StartAsync();
        var temporary = NewWorkspace("ws-user-");
        var declared = NewWorkspace("ws-user-");
        await using var api = await world.StartApiAsync();
        await world.Operator.DeclareAsync("declared-by-gitops", declared);
        using (var response = await api.CallAsync(temporary, "list_files"))
        {
            Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        }

        var cleanup = api.App.Services.GetRequiredService<OnDemandCleanup>();
        await cleanup.WorkspaceGoneAsync(declared, "test: Hypha deleted it", Ct);
        await cleanup.WorkspaceGoneAsync(temporary, "test: Hypha deleted it", Ct);

        await Eventually.TrueAsync(async _ => await world.FindAsync(temporary) is null, "the on-demand WorkspaceStorage is deleted");
        Assert.NotNull(await world.FindAsync(declared));
        Assert.Equal(1, world.Kube.RequestCount("delete", KubeResources.WorkspaceStorages));
    }

    [Fact]
    public async Task Invalid_settings_are_refused_at_start_naming_the_setting()
    {
        await using var world = await OnDemandWorld.StartAsync();
        var error = await Assert.ThrowsAnyAsync<Exception>(() => world.StartApiAsync(new Dictionary<string, string?>
        {
            ["OnDemand:AllowedWorkspaces:0"] = "WS_USER_*",
            ["OnDemand:Template:BackendRef"] = "",
        }));
        Assert.Contains("OnDemand:AllowedWorkspaces entry 'WS_USER_*'", error.Message, StringComparison.Ordinal);
        Assert.Contains("OnDemand:Template:BackendRef is required", error.Message, StringComparison.Ordinal);
    }

    private static WorkspaceId NewWorkspace(string prefix) => WorkspaceId.Parse(prefix + StorageApiHarness.RandomPart());
}

/// <summary>The real API server with a StorageBackend on the real RGW, a stand-in operator, and APIs with on-demand provisioning.</summary>
internal sealed class OnDemandWorld : IAsyncDisposable
{
    public const string Namespace = "hypha-workspaces";

    private readonly bool onDemand;
    private readonly List<TestApi> apis = [];

    private OnDemandWorld(StorageApiHarness storage, KubeCluster kube, string backendName, StandInOperator standIn, bool onDemand)
    {
        Storage = storage;
        Kube = kube;
        BackendName = backendName;
        Operator = standIn;
        this.onDemand = onDemand;
    }

    public StorageApiHarness Storage { get; }

    public KubeCluster Kube { get; }

    public string BackendName { get; }

    public StandInOperator Operator { get; }

    public FakeTimeProvider Clock { get; } = new(DateTimeOffset.UtcNow);

    public static async Task<OnDemandWorld> StartAsync(bool onDemand = true)
    {
        var storage = await StorageApiHarness.StartAsync();
        var kube = await KubeCluster.StartAsync([Namespace], TestContext.Current.CancellationToken);
        var backend = await KubernetesSeeding.SeedBackendAsync(kube, storage);
        var standIn = StandInOperator.Start(kube, storage, backend, Namespace);
        return new OnDemandWorld(storage, kube, backend, standIn, onDemand);
    }

    public async Task<WorkspaceStorageResource?> FindAsync(WorkspaceId workspace) =>
        (await Kube.ObjectsAsync<WorkspaceStorageResource>(Namespace)).FirstOrDefault(r => r.Spec.Workspace == workspace.Value);

    public async Task<OnDemandApi> StartApiAsync(IReadOnlyDictionary<string, string?>? extra = null)
    {
        var settings = new Dictionary<string, string?>
        {
            ["Api:WorkspaceSource"] = "kubernetes",
            ["OnDemand:Enabled"] = onDemand ? "true" : "false",
            ["OnDemand:Namespace"] = Namespace,
            ["OnDemand:AllowedWorkspaces:0"] = "ws-user-*",
            ["OnDemand:AllowedWorkspaces:1"] = "!ws-user-anonymouz-*",
            ["OnDemand:Template:BackendRef"] = BackendName,
            ["OnDemand:Template:DeletionPolicy"] = "Delete",
        };
        foreach (var (key, value) in extra ?? new Dictionary<string, string?>())
        {
            settings[key] = value;
        }

        var api = await TestApi.StartAsync(
            configure: b => b.Services.AddSingleton(KubernetesDirectorySources.FromKubernetes(Kube.CreateClient())),
            settings: settings, time: Clock);
        apis.Add(api);
        var wrapped = new OnDemandApi(api);
        await Eventually.TrueAsync(_ => wrapped.IsReadyAsync(), "/readyz");
        return wrapped;
    }

    public async ValueTask DisposeAsync()
    {
        await Operator.DisposeAsync();
        foreach (var api in apis)
        {
            await api.DisposeAsync();
        }

        await Kube.DisposeAsync();
        await Storage.DisposeAsync();
    }
}

/// <summary>One API replica and calls on it, each with a token for the workspace it calls.</summary>
internal sealed class OnDemandApi(TestApi api) : IAsyncDisposable
{
    private static CancellationToken Ct => TestContext.Current.CancellationToken;

    public TestApi Api => api;

    public Microsoft.AspNetCore.Builder.WebApplication App => api.App;

    public async Task<bool> IsReadyAsync()
    {
        using var response = await api.Client.GetAsync("/readyz", Ct);
        return response.StatusCode == HttpStatusCode.OK;
    }

    public async Task<HttpResponseMessage> CallAsync(WorkspaceId workspace, string function, object? arguments = null)
    {
        using var request = new HttpRequestMessage(HttpMethod.Post, $"/{workspace}/services/s3-storage/{function}")
        {
            Content = JsonContent.Create(arguments ?? new Dictionary<string, object>()),
        };
        request.Headers.Authorization = new("Bearer", api.Tokens.ForWorkspace(workspace.Value, "rw"));
        return await api.Client.SendAsync(request, Ct);
    }

    public async Task<string> PresignPutAsync(WorkspaceId workspace, string path)
    {
        using var response = await CallAsync(workspace, "generate_presigned_url", new { path, client_method = "put_object" });
        var body = await response.Content.ReadAsStringAsync(Ct);
        Assert.True(response.StatusCode == HttpStatusCode.OK, $"generate_presigned_url: {(int)response.StatusCode} {body}");
        return JsonDocument.Parse(body).RootElement.GetString()!;
    }

    public ValueTask DisposeAsync() => ValueTask.CompletedTask; // the world disposes its APIs
}
