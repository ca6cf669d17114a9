using System.Collections.Concurrent;
using System.Text;
using System.Text.Json.Nodes;
using k8s.Models;
using WorkspaceStorage.Benchmarks.Harness;
using WorkspaceStorage.Core.Resources;
using WorkspaceStorage.Core.Workspaces;
using WorkspaceStorage.Operator.Hosting;
using WorkspaceStorage.Kubernetes.Runtime;
using WorkspaceStorage.Testing.Kubernetes;

namespace WorkspaceStorage.Benchmarks.Benchmarks;

/// <summary>
/// The in-process Kubernetes test API server with a StorageBackend (type ceph-rgw, the local RGW, a bucket of its
/// own) and its admin Secret, as a cluster would hold them; WorkspaceStorages are added in bulk.
/// </summary>
public sealed class OperatorWorld : IAsyncDisposable
{
    public const string Namespace = "bench";
    public const string AdminNamespace = "wso-system";

    private OperatorWorld(KubeTestServer kube, string bucket)
    {
        Kube = kube;
        Bucket = bucket;
        Client = kube.CreateClient();
        Stores = OperatorStores.FromKubernetes(Client);
    }

    public KubeTestServer Kube { get; }

    public k8s.Kubernetes Client { get; }

    public OperatorStores Stores { get; }

    public string Bucket { get; }

    public string BackendName { get; } = "rgw-bench";

    public static async Task<OperatorWorld> CreateAsync(BenchContext context)
    {
        // Enough watch history for 10,000 objects created at once plus their status and Secret writes.
        var kube = await KubeTestServer.StartAsync(new KubeTestServerOptions { WatchHistoryLimit = 200_000 }, context.CancellationToken);
        var world = new OperatorWorld(kube, "bench-op-" + Guid.NewGuid().ToString("N")[..8]);
        await world.Stores.Secrets.CreateAsync(new V1Secret
        {
            Metadata = new V1ObjectMeta { Name = "rgw-admin", NamespaceProperty = AdminNamespace },
            Data = new Dictionary<string, byte[]>
            {
                ["AWS_ACCESS_KEY_ID"] = Encoding.UTF8.GetBytes(context.Admin.AccessKeyId),
                ["AWS_SECRET_ACCESS_KEY"] = Encoding.UTF8.GetBytes(context.Admin.SecretAccessKey),
            },
        }, context.CancellationToken);
        await world.Stores.StorageBackends.CreateAsync(new StorageBackendResource
        {
            Metadata = new V1ObjectMeta { Name = world.BackendName },
            Spec = new StorageBackendSpec
            {
                Type = StorageBackendType.CephRgw,
                Endpoint = context.RgwEndpoint.ToString(),
                Region = context.Region,
                Bucket = world.Bucket,
                AdminCredentialsSecretRef = new AdminCredentialsSecretReference { Name = "rgw-admin", Namespace = AdminNamespace },
            },
        }, context.CancellationToken);
        return world;
    }

    /// <summary>Creates <paramref name="count"/> WorkspaceStorages at once (straight into the server's store), each for a fresh workspace.</summary>
    public IReadOnlyList<WorkspaceId> CreateStorages(int count, string stem)
    {
        var run = Guid.NewGuid().ToString("N")[..6];
        var workspaces = new List<WorkspaceId>(count);
        for (var i = 0; i < count; i++)
        {
            var workspace = WorkspaceId.Parse($"ws-{stem}-{run}-{i:D5}");
            workspaces.Add(workspace);
            Kube.Seed(KubeResources.WorkspaceStorages, new WorkspaceStorageResource
            {
                Metadata = new V1ObjectMeta { Name = workspace.Value, NamespaceProperty = Namespace },
                Spec = new WorkspaceStorageSpec
                {
                    Workspace = workspace.Value,
                    BackendRef = new BackendReference { Name = BackendName },
                    Access = WorkspaceAccess.ReadWrite,
                },
            });
        }

        return workspaces;
    }

    /// <summary>How many WorkspaceStorages in the namespace have Ready=True (and how many are Stalled=True).</summary>
    public (int Ready, int Stalled) CountReady()
    {
        int ready = 0, stalled = 0;
        foreach (var item in Kube.Objects(KubeResources.WorkspaceStorages, Namespace))
        {
            if (item["status"]?["conditions"] is not JsonArray conditions)
            {
                continue;
            }

            foreach (var condition in conditions)
            {
                var type = condition?["type"]?.GetValue<string>();
                var status = condition?["status"]?.GetValue<string>();
                if (status == Conditions.True && type == ConditionTypes.Ready)
                {
                    ready++;
                }
                else if (status == Conditions.True && type == ConditionTypes.Stalled)
                {
                    stalled++;
                }
            }
        }

        return (ready, stalled);
    }

    /// <summary>Polls until <paramref name="count"/> are Ready; returns false on timeout. Polling is cheap beside the work measured.</summary>
    public async Task<bool> WaitForReadyAsync(int count, TimeSpan timeout, string label, CancellationToken cancellationToken)
    {
        var watch = System.Diagnostics.Stopwatch.StartNew();
        var lastReport = TimeSpan.Zero;
        while (watch.Elapsed < timeout)
        {
            var (ready, stalled) = CountReady();
            if (ready >= count)
            {
                return true;
            }

            if (watch.Elapsed - lastReport > TimeSpan.FromSeconds(10))
            {
                lastReport = watch.Elapsed;
                BenchContext.Progress($"{label}: {ready}/{count} Ready, {stalled} Stalled after {watch.Elapsed.TotalSeconds:F0} s");
            }

            await Task.Delay(250, cancellationToken);
        }

        return false;
    }

    public async ValueTask DisposeAsync()
    {
        Client.Dispose();
        await Kube.DisposeAsync();
    }
}

/// <summary>Counts finished reconciles per controller, and the queue depth, so a run knows when every object was seen.</summary>
public sealed class CountingControllerMetrics : IControllerMetrics
{
    private readonly ConcurrentDictionary<string, int> completed = new();
    private readonly ConcurrentDictionary<string, int> depth = new();

    public int Completed(string controller) => completed.GetValueOrDefault(controller);

    public int Depth(string controller) => depth.GetValueOrDefault(controller);

    public void ReconcileCompleted(string controller, string result, TimeSpan duration) =>
        completed.AddOrUpdate(controller, 1, (_, n) => n + 1);

    public void QueueDepthChanged(string controller, int depth) => this.depth[controller] = depth;

    public void Reset() => completed.Clear();
}
