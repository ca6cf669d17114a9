using System.Net;
using System.Text;
using k8s;
using k8s.Models;
using WorkspaceStorage.Testing.Kubernetes;

namespace WorkspaceStorage.Kubernetes.Tests.TestApiServer;

/// <summary>The real KubernetesClient against the test server: CRUD, conflicts, admission, status and generation.</summary>
public sealed class CrudTests : IAsyncLifetime
{
    private KubeTestServer _server = null!;
    private k8s.Kubernetes _client = null!;

    public async ValueTask InitializeAsync()
    {
        _server = await KubeTestServer.StartAsync(cancellationToken: TestContext.Current.CancellationToken);
        _client = _server.CreateClient();
    }

    public async ValueTask DisposeAsync()
    {
        _client.Dispose();
        await _server.DisposeAsync();
    }

    [Fact]
    public async Task Secret_round_trips_create_read_replace_delete()
    {
        var ct = Api.Timeout();
        var created = await _client.CoreV1.CreateNamespacedSecretAsync(new V1Secret
        {
            Metadata = new V1ObjectMeta { Name = "creds", Labels = new Dictionary<string, string> { ["app"] = "wso" } },
            Data = new Dictionary<string, byte[]> { ["key"] = "v1"u8.ToArray() },
        }, "team-a", cancellationToken: ct);

        Assert.Equal("team-a", created.Metadata.NamespaceProperty);
        Assert.Equal("Secret", created.Kind);
        Assert.False(string.IsNullOrEmpty(created.Metadata.Uid));
        Assert.NotNull(created.Metadata.CreationTimestamp);

        var read = await _client.CoreV1.ReadNamespacedSecretAsync("creds", "team-a", cancellationToken: ct);
        Assert.Equal("v1", Encoding.UTF8.GetString(read.Data["key"]));
        Assert.Equal(created.Metadata.ResourceVersion, read.Metadata.ResourceVersion);

        read.Data["key"] = "v2"u8.ToArray();
        var replaced = await _client.CoreV1.ReplaceNamespacedSecretAsync(read, "creds", "team-a", cancellationToken: ct);
        Assert.True(long.Parse(replaced.Metadata.ResourceVersion) > long.Parse(read.Metadata.ResourceVersion));
        Assert.Equal(created.Metadata.Uid, replaced.Metadata.Uid);
        Assert.Equal("v2", Encoding.UTF8.GetString(_server.Get<V1Secret>("team-a", "creds")!.Data["key"]));

        var deleted = await _client.CoreV1.DeleteNamespacedSecretAsync("creds", "team-a", cancellationToken: ct);
        Assert.Equal("Success", deleted.Status);
        var (code, reason, _) = await Api.FailureOf(() => _client.CoreV1.ReadNamespacedSecretAsync("creds", "team-a", cancellationToken: ct));
        Assert.Equal(HttpStatusCode.NotFound, code);
        Assert.Equal("NotFound", reason);
    }

    [Fact]
    public async Task Secret_stringData_is_folded_into_data_and_not_stored()
    {
        var ct = Api.Timeout();
        await _client.CoreV1.CreateNamespacedSecretAsync(new V1Secret
        {
            Metadata = new V1ObjectMeta { Name = "typed-in" },
            Data = new Dictionary<string, byte[]> { ["kept"] = "k"u8.ToArray(), ["both"] = "old"u8.ToArray() },
            StringData = new Dictionary<string, string> { ["both"] = "new", ["plain"] = "p" },
        }, "team-a", cancellationToken: ct);

        var read = await _client.CoreV1.ReadNamespacedSecretAsync("typed-in", "team-a", cancellationToken: ct);

        Assert.Null(read.StringData);
        Assert.Equal("k", Encoding.UTF8.GetString(read.Data["kept"]));
        Assert.Equal("new", Encoding.UTF8.GetString(read.Data["both"]));
        Assert.Equal("p", Encoding.UTF8.GetString(read.Data["plain"]));
    }

    [Fact]
    public async Task Creating_an_existing_name_is_409_AlreadyExists()
    {
        var ct = Api.Timeout();
        var secret = new V1Secret { Metadata = new V1ObjectMeta { Name = "dup" } };
        await _client.CoreV1.CreateNamespacedSecretAsync(secret, "default", cancellationToken: ct);
        var (code, reason, _) = await Api.FailureOf(() => _client.CoreV1.CreateNamespacedSecretAsync(secret, "default", cancellationToken: ct));
        Assert.Equal(HttpStatusCode.Conflict, code);
        Assert.Equal("AlreadyExists", reason);
    }

    [Fact]
    public async Task GenerateName_gives_distinct_names_with_the_prefix()
    {
        var ct = Api.Timeout();
        var a = await _client.CoreV1.CreateNamespacedEventAsync(new Corev1Event { Metadata = new V1ObjectMeta { GenerateName = "ws-" }, Reason = "Ready", Message = "a" }, "default", cancellationToken: ct);
        var b = await _client.CoreV1.CreateNamespacedEventAsync(new Corev1Event { Metadata = new V1ObjectMeta { GenerateName = "ws-" }, Reason = "Ready", Message = "b" }, "default", cancellationToken: ct);
        Assert.StartsWith("ws-", a.Metadata.Name);
        Assert.NotEqual(a.Metadata.Name, b.Metadata.Name);
        Assert.Equal(2, _server.Count(KubeResources.CoreEvents, "default"));
    }

    [Fact]
    public async Task Both_event_apis_are_served()
    {
        var ct = Api.Timeout();
        await _client.CoreV1.CreateNamespacedEventAsync(new Corev1Event { Metadata = new V1ObjectMeta { Name = "core.1" }, Reason = "Ready" }, "default", cancellationToken: ct);
        await _client.EventsV1.CreateNamespacedEventAsync(new Eventsv1Event { Metadata = new V1ObjectMeta { Name = "new.1" }, Reason = "Ready", EventTime = DateTime.UtcNow }, "default", cancellationToken: ct);
        Assert.Single(_server.Objects(KubeResources.CoreEvents));
        Assert.Single(_server.Objects(KubeResources.Events));
        Assert.Equal(1, _server.RequestCount("create", KubeResources.Events));
    }

    [Theory]
    [InlineData("Upper")]
    [InlineData("under_score")]
    [InlineData("-leading")]
    public async Task Names_that_are_not_DNS_subdomains_are_422_Invalid(string name)
    {
        var (code, reason, body) = await Api.FailureOf(() =>
            _client.CoreV1.CreateNamespacedSecretAsync(new V1Secret { Metadata = new V1ObjectMeta { Name = name } }, "default", cancellationToken: Api.Timeout()));
        Assert.Equal(HttpStatusCode.UnprocessableEntity, code);
        Assert.Equal("Invalid", reason);
        Assert.Contains("metadata.name", body, StringComparison.Ordinal);
        Assert.Empty(_server.Objects(KubeResources.Secrets));
    }

    [Fact]
    public async Task Replace_with_a_stale_resourceVersion_is_409_Conflict_and_changes_nothing()
    {
        var ct = Api.Timeout();
        var original = await _client.CoreV1.CreateNamespacedSecretAsync(new V1Secret { Metadata = new V1ObjectMeta { Name = "s" }, StringData = new Dictionary<string, string>() }, "default", cancellationToken: ct);
        var fresh = await _client.CoreV1.ReadNamespacedSecretAsync("s", "default", cancellationToken: ct);
        fresh.Metadata.Labels = new Dictionary<string, string> { ["winner"] = "first" };
        await _client.CoreV1.ReplaceNamespacedSecretAsync(fresh, "s", "default", cancellationToken: ct);

        original.Metadata.Labels = new Dictionary<string, string> { ["winner"] = "stale" };
        var (code, reason, _) = await Api.FailureOf(() => _client.CoreV1.ReplaceNamespacedSecretAsync(original, "s", "default", cancellationToken: ct));
        Assert.Equal(HttpStatusCode.Conflict, code);
        Assert.Equal("Conflict", reason);
        Assert.Equal("first", _server.Get<V1Secret>("default", "s")!.Metadata.Labels["winner"]);
    }

    [Fact]
    public async Task Custom_resource_round_trips_through_GenericClient()
    {
        var ct = Api.Timeout();
        using var generic = Api.WorkspaceStorageClient(_client);
        var created = await generic.CreateNamespacedAsync(TestWorkspaceStorage.New("alpha", "team-a", "ws-alpha"), "team-a", ct);
        Assert.Equal(1, created.Metadata.Generation);
        Assert.Equal("ws-alpha", created.Spec!.Workspace);

        var read = await generic.ReadNamespacedAsync<TestWorkspaceStorage>("team-a", "alpha", ct);
        read.Spec!.Access = "ReadOnly";
        var replaced = await generic.ReplaceNamespacedAsync(read, "team-a", "alpha", ct);
        Assert.Equal("ReadOnly", replaced.Spec!.Access);

        var list = await generic.ListNamespacedAsync<TestList<TestWorkspaceStorage>>("team-a", cancel: ct);
        Assert.Equal("WorkspaceStorageList", list.Kind);
        Assert.Equal("alpha", Assert.Single(list.Items).Metadata.Name);
        Assert.False(string.IsNullOrEmpty(list.Metadata.ResourceVersion));

        var deleted = await generic.DeleteNamespacedAsync<TestWorkspaceStorage>("team-a", "alpha", ct);
        Assert.Equal("alpha", deleted.Metadata.Name);
        Assert.Empty(_server.Objects<TestWorkspaceStorage>());
    }

    [Fact]
    public async Task Cluster_scoped_custom_resource_round_trips()
    {
        var ct = Api.Timeout();
        using var generic = new GenericClient(_client, Api.Group, Api.Version, "storagebackends", disposeClient: false);
        var created = await generic.CreateAsync(new TestStorageBackend { Metadata = new V1ObjectMeta { Name = "rgw" }, Spec = new() { ["type"] = "ceph-rgw" } }, ct);
        Assert.Null(created.Metadata.NamespaceProperty);
        var read = await generic.ReadAsync<TestStorageBackend>("rgw", ct);
        Assert.Equal("ceph-rgw", read.Spec!["type"]);
        Assert.NotNull(_server.Get<TestStorageBackend>("rgw"));
    }

    [Fact]
    public async Task Custom_resource_replace_without_resourceVersion_is_rejected()
    {
        var ct = Api.Timeout();
        using var generic = Api.WorkspaceStorageClient(_client);
        await generic.CreateNamespacedAsync(TestWorkspaceStorage.New("a"), "default", ct);
        var (code, reason, _) = await Api.FailureOf(() => generic.ReplaceNamespacedAsync(TestWorkspaceStorage.New("a"), "default", "a", ct));
        Assert.Equal(HttpStatusCode.UnprocessableEntity, code);
        Assert.Equal("Invalid", reason);
    }

    [Fact]
    public async Task A_body_of_another_kind_is_refused_not_coerced()
    {
        var ct = Api.Timeout();
        var wrongKind = new TestStorageBackend { Metadata = new V1ObjectMeta { Name = "wrong" } };
        var (code, reason, body) = await Api.FailureOf(() => _client.CustomObjects.CreateNamespacedCustomObjectAsync(
            wrongKind, Api.Group, Api.Version, "default", Api.WorkspaceStorages, cancellationToken: ct));
        Assert.Equal(HttpStatusCode.BadRequest, code);
        Assert.Equal("BadRequest", reason);
        Assert.Contains("kind", body, StringComparison.Ordinal);
        Assert.Empty(_server.Objects<TestWorkspaceStorage>());
    }

    [Fact]
    public async Task Status_subresource_is_isolated_from_the_main_resource()
    {
        var ct = Api.Timeout();
        using var generic = Api.WorkspaceStorageClient(_client);
        var withStatus = TestWorkspaceStorage.New("iso");
        withStatus.Status = new TestWorkspaceStorageStatus { Phase = "FromCreate" };
        var created = await generic.CreateNamespacedAsync(withStatus, "default", ct);
        Assert.Null(created.Status);

        // Status through /status: spec changes in the same body are ignored.
        created.Status = new TestWorkspaceStorageStatus { Phase = "Ready", ObservedGeneration = 1 };
        created.Spec!.Workspace = "sneaky";
        var afterStatus = (await _client.CustomObjects.ReplaceNamespacedCustomObjectStatusWithHttpMessagesAsync<TestWorkspaceStorage>(
            created, Api.Group, Api.Version, "default", Api.WorkspaceStorages, "iso", cancellationToken: ct)).Body;
        Assert.Equal("Ready", afterStatus.Status!.Phase);
        Assert.Equal("ws", afterStatus.Spec!.Workspace);

        // Main resource PUT: status changes in the body are ignored.
        afterStatus.Status = new TestWorkspaceStorageStatus { Phase = "Hacked" };
        afterStatus.Spec.Access = "ReadOnly";
        var afterMain = await generic.ReplaceNamespacedAsync(afterStatus, "default", "iso", ct);
        Assert.Equal("Ready", afterMain.Status!.Phase);
        Assert.Equal("ReadOnly", afterMain.Spec!.Access);

        // Merge patch on /status likewise only reaches status.
        var patch = new V1Patch("""{"status":{"phase":"Patched"},"spec":{"workspace":"nope"}}""", V1Patch.PatchType.MergePatch);
        var afterPatch = (await _client.CustomObjects.PatchNamespacedCustomObjectStatusWithHttpMessagesAsync<TestWorkspaceStorage>(
            patch, Api.Group, Api.Version, "default", Api.WorkspaceStorages, "iso", cancellationToken: ct)).Body;
        Assert.Equal("Patched", afterPatch.Status!.Phase);
        Assert.Equal("ws", afterPatch.Spec!.Workspace);
    }

    [Fact]
    public async Task Generation_grows_only_when_the_spec_changes()
    {
        var ct = Api.Timeout();
        using var generic = Api.WorkspaceStorageClient(_client);
        var obj = await generic.CreateNamespacedAsync(TestWorkspaceStorage.New("gen"), "default", ct);
        Assert.Equal(1, obj.Metadata.Generation);

        obj.Metadata.Labels = new Dictionary<string, string> { ["x"] = "y" };
        obj = await generic.ReplaceNamespacedAsync(obj, "default", "gen", ct);
        Assert.Equal(1, obj.Metadata.Generation);

        obj.Status = new TestWorkspaceStorageStatus { Phase = "Ready", ObservedGeneration = 1 };
        obj = (await _client.CustomObjects.ReplaceNamespacedCustomObjectStatusWithHttpMessagesAsync<TestWorkspaceStorage>(
            obj, Api.Group, Api.Version, "default", Api.WorkspaceStorages, "gen", cancellationToken: ct)).Body;
        Assert.Equal(1, obj.Metadata.Generation);

        obj.Spec!.Access = "ReadOnly";
        obj = await generic.ReplaceNamespacedAsync(obj, "default", "gen", ct);
        Assert.Equal(2, obj.Metadata.Generation);
        Assert.Equal(1, obj.Status!.ObservedGeneration);
    }

    [Fact]
    public async Task An_update_that_changes_nothing_is_not_a_write()
    {
        var ct = Api.Timeout();
        using var generic = Api.WorkspaceStorageClient(_client);
        var obj = await generic.CreateNamespacedAsync(TestWorkspaceStorage.New("same"), "default", ct);
        var rvBefore = _server.ResourceVersion;
        var again = await generic.ReplaceNamespacedAsync(obj, "default", "same", ct);
        Assert.Equal(obj.Metadata.ResourceVersion, again.Metadata.ResourceVersion);
        Assert.Equal(rvBefore, _server.ResourceVersion);
    }

    [Fact]
    public async Task Merge_json_and_strategic_patches_apply()
    {
        var ct = Api.Timeout();
        using var generic = Api.WorkspaceStorageClient(_client);
        await generic.CreateNamespacedAsync(TestWorkspaceStorage.New("p"), "default", ct);
        var merged = await generic.PatchNamespacedAsync<TestWorkspaceStorage>(
            new V1Patch("""{"metadata":{"finalizers":["wso/cleanup"]},"spec":{"access":"ReadOnly"}}""", V1Patch.PatchType.MergePatch), "default", "p", ct);
        Assert.Equal(["wso/cleanup"], merged.Metadata.Finalizers);
        Assert.Equal("ReadOnly", merged.Spec!.Access);
        Assert.Equal("ws", merged.Spec.Workspace);

        var jsonPatched = await generic.PatchNamespacedAsync<TestWorkspaceStorage>(
            new V1Patch("""[{"op":"test","path":"/spec/access","value":"ReadOnly"},{"op":"remove","path":"/metadata/finalizers/0"},{"op":"add","path":"/metadata/labels","value":{"k":"v"}}]""", V1Patch.PatchType.JsonPatch),
            "default", "p", ct);
        Assert.Empty(jsonPatched.Metadata.Finalizers ?? []);
        Assert.Equal("v", jsonPatched.Metadata.Labels["k"]);

        var (code, _, _) = await Api.FailureOf(() => generic.PatchNamespacedAsync<TestWorkspaceStorage>(
            new V1Patch($$$"""{"metadata":{"resourceVersion":"{{{merged.Metadata.ResourceVersion}}}"},"spec":{"access":"ReadWrite"}}""", V1Patch.PatchType.MergePatch), "default", "p", ct));
        Assert.Equal(HttpStatusCode.Conflict, code);

        await _client.CoreV1.CreateNamespacedSecretAsync(new V1Secret { Metadata = new V1ObjectMeta { Name = "s" }, StringData = new Dictionary<string, string> { ["a"] = "1" } }, "default", cancellationToken: ct);
        var secret = await _client.CoreV1.PatchNamespacedSecretAsync(
            new V1Patch("""{"metadata":{"annotations":{"note":"x"}}}""", V1Patch.PatchType.StrategicMergePatch), "s", "default", cancellationToken: ct);
        Assert.Equal("x", secret.Metadata.Annotations["note"]);
    }

    [Fact]
    public async Task Label_and_field_selectors_filter_lists()
    {
        var ct = Api.Timeout();
        foreach (var (name, tier, env) in new[] { ("a", "gold", "prod"), ("b", "silver", "prod"), ("c", "gold", "dev"), ("d", "bronze", "dev") })
        {
            await _client.CoreV1.CreateNamespacedSecretAsync(new V1Secret
            {
                Metadata = new V1ObjectMeta { Name = name, Labels = new Dictionary<string, string> { ["tier"] = tier, ["env"] = env } },
            }, "default", cancellationToken: ct);
        }

        async Task<string> Names(string? labels, string? fields = null) =>
            string.Join(",", (await _client.CoreV1.ListNamespacedSecretAsync("default", labelSelector: labels, fieldSelector: fields, cancellationToken: ct)).Items.Select(s => s.Metadata.Name));

        Assert.Equal("a,c", await Names("tier=gold"));
        Assert.Equal("c", await Names("tier=gold,env!=prod"));
        Assert.Equal("a,b,c", await Names("tier in (gold, silver)"));
        Assert.Equal("d", await Names("tier notin (gold,silver)"));
        Assert.Equal("a,b,c,d", await Names("env"));
        Assert.Equal("", await Names("!env"));
        Assert.Equal("b", await Names(null, "metadata.name=b"));
        Assert.Equal(4, (await _client.CoreV1.ListSecretForAllNamespacesAsync(cancellationToken: ct)).Items.Count);
    }

    [Fact]
    public async Task Lists_page_with_limit_and_continue()
    {
        var ct = Api.Timeout();
        for (var i = 0; i < 7; i++)
        {
            _server.Seed(new V1Secret { Metadata = new V1ObjectMeta { Name = $"s{i}", NamespaceProperty = "default" } });
        }

        var names = new List<string>();
        string? token = null;
        var pages = 0;
        do
        {
            var page = await _client.CoreV1.ListNamespacedSecretAsync("default", limit: 3, continueParameter: token, cancellationToken: ct);
            names.AddRange(page.Items.Select(s => s.Metadata.Name));
            token = page.Metadata.ContinueProperty;
            pages++;
        }
        while (!string.IsNullOrEmpty(token));

        Assert.Equal(3, pages);
        Assert.Equal(Enumerable.Range(0, 7).Select(i => $"s{i}"), names);
    }

    [Fact]
    public async Task Finalizers_keep_the_object_until_they_are_removed()
    {
        var ct = Api.Timeout();
        using var generic = Api.WorkspaceStorageClient(_client);
        var obj = TestWorkspaceStorage.New("fin");
        obj.Metadata.Finalizers = ["wso/cleanup"];
        await generic.CreateNamespacedAsync(obj, "default", ct);

        var marked = await generic.DeleteNamespacedAsync<TestWorkspaceStorage>("default", "fin", ct);
        Assert.NotNull(marked.Metadata.DeletionTimestamp);
        var stillThere = await generic.ReadNamespacedAsync<TestWorkspaceStorage>("default", "fin", ct);
        Assert.NotNull(stillThere.Metadata.DeletionTimestamp);

        // A second delete does not move the deletionTimestamp or write.
        var rv = _server.ResourceVersion;
        await generic.DeleteNamespacedAsync<TestWorkspaceStorage>("default", "fin", ct);
        Assert.Equal(rv, _server.ResourceVersion);

        // No new finalizers once deletion started.
        stillThere.Metadata.Finalizers = ["wso/cleanup", "other/late"];
        var (code, reason, body) = await Api.FailureOf(() => generic.ReplaceNamespacedAsync(stillThere, "default", "fin", ct));
        Assert.Equal(HttpStatusCode.UnprocessableEntity, code);
        Assert.Equal("Invalid", reason);
        Assert.Contains("finalizers", body, StringComparison.Ordinal);

        stillThere.Metadata.Finalizers = [];
        await generic.ReplaceNamespacedAsync(stillThere, "default", "fin", ct);
        var (gone, _, _) = await Api.FailureOf(() => generic.ReadNamespacedAsync<TestWorkspaceStorage>("default", "fin", ct));
        Assert.Equal(HttpStatusCode.NotFound, gone);
    }

    [Fact]
    public async Task Injected_conflicts_hit_only_the_named_object_and_subresource()
    {
        var ct = Api.Timeout();
        using var generic = Api.WorkspaceStorageClient(_client);
        var obj = await generic.CreateNamespacedAsync(TestWorkspaceStorage.New("c"), "default", ct);
        _server.InjectConflicts(KubeResources.WorkspaceStorages, "default", "c", count: 2, onStatus: true);

        obj.Metadata.Labels = new Dictionary<string, string> { ["main"] = "ok" };
        obj = await generic.ReplaceNamespacedAsync(obj, "default", "c", ct);

        obj.Status = new TestWorkspaceStorageStatus { Phase = "Ready" };
        Task<k8s.Autorest.HttpOperationResponse<TestWorkspaceStorage>> UpdateStatus() =>
            _client.CustomObjects.ReplaceNamespacedCustomObjectStatusWithHttpMessagesAsync<TestWorkspaceStorage>(
                obj, Api.Group, Api.Version, "default", Api.WorkspaceStorages, "c", cancellationToken: ct);
        Assert.Equal(HttpStatusCode.Conflict, (await Api.FailureOf(UpdateStatus)).Code);
        Assert.Equal(HttpStatusCode.Conflict, (await Api.FailureOf(UpdateStatus)).Code);
        Assert.Equal("Ready", (await UpdateStatus()).Body.Status!.Phase);
        Assert.Equal(3, _server.RequestCount("update", "workspacestorages/status"));
        Assert.Equal(1, _server.RequestCount("update", "workspacestorages"));
    }

    [Fact]
    public async Task Injected_server_errors_fail_matching_requests_then_stop()
    {
        var ct = Api.Timeout();
        using var fault = _server.FailRequests(503, r => r.Type == KubeResources.Secrets && r.IsWrite, count: 2);
        async Task Create() => await _client.CoreV1.CreateNamespacedSecretAsync(new V1Secret { Metadata = new V1ObjectMeta { Name = "later" } }, "default", cancellationToken: ct);

        var (code, reason, _) = await Api.FailureOf(Create);
        Assert.Equal(HttpStatusCode.ServiceUnavailable, code);
        Assert.Equal("ServiceUnavailable", reason);
        await _client.CoreV1.ListNamespacedSecretAsync("default", cancellationToken: ct); // reads are not matched
        await Api.FailureOf(Create);
        await Create();
        Assert.Equal(2, fault.Hits);
        Assert.Equal(3, _server.WriteCount("secrets"));
        Assert.Equal(1, _server.RequestCount("list", "secrets"));
    }

    [Fact]
    public async Task Timed_faults_expire_on_their_own()
    {
        var ct = Api.Timeout();
        _server.FailRequests(500, duration: TimeSpan.FromMilliseconds(300));
        Assert.Equal(HttpStatusCode.InternalServerError, (await Api.FailureOf(() => _client.CoreV1.ListNamespacedSecretAsync("default", cancellationToken: ct))).Code);
        await Task.Delay(400, ct); // the fault's 300 ms passing: what is tested (a slower machine only waits longer)
        await _client.CoreV1.ListNamespacedSecretAsync("default", cancellationToken: ct);
    }

    [Fact]
    public async Task Seeded_objects_keep_status_and_are_visible_to_clients()
    {
        var ct = Api.Timeout();
        var seeded = _server.Seed(new TestWorkspaceStorage
        {
            Metadata = new V1ObjectMeta { Name = "seeded", NamespaceProperty = "team-b" },
            Spec = new TestWorkspaceStorageSpec { Workspace = "w" },
            Status = new TestWorkspaceStorageStatus { Phase = "Ready" },
        });
        Assert.False(string.IsNullOrEmpty(seeded.Metadata.ResourceVersion));
        using var generic = Api.WorkspaceStorageClient(_client);
        var read = await generic.ReadNamespacedAsync<TestWorkspaceStorage>("team-b", "seeded", ct);
        Assert.Equal("Ready", read.Status!.Phase);
        Assert.Equal(0, _server.WriteCount("workspacestorages"));
        Assert.Equal(1, _server.RequestCount("get", "workspacestorages"));

        // Seeding again replaces the content but keeps the object's identity.
        var reseeded = _server.Seed(TestWorkspaceStorage.New("seeded", "team-b", "w2"));
        Assert.Equal(seeded.Metadata.Uid, reseeded.Metadata.Uid);
        Assert.Equal("w2", reseeded.Spec!.Workspace);
        Assert.True(long.Parse(reseeded.Metadata.ResourceVersion) > long.Parse(seeded.Metadata.ResourceVersion));
    }

    [Fact]
    public async Task In_process_modify_follows_update_semantics()
    {
        var ct = Api.Timeout();
        _server.Seed(TestWorkspaceStorage.New("m"));
        var edited = _server.Modify<TestWorkspaceStorage>("default", "m", o =>
        {
            o.Spec!.Access = "ReadOnly";
            o.Status = new TestWorkspaceStorageStatus { Phase = "Ignored" };
        });
        Assert.Equal(2, edited.Metadata.Generation);
        Assert.Null(edited.Status);

        var withStatus = _server.ModifyStatus<TestWorkspaceStorage>("default", "m", o => o.Status = new TestWorkspaceStorageStatus { Phase = "Ready" });
        Assert.Equal(2, withStatus.Metadata.Generation);
        using var generic = Api.WorkspaceStorageClient(_client);
        Assert.Equal("Ready", (await generic.ReadNamespacedAsync<TestWorkspaceStorage>("default", "m", ct)).Status!.Phase);
    }

    [Fact]
    public async Task Delete_preconditions_are_checked()
    {
        var ct = Api.Timeout();
        var secret = await _client.CoreV1.CreateNamespacedSecretAsync(new V1Secret { Metadata = new V1ObjectMeta { Name = "pre" } }, "default", cancellationToken: ct);
        var (code, _, _) = await Api.FailureOf(() => _client.CoreV1.DeleteNamespacedSecretAsync("pre", "default",
            new V1DeleteOptions { Preconditions = new V1Preconditions { Uid = Guid.NewGuid().ToString() } }, cancellationToken: ct));
        Assert.Equal(HttpStatusCode.Conflict, code);
        Assert.NotNull(_server.Get<V1Secret>("default", "pre"));
        await _client.CoreV1.DeleteNamespacedSecretAsync("pre", "default",
            new V1DeleteOptions { Preconditions = new V1Preconditions { Uid = secret.Metadata.Uid, ResourceVersion = secret.Metadata.ResourceVersion } }, cancellationToken: ct);
        Assert.Null(_server.Get<V1Secret>("default", "pre"));
    }

    [Fact]
    public async Task Raw_json_seeds_are_served_to_typed_clients()
    {
        var ct = Api.Timeout();
        var stored = _server.Seed(KubeResources.Leases, new System.Text.Json.Nodes.JsonObject
        {
            ["metadata"] = new System.Text.Json.Nodes.JsonObject { ["name"] = "raw", ["namespace"] = "kube-system" },
            ["spec"] = new System.Text.Json.Nodes.JsonObject { ["holderIdentity"] = "someone" },
        });
        Assert.Equal("Lease", stored["kind"]!.GetValue<string>());
        var lease = await _client.CoordinationV1.ReadNamespacedLeaseAsync("raw", "kube-system", cancellationToken: ct);
        Assert.Equal("someone", lease.Spec.HolderIdentity);
        Assert.Equal("someone", _server.Get(KubeResources.Leases, "kube-system", "raw")!["spec"]!["holderIdentity"]!.GetValue<string>());
        Assert.Single(_server.Objects<V1Lease>(KubeResources.Leases, "kube-system"));
    }

    [Fact]
    public async Task Kubeconfig_text_points_a_client_at_the_server()
    {
        var ct = Api.Timeout();
        await using var stream = new MemoryStream(Encoding.UTF8.GetBytes(_server.KubeconfigYaml()));
        var config = await KubernetesClientConfiguration.BuildConfigFromConfigFileAsync(stream);
        using var client = new k8s.Kubernetes(config);
        await client.CoreV1.ListNamespacedSecretAsync("default", cancellationToken: ct);
        Assert.Equal(1, _server.RequestCount("list", "secrets"));
    }
}
