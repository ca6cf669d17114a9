using System.Collections.Concurrent;
using System.Diagnostics;
using System.Text;
using Amazon.S3.Model;
using k8s.Models;
using WorkspaceStorage.Core.Model;
using WorkspaceStorage.Resources;
using WorkspaceStorage.Core.Workspaces;
using WorkspaceStorage.EndToEnd.Tests.WholeSystem;
using WorkspaceStorage.Testing.Operator;
using WorkspaceStorage.Testing.S3;
using WorkspaceStorage.Testing.Support;

namespace WorkspaceStorage.EndToEnd.Tests.Faults;

/// <summary>
/// Issue 11, target 5: the real operator executable, converging 300 WorkspaceStorages on the real RGW, is killed with
/// SIGKILL at random moments and restarted each time. A crash at any instant (between a backend call and the Secret
/// write, in the middle of a finalizer, before a status write) must leave nothing the next run cannot finish: in the
/// end every object is Ready, RGW holds exactly the key each Secret names, one identity per object, and the Delete-policy
/// objects deleted during the storm (one per run from the third, each killed soon after) leave nothing behind.
/// </summary>
public sealed class OperatorKillStormTests
{
    private const int Objects = 300;
    private const int Kills = 12;
    /// <summary>Every 10th object has deletionPolicy Delete; runs 3 to 12 each delete one that is Ready by then.</summary>
    private const int DeletePolicyEvery = 10;
    private const string Namespace = "kill-storm";
    private static readonly TimeSpan ConvergenceTimeout = TimeSpan.FromSeconds(240);

    private static CancellationToken Ct => TestContext.Current.CancellationToken;

    private static void Say(string line) => TestContext.Current.TestOutputHelper?.WriteLine($"{DateTime.UtcNow:HH:mm:ss.fff} {line}");

    [Fact]
    public async Task Killed_with_SIGKILL_at_random_moments_while_converging_it_leaves_every_object_Ready_with_exactly_its_key_and_deletes_leave_nothing()
    {
        var total = Stopwatch.StartNew();
        var rgw = RgwTestServer.Require();
        await using var cluster = await LocalCluster.StartAsync([Namespace], Ct, rgw: rgw, inProcessOperator: false);
        using var inventory = new RgwInventory(rgw);
        using var s3 = rgw.CreateAwsS3Client(rgw.Admin);

        // A prefix of this run's own: the RGW is shared with every other test.
        var prefix = $"ws-k9-{Guid.NewGuid().ToString("N")[..6]}-";
        var workspaces = Enumerable.Range(0, Objects).Select(i => WorkspaceId.Parse($"{prefix}{i:D3}")).ToList();
        // Candidates for deletion during the storm: deletionPolicy Delete; one is deleted per run once Ready and holding data.
        var candidates = workspaces.Where((_, i) => i % DeletePolicyEvery == 0).ToHashSet();
        foreach (var workspace in workspaces)
        {
            await cluster.Kube.SeedAsync(new WorkspaceStorageResource
            {
                Metadata = new V1ObjectMeta { Name = workspace.Value, NamespaceProperty = Namespace },
                Spec = new WorkspaceStorageSpec
                {
                    Workspace = workspace.Value,
                    BackendRef = new BackendReference { Name = cluster.BackendName },
                    DeletionPolicy = candidates.Contains(workspace) ? DeletionPolicy.Delete : DeletionPolicy.Retain,
                },
            });
        }

        var seed = Environment.TickCount;
        var random = new Random(seed);
        Say($"{Objects} WorkspaceStorages ({prefix}000…), {candidates.Count} with deletionPolicy Delete; kill moments drawn with seed {seed}");
        string[] arguments = ["--max-concurrent-reconciles", "16"];
        var deletedAt = new ConcurrentDictionary<WorkspaceId, int>();
        var storm = Stopwatch.StartNew();
        for (var kill = 1; kill <= Kills; kill++)
        {
            await using var run = OperatorProcess.Start(cluster.KubeconfigPath, arguments);
            // Odd kills land anywhere from start-up (informers listing, the first reconciles) on; even ones once it is
            // ready, in the middle of a reconcile wave, where a crash falls between backend calls and Kubernetes writes.
            var sinceReady = kill % 2 == 0;
            if (sinceReady)
            {
                await run.WaitUntilReadyAsync(TimeSpan.FromSeconds(60), Ct);
            }

            var lifetime = TimeSpan.FromMilliseconds(sinceReady ? random.Next(0, 4000) : random.Next(300, 3000));
            var deleteIn = kill >= 3 ? TimeSpan.FromMilliseconds(random.Next(0, (int)lifetime.TotalMilliseconds)) : (TimeSpan?)null;
            if (deleteIn is { } wait)
            {
                await Task.Delay(wait, Ct); // a random instant in the operator's life to delete at: what is tested
                await DeleteOneReadyAsync(cluster, s3, candidates, deletedAt, kill);
                await Task.Delay(lifetime - wait, Ct); // the rest of its random lifetime before the kill: what is tested
            }
            else
            {
                await Task.Delay(lifetime, Ct); // a random lifetime before the kill: what is tested
            }

            var exitedEarly = run.HasExited;
            await run.KillAsync();
            var (ready, _) = await CountAsync(cluster);
            Say($"kill {kill,2}: SIGKILL {lifetime.TotalMilliseconds:0} ms after {(sinceReady ? "/readyz" : "start")}{(exitedEarly ? " (it had exited on its own!)" : "")}; {ready} Ready so far");
            Assert.False(exitedEarly, $"the operator exited on its own before kill {kill}:\n{run.Tail()}");
        }

        Assert.False(deletedAt.IsEmpty, "no Delete-policy object was Ready in time to be deleted during the storm");
        var doomed = deletedAt.Keys.ToList();
        await using var last = OperatorProcess.Start(cluster.KubeconfigPath, arguments);
        var survivors = workspaces.Except(doomed).ToList();
        await Eventually.WaitAsync($"all {survivors.Count} WorkspaceStorages Ready and the {doomed.Count} deleted ones gone after {Kills} kills", ConvergenceTimeout, async _ =>
        {
            var all = await cluster.WorkspaceStoragesAsync(Namespace);
            var (ready, present) = Count(all);
            var doomedLeft = doomed.Count(w => all.Any(r => r.Metadata.Name == w.Value));
            Assert.False(last.HasExited, $"the operator exited on its own:\n{last.Tail()}");
            return (ready == survivors.Count && doomedLeft == 0, $"{ready}/{survivors.Count} Ready, {present} objects, {doomedLeft} deleted ones left");
        }, Ct);
        var converged = storm.Elapsed;
        await last.KillAsync();
        Say($"converged {converged.TotalSeconds:0.0} s after the storm began ({Kills} kills, deletions during runs {string.Join(", ", deletedAt.Values.Order())})");

        // Every survivor: Ready for its generation, and RGW holds exactly the key its Secret names.
        var mismatches = new ConcurrentBag<string>();
        await Parallel.ForEachAsync(survivors, new ParallelOptions { MaxDegreeOfParallelism = 8, CancellationToken = Ct }, async (workspace, ct) =>
        {
            var resource = (await cluster.Kube.GetAsync<WorkspaceStorageResource>(Namespace, workspace.Value))!;
            if (!resource.Status.IsTrue(ConditionTypes.Ready) || resource.Status?.ObservedGeneration != resource.Metadata.Generation)
            {
                mismatches.Add($"{workspace}: not Ready for its generation");
                return;
            }

            var secret = await cluster.Kube.GetAsync<V1Secret>(Namespace, resource.Status!.SecretName!);
            var named = secret?.Data?.TryGetValue("AWS_ACCESS_KEY_ID", out var bytes) == true ? Encoding.UTF8.GetString(bytes) : null;
            var held = await inventory.KeysAsync(workspace, ct);
            if (named is null || held.Count != 1 || held[0] != named || resource.Status.AccessKeyId != named)
            {
                mismatches.Add($"{workspace}: Secret names {named ?? "no key"}, status {resource.Status.AccessKeyId}, RGW holds [{string.Join(", ", held)}]");
            }
        });
        Assert.True(mismatches.IsEmpty, $"{mismatches.Count} workspaces whose RGW keys differ from their Secret:\n{string.Join('\n', mismatches.Take(20))}");

        // One RGW user per WorkspaceStorage: no orphaned identity from a crash, none missing.
        var identityPrefix = RgwInventory.IdentityOf(workspaces[0])[..^3];
        var users = (await inventory.UserIdsAsync(Ct)).Where(u => u.StartsWith(identityPrefix, StringComparison.Ordinal)).ToList();
        Assert.Equal(survivors.Select(RgwInventory.IdentityOf).Order(), users.Order());

        // The Delete-policy objects deleted mid-storm: object, Secret, identity, keys and data all gone.
        foreach (var workspace in doomed)
        {
            Assert.Null(await cluster.Kube.GetAsync<WorkspaceStorageResource>(Namespace, workspace.Value));
            // No garbage collector runs beside the real server: the Secret is gone because the finalizer deleted it.
            Assert.Null(await cluster.Kube.GetAsync<V1Secret>(Namespace, workspace.Value + "-s3"));
            Assert.False(await inventory.HasIdentityAsync(workspace, Ct), $"{workspace}: its RGW user survived the deletion");
            var data = await s3.ListObjectsV2Async(new ListObjectsV2Request { BucketName = cluster.Bucket, Prefix = workspace.Prefix }, Ct);
            Assert.True((data.S3Objects?.Count ?? 0) == 0, $"{workspace}: {data.S3Objects?.Count} objects left under {workspace.Prefix}");
        }

        Say($"checked {survivors.Count} workspaces' keys, {users.Count} RGW users and {doomed.Count} deletions; whole test {total.Elapsed.TotalSeconds:0.0} s");
    }

    /// <summary>
    /// Deletes one Delete-policy object that is Ready and not deleted yet, after writing an object under its prefix (so
    /// "leaves nothing behind" covers data). Does nothing when none is Ready.
    /// </summary>
    private static async Task DeleteOneReadyAsync(LocalCluster cluster, Amazon.S3.AmazonS3Client s3, IReadOnlySet<WorkspaceId> candidates,
        ConcurrentDictionary<WorkspaceId, int> deletedAt, int run)
    {
        var ready = (await cluster.WorkspaceStoragesAsync(Namespace)).FirstOrDefault(r => r.Metadata.DeletionTimestamp is null && r.Status.IsTrue(ConditionTypes.Ready)
            && candidates.Any(c => c.Value == r.Spec.Workspace) && !deletedAt.Keys.Any(d => d.Value == r.Spec.Workspace));
        if (ready is null)
        {
            return;
        }

        var workspace = candidates.Single(c => c.Value == ready.Spec.Workspace);

        await s3.PutObjectAsync(new PutObjectRequest { BucketName = cluster.Bucket, Key = workspace.Prefix + "data.txt", ContentBody = "doomed" }, Ct);
        Assert.True(await cluster.Kube.DeleteAsync<WorkspaceStorageResource>(Namespace, workspace.Value));
        deletedAt[workspace] = run;
        Say($"deleted {workspace} (Ready, data written) during run {run}");
    }

    private static async Task<(int Ready, int Present)> CountAsync(LocalCluster cluster) => Count(await cluster.WorkspaceStoragesAsync(Namespace));

    private static (int Ready, int Present) Count(IReadOnlyList<WorkspaceStorageResource> all) =>
        (all.Count(r => r.Metadata.DeletionTimestamp is null && r.Status.IsTrue(ConditionTypes.Ready)), all.Count);
}
