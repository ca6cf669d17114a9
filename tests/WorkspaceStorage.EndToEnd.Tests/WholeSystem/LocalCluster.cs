using WorkspaceStorage.Resources;
using WorkspaceStorage.EndToEnd.Tests.Infrastructure;
using WorkspaceStorage.Testing.Kubernetes;
using WorkspaceStorage.Testing.S3;

namespace WorkspaceStorage.EndToEnd.Tests.WholeSystem;

/// <summary>
/// A cluster without Docker: the real Kubernetes API server (the assembly's, emptied when the cluster starts, behind a
/// proxy of its own that counts requests), a StorageBackend on the local Ceph RGW, and the real operator (its
/// executable's entry point, in this process, unless a test runs it itself) reconciling against it through a kubeconfig
/// that points at the proxy. One at a time per assembly: see RealApiServerFixture.cs.
/// </summary>
internal sealed class LocalCluster : IAsyncDisposable
{
    private readonly string directory;

    private LocalCluster(KubeCluster kube, RgwTestServer rgw, string backendName, string bucket, string directory)
    {
        Kube = kube;
        Rgw = rgw;
        BackendName = backendName;
        Bucket = bucket;
        this.directory = directory;
    }

    public KubeCluster Kube { get; }

    public RgwTestServer Rgw { get; }

    public string BackendName { get; }

    public string Bucket { get; }

    public InProcessOperator? Operator { get; private set; }

    public string KubeconfigPath => Path.Combine(directory, "kubeconfig");

    /// <param name="namespaces">The namespaces the test's objects live in: the real server refuses objects in a missing one.</param>
    /// <param name="rgw">The S3 server of the StorageBackend; the shared local RGW when null.</param>
    /// <param name="inProcessOperator">False for tests that run the operator themselves (e.g. as a child process they kill).</param>
    public static async Task<LocalCluster> StartAsync(IEnumerable<string> namespaces, CancellationToken cancellationToken, int maxConcurrentReconciles = 4,
        RgwTestServer? rgw = null, bool inProcessOperator = true)
    {
        rgw ??= RgwTestServer.Require();
        var kube = await KubeCluster.StartAsync(namespaces, cancellationToken);
        var directory = Directory.CreateTempSubdirectory("wso-system-").FullName;
        var backend = "rgw-" + Guid.NewGuid().ToString("N")[..8];
        var bucket = RgwTestServer.UniqueBucketName("sys");
        var cluster = new LocalCluster(kube, rgw, backend, bucket, directory);
        await kube.WriteKubeconfigAsync(cluster.KubeconfigPath); // 0600: it holds the admin's token
        await kube.SeedRgwBackendAsync(rgw, backend, bucket);
        if (!inProcessOperator)
        {
            return cluster;
        }

        cluster.Operator = await InProcessOperator.StartAsync(cluster.KubeconfigPath, cancellationToken,
            "--max-concurrent-reconciles", maxConcurrentReconciles.ToString(System.Globalization.CultureInfo.InvariantCulture));
        return cluster;
    }

    /// <summary>The WorkspaceStorages on the server (in <paramref name="namespace"/>, or everywhere), read straight from it (not counted).</summary>
    public Task<IReadOnlyList<WorkspaceStorageResource>> WorkspaceStoragesAsync(string? @namespace = null) =>
        Kube.ObjectsAsync<WorkspaceStorageResource>(@namespace);

    public async ValueTask DisposeAsync()
    {
        if (Operator is not null)
        {
            await Operator.DisposeAsync();
        }

        await Kube.DisposeAsync();
        try
        {
            Directory.Delete(directory, recursive: true);
        }
        catch (IOException)
        {
            // best effort: a temporary folder
        }
    }
}
