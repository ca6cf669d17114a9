using System.Collections.Concurrent;
using System.Text;
using k8s.Models;
using WorkspaceStorage.Operator.LocalMode;
using WorkspaceStorage.Kubernetes.Runtime;
using WorkspaceStorage.Testing.Kubernetes;
using WorkspaceStorage.Testing.Support;

namespace WorkspaceStorage.Operator.Tests.LocalMode;

/// <summary>
/// The local adapter keeps the IResourceClient/IResourceWatcher contract the in-memory store and the Kubernetes adapter
/// keep (the same cases as InMemoryResourceStoreTests), and mirrors every write into the output directory.
/// </summary>
public sealed class LocalResourceClientContractTests : IDisposable
{
    private readonly TempDirectory output = new("local-client");

    private static CancellationToken Ct => TestContext.Current.CancellationToken;

    public void Dispose() => output.Dispose();

    private static UnixFileMode ModeOf(string path) => OperatingSystem.IsWindows() ? UnixFileMode.None : File.GetUnixFileMode(path);

    private LocalResourceClient<Widget> NewClient() => new(Widget.Descriptor, new LocalOutputDirectory(output.Path), "widgets");

    [Fact]
    public async Task Writes_bump_the_resource_version_stale_writes_conflict_and_status_is_separate()
    {
        var patched = await ResourceClientContract.WritesBumpTheResourceVersionConflictAndKeepStatusSeparateAsync(NewClient(), Ct);

        // The file shows the stored object, status included.
        var file = await File.ReadAllTextAsync(output.Combine("widgets", "ns", "w.yaml"), Ct);
        Assert.Contains("phase: Ready", file, StringComparison.Ordinal);
        Assert.Contains("size: large", file, StringComparison.Ordinal);
        Assert.Contains($"resourceVersion: \"{patched.Metadata.ResourceVersion}\"", file, StringComparison.Ordinal);
    }

    [Fact]
    public async Task A_finalizer_holds_a_deleted_object_and_its_file_until_it_is_removed()
    {
        var store = NewClient();
        var key = new ResourceKey("ns", "w");
        var widget = Widget.Create("ns", "w");
        widget.Metadata.Finalizers = ["example.com/cleanup"];
        await store.CreateAsync(widget, Ct);
        var file = output.Combine("widgets", "ns", "w.yaml");

        Assert.True(await store.DeleteAsync(key, Ct));
        var deleting = await store.GetAsync(key, Ct);
        Assert.NotNull(deleting?.Metadata.DeletionTimestamp);
        Assert.Contains("deletionTimestamp", await File.ReadAllTextAsync(file, Ct), StringComparison.Ordinal);

        deleting!.Metadata.Finalizers = [];
        await store.ReplaceAsync(deleting, Ct);
        Assert.Null(await store.GetAsync(key, Ct));
        Assert.False(File.Exists(file));
        Assert.False(await store.DeleteAsync(key, Ct));
    }

    [Fact]
    public async Task An_informer_on_the_adapter_lists_and_sees_every_change_in_order()
    {
        var store = NewClient();
        await store.CreateAsync(Widget.Create("ns", "stays"), Ct);
        await store.CreateAsync(Widget.Create("ns", "vanishes"), Ct);
        var informer = new Informer<Widget>(store, "widgets", new InformerOptions { ResyncPeriod = null, MinimumHealthyWatch = TimeSpan.Zero });
        var events = new ConcurrentQueue<InformerEvent<Widget>>();
        informer.AddEventHandler(events.Enqueue);
        using var stop = new CancellationTokenSource();
        var run = informer.RunAsync(stop.Token);
        await informer.WaitForSyncAsync(Ct).WaitAsync(TimeSpan.FromSeconds(5), Ct);

        await store.CreateAsync(Widget.Create("ns", "late"), Ct);
        await store.DeleteAsync(new ResourceKey("ns", "vanishes"), Ct);
        await Eventually.TrueAsync(() => events.Any(e => e.Type == InformerEventType.Deleted && e.Object.Metadata.Name == "vanishes"), "the delete");
        Assert.Equal(["late", "stays"], informer.List().Select(w => w.Metadata.Name).Order().ToArray());

        await stop.CancelAsync();
        await run;
    }

    [Fact]
    public async Task A_watch_resumes_from_a_resource_version_and_a_selector_sees_objects_enter_and_leave_it()
    {
        await ResourceClientContract.ASelectorWatchSeesObjectsEnterAndLeaveItAsync(NewClient(), Ct);
    }

    [Fact]
    public async Task Secret_files_are_written_owner_only_and_unmanaged_secrets_are_not_written()
    {
        if (OperatingSystem.IsWindows())
        {
            Assert.Skip("Unix file modes only");
        }

        var secrets = new LocalResourceClient<V1Secret>(ResourceDescriptor.Secrets, new LocalOutputDirectory(output.Path), LocalOutputDirectory.SecretsFolder,
            s => s.Metadata.Labels?.ContainsKey("managed") == true, confidential: true);
        await secrets.CreateAsync(new V1Secret
        {
            Metadata = new V1ObjectMeta { Name = "mine", NamespaceProperty = "ns", Labels = new Dictionary<string, string> { ["managed"] = "yes" } },
            Data = new Dictionary<string, byte[]> { ["AWS_SECRET_ACCESS_KEY"] = Encoding.UTF8.GetBytes("s3cr3t") },
        }, Ct);
        await secrets.CreateAsync(new V1Secret { Metadata = new V1ObjectMeta { Name = "theirs", NamespaceProperty = "ns" } }, Ct);

        var file = output.Combine("secrets", "ns", "mine.yaml");
        Assert.Equal(UnixFileMode.UserRead | UnixFileMode.UserWrite, ModeOf(file));
        Assert.Equal(UnixFileMode.UserRead | UnixFileMode.UserWrite | UnixFileMode.UserExecute, ModeOf(output.Combine("secrets")));
        Assert.Equal(UnixFileMode.UserRead | UnixFileMode.UserWrite | UnixFileMode.UserExecute, ModeOf(output.Combine("secrets", "ns")));
        Assert.Contains(Convert.ToBase64String(Encoding.UTF8.GetBytes("s3cr3t")), await File.ReadAllTextAsync(file, Ct), StringComparison.Ordinal);
        Assert.False(File.Exists(output.Combine("secrets", "ns", "theirs.yaml")));
        Assert.Empty(Directory.GetFiles(output.Combine("secrets", "ns"), "*.tmp"));
    }
}
