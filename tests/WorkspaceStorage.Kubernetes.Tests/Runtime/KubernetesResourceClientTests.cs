using k8s.Models;
using WorkspaceStorage.Kubernetes.Runtime;
using WorkspaceStorage.Testing.Kubernetes;

namespace WorkspaceStorage.Kubernetes.Tests.Runtime;

public sealed class KubernetesResourceClientTests
{
    private static CancellationToken Ct => TestContext.Current.CancellationToken;

    /// <summary>The write contract every store keeps (the in-memory store, the local adapter), here for the real adapter
    /// against the in-process API server: the stores and the real client cannot drift apart unnoticed.</summary>
    [Fact]
    public async Task The_store_write_contract_holds_for_the_Kubernetes_adapter()
    {
        await using var kube = await KubeHarness.StartAsync();
        var patched = await ResourceClientContract.WritesBumpTheResourceVersionConflictAndKeepStatusSeparateAsync(kube.Widgets(), Ct);
        Assert.Equal("gold", patched.Metadata.Labels["tier"]);
    }

    [Fact]
    public async Task The_selector_watch_contract_holds_for_the_Kubernetes_adapter()
    {
        await using var kube = await KubeHarness.StartAsync();
        await ResourceClientContract.ASelectorWatchSeesObjectsEnterAndLeaveItAsync(kube.Widgets(), Ct);
    }

    [Fact]
    public async Task Custom_resource_round_trip_get_list_create_replace_status_patch_delete()
    {
        await using var kube = await KubeHarness.StartAsync();
        var widgets = kube.Widgets();
        var key = new ResourceKey(kube.Namespace, "w1");

        Assert.Null(await widgets.GetAsync(key, Ct));

        var created = await widgets.CreateAsync(Widget.Create(kube.Namespace, "w1"), Ct);
        Assert.False(string.IsNullOrEmpty(created.Metadata.ResourceVersion));
        Assert.Equal("small", created.Spec?.Size);

        created.Spec!.Size = "large";
        var replaced = await widgets.ReplaceAsync(created, Ct);
        Assert.Equal("large", replaced.Spec?.Size);

        replaced.Status = new WidgetStatus { Phase = "Ready" };
        var withStatus = await widgets.ReplaceStatusAsync(replaced, Ct);
        Assert.Equal("Ready", withStatus.Status?.Phase);

        var patched = await widgets.PatchAsync(key, ResourcePatch.Merge("""{"metadata":{"labels":{"tier":"gold"}}}"""), Ct);
        Assert.Equal("gold", patched.Metadata.Labels["tier"]);
        Assert.Equal("Ready", patched.Status?.Phase);

        var listed = await widgets.ListAsync(kube.Namespace, "tier=gold", Ct);
        Assert.Equal("w1", Assert.Single(listed.Items).Metadata.Name);
        Assert.False(string.IsNullOrEmpty(listed.ResourceVersion));
        Assert.Empty((await widgets.ListAsync(kube.Namespace, "tier=silver", Ct)).Items);

        Assert.True(await widgets.DeleteAsync(key, Ct));
        Assert.Null(await widgets.GetAsync(key, Ct));
        Assert.False(await widgets.DeleteAsync(key, Ct));
    }

    [Fact]
    public async Task Core_secrets_work_through_the_same_adapter()
    {
        await using var kube = await KubeHarness.StartAsync();
        var secrets = kube.Secrets();
        var secret = new V1Secret
        {
            Metadata = new V1ObjectMeta { Name = "creds", NamespaceProperty = kube.Namespace },
            Data = new Dictionary<string, byte[]> { ["AWS_ACCESS_KEY_ID"] = "AKIDEXAMPLE"u8.ToArray() },
        };

        await secrets.CreateAsync(secret, Ct);
        var read = await secrets.GetAsync(new ResourceKey(kube.Namespace, "creds"), Ct);

        Assert.NotNull(read);
        Assert.Equal("AKIDEXAMPLE", System.Text.Encoding.UTF8.GetString(read.Data["AWS_ACCESS_KEY_ID"]));
        Assert.Single((await secrets.ListAsync(null, null, Ct)).Items, s => s.Metadata.Name == "creds");
    }

    [Fact]
    public async Task A_stale_resource_version_surfaces_as_ResourceConflictException_and_changes_nothing()
    {
        await using var kube = await KubeHarness.StartAsync();
        var widgets = kube.Widgets();
        var original = await widgets.CreateAsync(Widget.Create(kube.Namespace, "w"), Ct);
        var stale = ResourceCopy.Clone(original);

        original.Spec!.Size = "medium";
        await widgets.ReplaceAsync(original, Ct);

        stale.Spec!.Size = "huge";
        var conflict = await Assert.ThrowsAsync<ResourceConflictException>(() => widgets.ReplaceAsync(stale, Ct));
        Assert.Equal(409, conflict.StatusCode);
        Assert.True(conflict.IsTransient);
        Assert.Equal("medium", (await widgets.GetAsync(new ResourceKey(kube.Namespace, "w"), Ct))!.Spec?.Size);
    }

    [Fact]
    public async Task Injected_conflicts_on_status_and_existing_names_are_typed()
    {
        await using var kube = await KubeHarness.StartAsync();
        var widgets = kube.Widgets();
        var created = await widgets.CreateAsync(Widget.Create(kube.Namespace, "w"), Ct);

        await Assert.ThrowsAsync<ResourceAlreadyExistsException>(() => widgets.CreateAsync(Widget.Create(kube.Namespace, "w"), Ct));

        kube.Server.InjectConflicts(Widget.Descriptor, kube.Namespace, "w", onStatus: true);
        created.Status = new WidgetStatus { Phase = "Ready" };
        await Assert.ThrowsAsync<ResourceConflictException>(() => widgets.ReplaceStatusAsync(created, Ct));
    }

    [Fact]
    public async Task Not_found_server_errors_and_timeouts_are_typed_and_carry_no_body()
    {
        await using var kube = await KubeHarness.StartAsync();
        var widgets = kube.Widgets(new ResourceClientOptions { RequestTimeout = TimeSpan.FromSeconds(5) });

        var missing = Widget.Create(kube.Namespace, "missing");
        missing.Metadata.ResourceVersion = "1";
        await Assert.ThrowsAsync<ResourceNotFoundException>(() => widgets.ReplaceAsync(missing, Ct));
        await Assert.ThrowsAsync<ResourceNotFoundException>(() => widgets.PatchAsync(new ResourceKey(kube.Namespace, "missing"), ResourcePatch.Merge("{}"), Ct));

        using (kube.Server.FailRequests(503))
        {
            var unavailable = await Assert.ThrowsAsync<ResourceClientException>(() => widgets.ListAsync(null, null, Ct));
            Assert.Equal(503, unavailable.StatusCode);
            Assert.True(unavailable.IsTransient);
        }

        var secret = new V1Secret
        {
            Metadata = new V1ObjectMeta { Name = "s", NamespaceProperty = kube.Namespace },
            StringData = new Dictionary<string, string> { ["secretKey"] = "wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY" },
        };
        using (kube.Server.FailRequests(422))
        {
            var rejected = await Assert.ThrowsAsync<ResourceRejectedException>(() => kube.Secrets().CreateAsync(secret, Ct));
            Assert.False(rejected.IsTransient);
            Assert.DoesNotContain("wJalrXUtnFEMI", rejected.ToString(), StringComparison.Ordinal);
        }
    }

    [Fact]
    public async Task A_namespace_on_a_cluster_scoped_type_or_none_on_a_namespaced_one_is_refused_before_any_call()
    {
        await using var kube = await KubeHarness.StartAsync();
        kube.Server.ResetRequestCounts();

        var error = await Assert.ThrowsAsync<ArgumentException>(() => kube.Widgets().GetAsync(new ResourceKey(null, "w"), Ct));
        Assert.Contains("namespace", error.Message, StringComparison.Ordinal);
        Assert.Equal(0, kube.Server.TotalRequestCount);
    }
}
