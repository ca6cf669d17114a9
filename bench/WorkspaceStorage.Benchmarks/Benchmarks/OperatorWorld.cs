using System.Collections.Concurrent;
using System.Text;
using k8s.Models;
using WorkspaceStorage.Benchmarks.Harness;
using WorkspaceStorage.Core.Model;
using WorkspaceStorage.Resources;
using WorkspaceStorage.Core.Workspaces;
using WorkspaceStorage.Operator.Hosting;
using WorkspaceStorage.Kubernetes.Runtime;
using WorkspaceStorage.Testing.Kubernetes;

namespace WorkspaceStorage.Benchmarks.Benchmarks;

/// <summary>
/// A real Kubernetes API server of the benchmark's own (etcd and tools/kube-apiserver, as the tests use) with a
/// StorageBackend (type ceph-rgw, the local RGW, a bucket of its own) and its admin Secret, as a cluster would hold
/// them; WorkspaceStorages are added in bulk. <see cref="Client"/> goes through the test kit's proxy, which counts
/// requests; <see cref="DirectClient"/> does not.
/// </summary>
public sealed class OperatorWorld : IAsyncDisposable
{
    public const string Namespace = "bench";
    public const string AdminNamespace = "wso-system";

    /// <summary>Creates in flight at once when seeding: the API server and etcd share the machine's 2 cores with the operator.</summary>
    private const int SeedParallelism = 8;

    private readonly RealKubeApiServer server;

    private OperatorWorld(RealKubeApiServer server, KubeCluster kube, string bucket)
    {
        this.server = server;
        Kube = kube;
        Bucket = bucket;
        Client = kube.CreateClient();
        Stores = OperatorStores.FromKubernetes(Client);
        DirectClient = server.CreateAdminClient();
        DirectStores = OperatorStores.FromKubernetes(DirectClient);
    }

    public KubeCluster Kube { get; }

    public k8s.Kubernetes Client { get; }

    public OperatorStores Stores { get; }

    /// <summary>Straight to the API server, as an operator in a cluster talks to it: for the latency rows, where the
    /// proxy's extra hop would be counted as the operator's.</summary>
    public k8s.Kubernetes DirectClient { get; }

    public OperatorStores DirectStores { get; }

    /// <summary>The admin's kubeconfig straight to the server (TLS, its own CA), for programs that need no counting.</summary>
    public string DirectKubeconfig => server.AdminKubeconfig;

    public string Bucket { get; }

    public string BackendName { get; } = "rgw-bench";

    public static async Task<OperatorWorld> CreateAsync(BenchContext context)
    {
        BenchContext.Progress("starting a real Kubernetes API server (scripts/kube-apiserver.sh)");
        var server = await RealKubeApiServer.StartAsync("kube-apiserver-bench", context.CancellationToken);
        KubeCluster? kube = null;
        try
        {
            kube = await KubeCluster.StartAsync(server, [Namespace, AdminNamespace], context.CancellationToken);
            var world = new OperatorWorld(server, kube, "bench-op-" + Guid.NewGuid().ToString("N")[..8]);
            await kube.SeedAsync(new V1Secret
            {
                Metadata = new V1ObjectMeta { Name = "rgw-admin", NamespaceProperty = AdminNamespace },
                Data = new Dictionary<string, byte[]>
                {
                    ["AWS_ACCESS_KEY_ID"] = Encoding.UTF8.GetBytes(context.Admin.AccessKeyId),
                    ["AWS_SECRET_ACCESS_KEY"] = Encoding.UTF8.GetBytes(context.Admin.SecretAccessKey),
                },
            });
            await kube.SeedAsync(new StorageBackendResource
            {
                Metadata = new V1ObjectMeta { Name = world.BackendName },
                Spec = new StorageBackendSpec
                {
                    Type = context.BackendType,
                    Endpoint = context.RgwEndpoint.ToString(),
                    Region = context.Region,
                    Bucket = world.Bucket,
                    AdminCredentialsSecretRef = new AdminCredentialsSecretReference { Name = "rgw-admin", Namespace = AdminNamespace },
                    // Single-tenant: without a claim ceiling every WorkspaceStorage would be Stalled (ClaimNotAllowed).
                    AllowClaimsFromAnyNamespace = true,
                },
            });
            return world;
        }
        catch
        {
            if (kube is not null)
            {
                await kube.DisposeAsync();
            }

            await server.DisposeAsync();
            throw;
        }
    }

    /// <summary>Creates <paramref name="count"/> WorkspaceStorages as fast as the API server takes them (straight to it,
    /// not counted), each for a fresh workspace.</summary>
    public async Task<IReadOnlyList<WorkspaceId>> CreateStoragesAsync(int count, string stem, CancellationToken cancellationToken)
    {
        var run = Guid.NewGuid().ToString("N")[..6];
        var workspaces = Enumerable.Range(0, count).Select(i => WorkspaceId.Parse($"ws-{stem}-{run}-{i:D5}")).ToList();
        await SeedAsync(workspaces, workspace => Kube.SeedAsync(new WorkspaceStorageResource
        {
            Metadata = new V1ObjectMeta { Name = workspace.Value, NamespaceProperty = Namespace },
            Spec = new WorkspaceStorageSpec
            {
                Workspace = workspace.Value,
                BackendRef = new BackendReference { Name = BackendName },
                Access = WorkspaceAccess.ReadWrite,
            },
        }), cancellationToken);
        return workspaces;
    }

    /// <summary>Runs <paramref name="seed"/> for every item, <see cref="SeedParallelism"/> at a time, with a progress line every 10 s.</summary>
    public static async Task SeedAsync<T>(IReadOnlyList<T> items, Func<T, Task> seed, CancellationToken cancellationToken)
    {
        var done = 0;
        var watch = System.Diagnostics.Stopwatch.StartNew();
        using var progress = new Timer(_ => BenchContext.Progress($"seeding: {Volatile.Read(ref done):N0}/{items.Count:N0} after {watch.Elapsed.TotalSeconds:F0} s"),
            null, TimeSpan.FromSeconds(10), TimeSpan.FromSeconds(10));
        await Parallel.ForEachAsync(items, new ParallelOptions { MaxDegreeOfParallelism = SeedParallelism, CancellationToken = cancellationToken },
            async (item, _) =>
            {
                await seed(item);
                Interlocked.Increment(ref done);
            });
    }

    /// <summary>How many WorkspaceStorages in the namespace have Ready=True (and how many are Stalled=True).</summary>
    public async Task<(int Ready, int Stalled)> CountReadyAsync()
    {
        int ready = 0, stalled = 0;
        foreach (var item in await Kube.ObjectsAsync<WorkspaceStorageResource>(Namespace))
        {
            ready += item.Status?.IsTrue(ConditionTypes.Ready) == true ? 1 : 0;
            stalled += item.Status?.IsTrue(ConditionTypes.Stalled) == true ? 1 : 0;
        }

        return (ready, stalled);
    }

    /// <summary>Polls until <paramref name="count"/> are Ready; returns false on timeout. Each poll lists every object
    /// from the real server, so it polls once a second: often enough beside convergence times of tens of seconds.</summary>
    public async Task<bool> WaitForReadyAsync(int count, TimeSpan timeout, string label, CancellationToken cancellationToken)
    {
        var watch = System.Diagnostics.Stopwatch.StartNew();
        var lastReport = TimeSpan.Zero;
        while (watch.Elapsed < timeout)
        {
            var (ready, stalled) = await CountReadyAsync();
            if (ready >= count)
            {
                return true;
            }

            if (watch.Elapsed - lastReport > TimeSpan.FromSeconds(10))
            {
                lastReport = watch.Elapsed;
                BenchContext.Progress($"{label}: {ready}/{count} Ready, {stalled} Stalled after {watch.Elapsed.TotalSeconds:F0} s");
            }

            await Task.Delay(1000, cancellationToken);
        }

        return false;
    }

    public async ValueTask DisposeAsync()
    {
        Client.Dispose();
        DirectClient.Dispose();
        await Kube.DisposeAsync();
        await server.DisposeAsync();
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
