using System.Text.Json.Nodes;
using k8s;
using k8s.Models;
using Microsoft.Extensions.Logging;
using WorkspaceStorage.Core.Resources;
using WorkspaceStorage.Operator.Hosting;
using WorkspaceStorage.Kubernetes.Runtime;

namespace WorkspaceStorage.Operator.LocalMode;

/// <summary>
/// The local mode: the operator without a cluster. A directory of manifests plays the API server's role for the
/// objects people write; the operator's own writes (statuses, credential Secrets) go to an output directory.
/// </summary>
/// <remarks>
/// <list type="bullet">
/// <item>Each manifest object is created in an in-memory store that keeps the API server's contract (uids,
///   resourceVersions, generations, finalizers, watches): the same <see cref="OperatorStores"/> the cluster mode gets.</item>
/// <item>A changed manifest updates its object like <c>kubectl apply</c>: fields the manifest sets replace the stored
///   ones, fields it set before and no longer sets are removed, fields it never set (finalizers, status) stay.</item>
/// <item>A manifest removed = its object deleted; a finalizer keeps the object terminating until the reconciler removes
///   it; then the output files go, and so do the Secrets it owned (there is no garbage collector otherwise).</item>
/// <item>A file that does not parse keeps its previous objects (a half-saved edit is not a deletion); the warning
///   names the file and position, never the content. Before deleting anything the directory is read a second time,
///   <see cref="LocalModeOptions.Debounce"/> later, so a file caught mid-save (truncated, renamed away) deletes nothing.</item>
/// <item>At start, WorkspaceStorages and managed Secrets in the output directory are loaded back, so a restart keeps
///   the keys it issued, and a manifest deleted while the operator was down still runs its finalizer.</item>
/// </list>
/// </remarks>
public sealed class LocalModeStores : IDisposable
{
    private readonly LocalModeOptions options;
    private readonly ILogger logger;
    private readonly ManifestDirectory manifests;
    private readonly OwnedSecretCollector collector;
    private readonly SemaphoreSlim scanning = new(1, 1);
    private readonly Dictionary<(string Kind, ResourceKey Key), string> applied = [];
    private readonly SemaphoreSlim changed = new(0, int.MaxValue);
    private FileSystemWatcher? watcher;
    private bool restored;
    private readonly TimeProvider time;

    public LocalModeStores(LocalModeOptions options, ILogger logger, TimeProvider? time = null)
    {
        this.options = options ?? throw new ArgumentNullException(nameof(options));
        this.logger = logger ?? throw new ArgumentNullException(nameof(logger));
        this.time = time ?? TimeProvider.System;
        Output = new LocalOutputDirectory(options.OutputDirectory);
        manifests = new ManifestDirectory(Path.GetFullPath(options.ManifestDirectory), Output.Root, logger);
        WorkspaceStorages = new LocalResourceClient<WorkspaceStorageResource>(OperatorStores.WorkspaceStorageDescriptor, Output,
            LocalOutputDirectory.WorkspaceStoragesFolder, time: time);
        StorageBackends = new LocalResourceClient<StorageBackendResource>(OperatorStores.StorageBackendDescriptor, Output,
            LocalOutputDirectory.StorageBackendsFolder, time: time);
        Secrets = new LocalResourceClient<V1Secret>(ResourceDescriptor.Secrets, Output, LocalOutputDirectory.SecretsFolder,
            IsManaged, confidential: true, time: time);
        collector = new OwnedSecretCollector(WorkspaceStorages, WorkspaceStorages, Secrets, logger);
    }

    public LocalOutputDirectory Output { get; }

    public LocalResourceClient<WorkspaceStorageResource> WorkspaceStorages { get; }

    public LocalResourceClient<StorageBackendResource> StorageBackends { get; }

    public LocalResourceClient<V1Secret> Secrets { get; }

    /// <summary>The stores for <see cref="OperatorHost"/> (no events: nothing would read them).</summary>
    public OperatorStores ToOperatorStores() =>
        new(WorkspaceStorages, WorkspaceStorages, StorageBackends, StorageBackends, Secrets, Secrets, Events: null);

    /// <summary>Loads the output directory back (once), then applies the manifest directory.</summary>
    public async Task StartAsync(CancellationToken cancellationToken)
    {
        if (!Directory.Exists(manifests.Root))
        {
            throw new DirectoryNotFoundException($"local mode: the manifest directory {manifests.Root} does not exist");
        }

        if (!restored)
        {
            var restorer = new LocalOutputRestorer(Output, WorkspaceStorages, Secrets, logger);
            foreach (var key in await restorer.RestoreAsync(cancellationToken).ConfigureAwait(false))
            {
                // Known, so the first scan updates it from its manifest or, when the manifest is gone, deletes it.
                applied[(ManifestKind.WorkspaceStorage.Name, key)] = "{}";
            }

            await SweepOrphanedSecretsAsync(cancellationToken).ConfigureAwait(false);
            restored = true;
        }

        await ScanAsync(cancellationToken).ConfigureAwait(false);
    }

    /// <summary>Watches the manifest directory (events plus a periodic rescan) and collects orphaned Secrets until cancelled.</summary>
    public async Task RunAsync(CancellationToken cancellationToken)
    {
        await StartAsync(cancellationToken).ConfigureAwait(false);
        watcher = new FileSystemWatcher(manifests.Root)
        {
            IncludeSubdirectories = true,
            NotifyFilter = NotifyFilters.FileName | NotifyFilters.DirectoryName | NotifyFilters.LastWrite | NotifyFilters.Size,
        };
        FileSystemEventHandler signal = (_, _) => changed.Release();
        watcher.Changed += signal;
        watcher.Created += signal;
        watcher.Deleted += signal;
        watcher.Renamed += (_, _) => changed.Release();
        watcher.Error += (_, e) => logger.LogWarning("Local mode: file watcher error ({Error}); relying on the periodic rescan", e.GetException().GetType().Name);
        watcher.EnableRaisingEvents = true;
        logger.LogInformation("Local mode: watching {ManifestDirectory}, writing to {OutputDirectory}", manifests.Root, Output.Root);

        await Task.WhenAll(WatchManifestsAsync(cancellationToken), collector.RunAsync(cancellationToken)).ConfigureAwait(false);
    }

    /// <summary>Reads every manifest and brings the stores in line with it. Safe to call at any time.</summary>
    public async Task ScanAsync(CancellationToken cancellationToken)
    {
        await scanning.WaitAsync(cancellationToken).ConfigureAwait(false);
        try
        {
            var desired = manifests.Read();
            if (applied.Keys.Any(k => !desired.ContainsKey(k)))
            {
                // Something would be deleted: look again after a moment. Editors and `cp` replace files in steps
                // (truncate then write, rename away then back), and a deletion runs the finalizer for real.
                await Task.Delay(options.Debounce, time, cancellationToken).ConfigureAwait(false);
                desired = manifests.Read();
            }

            // Admin Secrets before the backends that name them, backends before the storages that use them.
            foreach (var kind in ManifestKind.All)
            {
                foreach (var (key, document) in desired.Where(d => d.Key.Kind == kind.Name).Select(d => (d.Key.Key, d.Value)))
                {
                    await ApplyAsync(kind, key, document, cancellationToken).ConfigureAwait(false);
                }
            }

            foreach (var kind in ManifestKind.All.Reverse())
            {
                foreach (var key in applied.Keys.Where(k => k.Kind == kind.Name && !desired.ContainsKey(k)).Select(k => k.Key).ToList())
                {
                    await DeleteAsync(kind, key, cancellationToken).ConfigureAwait(false);
                }
            }
        }
        finally
        {
            scanning.Release();
        }
    }

    /// <summary>Deletes managed Secrets owned by a WorkspaceStorage that no longer exists. Returns how many.</summary>
    public Task<int> SweepOrphanedSecretsAsync(CancellationToken cancellationToken) => collector.SweepOrphanedSecretsAsync(cancellationToken);

    public void Dispose()
    {
        watcher?.Dispose();
        scanning.Dispose();
        changed.Dispose();
    }

    internal static bool IsManaged(V1Secret secret) =>
        secret.Metadata.Labels?.TryGetValue(ResourceMetadata.ManagedByLabel, out var by) == true && by == ResourceMetadata.ManagedByValue;

    private async Task WatchManifestsAsync(CancellationToken cancellationToken)
    {
        while (!cancellationToken.IsCancellationRequested)
        {
            try
            {
                if (await changed.WaitAsync(options.RescanPeriod, cancellationToken).ConfigureAwait(false))
                {
                    // Let the burst of events of one save settle, then scan once for all of them.
                    await Task.Delay(options.Debounce, cancellationToken).ConfigureAwait(false);
                    while (changed.CurrentCount > 0)
                    {
                        await changed.WaitAsync(cancellationToken).ConfigureAwait(false);
                    }
                }

                await ScanAsync(cancellationToken).ConfigureAwait(false);
            }
            catch (OperationCanceledException) when (cancellationToken.IsCancellationRequested)
            {
                return;
            }
            catch (Exception error)
            {
                logger.LogError("Local mode: scanning {ManifestDirectory} failed: {Error}", manifests.Root, LogRedaction.Describe(error));
            }
        }
    }

    private async Task ApplyAsync(ManifestKind kind, ResourceKey key, JsonObject document, CancellationToken cancellationToken)
    {
        var id = (kind.Name, key);
        var text = document.ToJsonString();
        try
        {
            var current = await kind.GetAsync(this, key, cancellationToken).ConfigureAwait(false);
            if (current is null)
            {
                await kind.CreateAsync(this, document, cancellationToken).ConfigureAwait(false);
                applied[id] = text;
                logger.LogInformation("Local mode: created {Kind} {Key}", kind.Name, key.ToString());
                return;
            }

            if (current["metadata"]?["deletionTimestamp"] is not null)
            {
                return; // still terminating: created again once it is gone
            }

            if (applied.TryGetValue(id, out var last) && last == text)
            {
                return;
            }

            var lastApplied = last is null ? null : JsonNode.Parse(last) as JsonObject;
            var next = ApplyMerge.ThreeWayMerge(current, document, lastApplied);
            await kind.ReplaceAsync(this, next, cancellationToken).ConfigureAwait(false);
            applied[id] = text;
            logger.LogInformation("Local mode: updated {Kind} {Key}", kind.Name, key.ToString());
        }
        catch (ResourceConflictException)
        {
            // The operator wrote in between; the next scan merges into the newer object.
            changed.Release();
        }
        catch (Exception error) when (error is ResourceClientException or ArgumentException or FormatException or System.Text.Json.JsonException)
        {
            logger.LogWarning("Local mode: cannot apply {Kind} {Key}: {Error}", kind.Name, key.ToString(), LogRedaction.Describe(error));
        }
    }

    private async Task DeleteAsync(ManifestKind kind, ResourceKey key, CancellationToken cancellationToken)
    {
        try
        {
            await kind.DeleteAsync(this, key, cancellationToken).ConfigureAwait(false);
            applied.Remove((kind.Name, key));
            logger.LogInformation("Local mode: deleted {Kind} {Key} (its manifest is gone)", kind.Name, key.ToString());
        }
        catch (ResourceClientException error)
        {
            logger.LogWarning("Local mode: cannot delete {Kind} {Key}: {Error}", kind.Name, key.ToString(), LogRedaction.Describe(error));
        }
    }
}
