using WorkspaceStorage.Api.Tests.Storage;
using WorkspaceStorage.Core.Credentials;
using WorkspaceStorage.Resources;
using WorkspaceStorage.Core.Workspaces;
using WorkspaceStorage.Testing.Kubernetes;

namespace WorkspaceStorage.Api.Tests.OnDemand;

/// <summary>
/// Does, for each new WorkspaceStorage in one namespace of the real API server, what the operator does on the real RGW
/// (identity, key, Secret, Ready status) — or marks it Stalled when told to. It reads and writes straight to the server
/// (<see cref="KubeCluster"/>'s object helpers), so the proxy counts only the API's requests. The real operator is
/// tested on its own and end to end; this keeps the API's tests about the API.
/// </summary>
internal sealed class StandInOperator : IAsyncDisposable
{
    private readonly KubeCluster kube;
    private readonly StorageApiHarness storage;
    private readonly string backend;
    private readonly string @namespace;
    private readonly CancellationTokenSource stop = new();
    private readonly Task loop;
    private readonly HashSet<string> done = [];
    private int provisioned;

    private StandInOperator(KubeCluster kube, StorageApiHarness storage, string backend, string @namespace)
    {
        this.kube = kube;
        this.storage = storage;
        this.backend = backend;
        this.@namespace = @namespace;
        loop = Task.Run(RunAsync);
    }

    /// <summary>When set, new objects become Stalled with this reason and message instead of Ready.</summary>
    public (string Reason, string Message)? StallWith { get; set; }

    public int Provisioned => Volatile.Read(ref provisioned);

    public static StandInOperator Start(KubeCluster kube, StorageApiHarness storage, string backend, string @namespace) =>
        new(kube, storage, backend, @namespace);

    /// <summary>A declared (GitOps) WorkspaceStorage for <paramref name="workspace"/>, made Ready at once.</summary>
    public async Task DeclareAsync(string name, WorkspaceId workspace)
    {
        lock (done)
        {
            done.Add(name);
        }

        var key = AccessKeyGenerator.Generate();
        await storage.Backend.EnsureIdentityAsync(workspace, AccessLevel.ReadWrite, CancellationToken.None);
        await storage.Backend.EnsureKeyAsync(workspace, key, CancellationToken.None);
        await WorkspaceSeeding.SeedWorkspaceAsync(kube, @namespace, name, workspace, key, backend, storage.Location.Bucket, isReady: true);
    }

    public async ValueTask DisposeAsync()
    {
        await stop.CancelAsync();
        await loop;
        stop.Dispose();
    }

    private async Task RunAsync()
    {
        while (!stop.IsCancellationRequested)
        {
            foreach (var resource in await kube.ObjectsAsync<WorkspaceStorageResource>(@namespace))
            {
                var name = resource.Metadata.Name;
                lock (done)
                {
                    if (!done.Add(name))
                    {
                        continue;
                    }
                }

                await ReconcileAsync(resource);
            }

            try
            {
                await Task.Delay(20, stop.Token); // the pace of the stand-in operator's loop (each pass one LIST), not a wait for an outcome
            }
            catch (OperationCanceledException)
            {
                return;
            }
        }
    }

    private async Task ReconcileAsync(WorkspaceStorageResource resource)
    {
        var name = resource.Metadata.Name;
        if (StallWith is { } stall)
        {
            await kube.ModifyStatusAsync<WorkspaceStorageResource>(@namespace, name, r =>
            {
                r.Status ??= new WorkspaceStorageStatus();
                r.Status.MarkStalled(r.Metadata.Generation, stall.Reason, stall.Message, DateTimeOffset.UtcNow);
            });
            return;
        }

        var workspace = WorkspaceId.Parse(resource.Spec.Workspace);
        var key = AccessKeyGenerator.Generate();
        await storage.Backend.EnsureIdentityAsync(workspace, AccessLevel.ReadWrite, CancellationToken.None);
        await storage.Backend.EnsureKeyAsync(workspace, key, CancellationToken.None);
        await kube.SeedAsync(WorkspaceSeeding.CredentialSecret(@namespace, name + "-creds", key));
        await kube.ModifyStatusAsync<WorkspaceStorageResource>(@namespace, name,
            r => r.Status = WorkspaceSeeding.ReadyStatus(name, workspace, key, backend, storage.Location.Bucket, isReady: true));
        Interlocked.Increment(ref provisioned);
    }
}
