using System.Diagnostics;
using k8s;
using WorkspaceStorage.Testing.Kubernetes;

namespace WorkspaceStorage.Kubernetes.Tests.TestApiServer;

/// <summary>10,000 objects: the server must stay fast enough for operator benchmarks.</summary>
public sealed class ScaleTests
{
    private const int ObjectCount = 10_000;

    [Fact]
    public async Task Ten_thousand_objects_are_listed_and_watched_quickly()
    {
        var ct = Api.Timeout(120);
        await using var server = await KubeTestServer.StartAsync(new KubeTestServerOptions { WatchHistoryLimit = 2 * ObjectCount }, ct);
        using var client = server.CreateClient();

        var clock = Stopwatch.StartNew();
        for (var i = 0; i < ObjectCount; i++)
        {
            server.Seed(TestWorkspaceStorage.New($"ws-{i:D5}", "bench", $"w{i}",
                new Dictionary<string, string> { ["shard"] = (i % 10).ToString(System.Globalization.CultureInfo.InvariantCulture) }));
        }

        var seeded = clock.Elapsed;

        clock.Restart();
        var list = (await client.CustomObjects.ListNamespacedCustomObjectWithHttpMessagesAsync<TestList<TestWorkspaceStorage>>(
            Api.Group, Api.Version, "bench", Api.WorkspaceStorages, cancellationToken: ct)).Body;
        var listed = clock.Elapsed;
        Assert.Equal(ObjectCount, list.Items.Count);

        clock.Restart();
        var shard = (await client.CustomObjects.ListNamespacedCustomObjectWithHttpMessagesAsync<TestList<TestWorkspaceStorage>>(
            Api.Group, Api.Version, "bench", Api.WorkspaceStorages, labelSelector: "shard=3", cancellationToken: ct)).Body;
        var filtered = clock.Elapsed;
        Assert.Equal(ObjectCount / 10, shard.Items.Count);

        // Initial state through a watch (no resourceVersion): 10,000 ADDED events.
        clock.Restart();
        var initial = await Api.Collect(
            client.CustomObjects.WatchListNamespacedCustomObjectAsync(Api.Group, Api.Version, "bench", Api.WorkspaceStorages, cancellationToken: ct),
            ObjectCount, ct);
        var watchedInitial = clock.Elapsed;
        Assert.Equal(ObjectCount, initial.Count);

        // Live: a watch from the list's version sees 10,000 client writes (one status update each).
        var collecting = Api.Collect(
            client.CustomObjects.WatchListNamespacedCustomObjectAsync(Api.Group, Api.Version, "bench", Api.WorkspaceStorages,
                resourceVersion: list.Metadata.ResourceVersion, cancellationToken: ct),
            ObjectCount, ct);
        clock.Restart();
        await Parallel.ForEachAsync(list.Items, new ParallelOptions { MaxDegreeOfParallelism = 8, CancellationToken = ct }, async (item, token) =>
        {
            var patch = new k8s.Models.V1Patch("""{"status":{"phase":"Ready","observedGeneration":1}}""", k8s.Models.V1Patch.PatchType.MergePatch);
            await client.CustomObjects.PatchNamespacedCustomObjectStatusAsync(patch, Api.Group, Api.Version, "bench", Api.WorkspaceStorages,
                item.Metadata.Name, cancellationToken: token);
        });
        var written = clock.Elapsed;
        var live = await collecting;
        var watchedLive = clock.Elapsed;
        Assert.Equal(ObjectCount, live.Count);
        Assert.All(live, e => Assert.Equal(WatchEventType.Modified, e.Item1));

        var report = $"10,000 objects: seed {seeded.TotalMilliseconds:F0} ms, list {listed.TotalMilliseconds:F0} ms, " +
                     $"label-filtered list {filtered.TotalMilliseconds:F0} ms, initial watch {watchedInitial.TotalMilliseconds:F0} ms, " +
                     $"10,000 status patches {written.TotalMilliseconds:F0} ms ({ObjectCount / written.TotalSeconds:F0}/s), all live events after {watchedLive.TotalMilliseconds:F0} ms";
        TestContext.Current.TestOutputHelper?.WriteLine(report);
        Console.WriteLine(report);
        Assert.True(listed < TimeSpan.FromSeconds(10), report);
        Assert.True(watchedInitial < TimeSpan.FromSeconds(10), report);
        Assert.Empty(server.UnexpectedErrors);
    }
}
