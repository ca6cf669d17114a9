using System.Security.Cryptography;
using System.Text;
using System.Text.Json.Nodes;
using k8s;
using k8s.Models;
using Microsoft.Extensions.Logging;
using WorkspaceStorage.Core.Resources;
using WorkspaceStorage.Operator.Hosting;
using WorkspaceStorage.Kubernetes.Runtime;
using YamlDotNet.Core;

namespace WorkspaceStorage.Operator.LocalMode;

/// <summary>Settings of the local mode.</summary>
/// <param name="ManifestDirectory">Directory of YAML manifests (WorkspaceStorage, StorageBackend, Secret; several documents per file allowed).</param>
/// <param name="OutputDirectory">Where statuses and managed Secrets are written (see <see cref="LocalOutputDirectory"/>).</param>
public sealed record LocalModeOptions(string ManifestDirectory, string OutputDirectory)
{
    /// <summary>Full rescan of the manifest directory, in case the file-system watcher missed something.</summary>
    public TimeSpan RescanPeriod { get; init; } = TimeSpan.FromSeconds(5);

    /// <summary>Quiet time after a file-system event before scanning (editors write files in several steps).</summary>
    public TimeSpan Debounce { get; init; } = TimeSpan.FromMilliseconds(200);
}

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
    private readonly string manifestRoot;
    private readonly SemaphoreSlim scanning = new(1, 1);
    private readonly Dictionary<string, ParsedFile> files = new(StringComparer.Ordinal);
    private readonly Dictionary<(string Kind, ResourceKey Key), string> applied = [];
    private readonly SemaphoreSlim changed = new(0, int.MaxValue);
    private FileSystemWatcher? watcher;
    private bool restored;

    public LocalModeStores(LocalModeOptions options, ILogger logger, TimeProvider? time = null)
    {
        this.options = options ?? throw new ArgumentNullException(nameof(options));
        this.logger = logger ?? throw new ArgumentNullException(nameof(logger));
        manifestRoot = Path.GetFullPath(options.ManifestDirectory);
        Output = new LocalOutputDirectory(options.OutputDirectory);
        WorkspaceStorages = new LocalResourceClient<WorkspaceStorageResource>(OperatorStores.WorkspaceStorageDescriptor, Output,
            LocalOutputDirectory.WorkspaceStoragesFolder, time: time);
        StorageBackends = new LocalResourceClient<StorageBackendResource>(OperatorStores.StorageBackendDescriptor, Output,
            LocalOutputDirectory.StorageBackendsFolder, time: time);
        Secrets = new LocalResourceClient<V1Secret>(ResourceDescriptor.Secrets, Output, LocalOutputDirectory.SecretsFolder,
            IsManaged, confidential: true, time: time);
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
        if (!Directory.Exists(manifestRoot))
        {
            throw new DirectoryNotFoundException($"local mode: the manifest directory {manifestRoot} does not exist");
        }

        if (!restored)
        {
            await RestoreAsync(cancellationToken).ConfigureAwait(false);
            restored = true;
        }

        await ScanAsync(cancellationToken).ConfigureAwait(false);
    }

    /// <summary>Watches the manifest directory (events plus a periodic rescan) and collects orphaned Secrets until cancelled.</summary>
    public async Task RunAsync(CancellationToken cancellationToken)
    {
        await StartAsync(cancellationToken).ConfigureAwait(false);
        watcher = new FileSystemWatcher(manifestRoot)
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
        logger.LogInformation("Local mode: watching {ManifestDirectory}, writing to {OutputDirectory}", manifestRoot, Output.Root);

        await Task.WhenAll(WatchManifestsAsync(cancellationToken), CollectGarbageAsync(cancellationToken)).ConfigureAwait(false);
    }

    /// <summary>Reads every manifest and brings the stores in line with it. Safe to call at any time.</summary>
    public async Task ScanAsync(CancellationToken cancellationToken)
    {
        await scanning.WaitAsync(cancellationToken).ConfigureAwait(false);
        try
        {
            var desired = ReadManifests();
            if (applied.Keys.Any(k => !desired.ContainsKey(k)))
            {
                // Something would be deleted: look again after a moment. Editors and `cp` replace files in steps
                // (truncate then write, rename away then back), and a deletion runs the finalizer for real.
                await Task.Delay(options.Debounce, cancellationToken).ConfigureAwait(false);
                desired = ReadManifests();
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

    public void Dispose()
    {
        watcher?.Dispose();
        scanning.Dispose();
        changed.Dispose();
    }

    private static bool IsManaged(V1Secret secret) =>
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
                logger.LogError("Local mode: scanning {ManifestDirectory} failed: {Error}", manifestRoot, LogRedaction.Describe(error));
            }
        }
    }

    private Dictionary<(string Kind, ResourceKey Key), JsonObject> ReadManifests()
    {
        var desired = new Dictionary<(string Kind, ResourceKey Key), JsonObject>();
        var seen = new HashSet<string>(StringComparer.Ordinal);
        var paths = Directory.EnumerateFiles(manifestRoot, "*", SearchOption.AllDirectories)
            .Where(p => p.EndsWith(".yaml", StringComparison.OrdinalIgnoreCase) || p.EndsWith(".yml", StringComparison.OrdinalIgnoreCase))
            .Where(p => !p.StartsWith(Output.Root + Path.DirectorySeparatorChar, StringComparison.Ordinal))
            .Where(p => !Path.GetFileName(p).StartsWith('.'))
            .Order(StringComparer.Ordinal);
        foreach (var path in paths)
        {
            seen.Add(path);
            foreach (var document in Documents(path))
            {
                if (ManifestKind.Of(document) is not { } kind)
                {
                    continue; // Kustomization, Namespace …: not objects the operator reads
                }

                var normalized = kind.Normalize(document);
                if (normalized.Error is not null)
                {
                    logger.LogWarning("Local mode: {File}: skipping a {Kind}: {Error}", path, kind.Name, normalized.Error);
                    continue;
                }

                var id = (kind.Name, normalized.Key);
                if (!desired.TryAdd(id, normalized.Object))
                {
                    logger.LogWarning("Local mode: {File}: {Kind} {Key} is defined twice; keeping the first", path, kind.Name, normalized.Key.ToString());
                }
            }
        }

        foreach (var gone in files.Keys.Where(p => !seen.Contains(p)).ToList())
        {
            files.Remove(gone);
        }

        return desired;
    }

    private IReadOnlyList<JsonObject> Documents(string path)
    {
        byte[] bytes;
        try
        {
            bytes = File.ReadAllBytes(path);
        }
        catch (Exception error) when (error is IOException or UnauthorizedAccessException)
        {
            logger.LogWarning("Local mode: cannot read {File} ({Error}); keeping its previous objects", path, error.GetType().Name);
            return files.TryGetValue(path, out var previous) ? previous.Documents : [];
        }

        var hash = Convert.ToHexString(SHA256.HashData(bytes));
        if (files.TryGetValue(path, out var cached) && cached.Hash == hash)
        {
            return cached.Documents;
        }

        try
        {
            var documents = YamlJson.ParseDocuments(Encoding.UTF8.GetString(bytes));
            files[path] = new ParsedFile(hash, documents);
            return documents;
        }
        catch (YamlException error)
        {
            // Position only: the message of a YAML error can quote the text, and the text can hold a key.
            logger.LogWarning("Local mode: {File} is not valid YAML (line {Line}, column {Column}); keeping its previous objects",
                path, error.Start.Line, error.Start.Column);
            return cached?.Documents ?? [];
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
            var next = ThreeWayMerge(current, document, lastApplied);
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

    /// <summary>As <c>kubectl apply</c>: the manifest's fields win, fields it dropped since the last apply go, others stay.</summary>
    private static JsonObject ThreeWayMerge(JsonObject current, JsonObject desired, JsonObject? lastApplied)
    {
        var next = (JsonObject)current.DeepClone();
        MergeFields(next, desired, lastApplied, skip: ["apiVersion", "kind", "metadata", "status"]);
        var metadata = next["metadata"] as JsonObject ?? [];
        next["metadata"] = metadata;
        foreach (var field in (string[])["labels", "annotations"])
        {
            var target = metadata[field] as JsonObject ?? [];
            MergeFields(target, desired["metadata"]?[field] as JsonObject ?? [], lastApplied?["metadata"]?[field] as JsonObject, skip: []);
            metadata[field] = target.Count == 0 ? null : target;
            if (target.Count == 0)
            {
                metadata.Remove(field);
            }
        }

        if (desired["metadata"]?["finalizers"] is JsonArray wanted)
        {
            var finalizers = metadata["finalizers"] as JsonArray ?? [];
            foreach (var name in wanted.Select(f => f?.ToString()).Where(f => f is not null && !finalizers.Any(have => have?.ToString() == f)))
            {
                finalizers.Add(name);
            }

            metadata["finalizers"] = finalizers;
        }

        return next;
    }

    private static void MergeFields(JsonObject target, JsonObject desired, JsonObject? lastApplied, string[] skip)
    {
        foreach (var (name, value) in desired)
        {
            if (!skip.Contains(name))
            {
                target[name] = value?.DeepClone();
            }
        }

        foreach (var (name, _) in lastApplied ?? [])
        {
            if (!skip.Contains(name) && !desired.ContainsKey(name))
            {
                target.Remove(name);
            }
        }
    }

    /// <summary>Deletes managed Secrets whose owning WorkspaceStorage is gone, as the Kubernetes garbage collector would.</summary>
    private async Task CollectGarbageAsync(CancellationToken cancellationToken)
    {
        while (!cancellationToken.IsCancellationRequested)
        {
            try
            {
                await SweepOrphanedSecretsAsync(cancellationToken).ConfigureAwait(false);
                var list = await WorkspaceStorages.ListAsync(null, null, cancellationToken).ConfigureAwait(false);
                await foreach (var change in WorkspaceStorages.WatchAsync(null, list.ResourceVersion, null, cancellationToken).ConfigureAwait(false))
                {
                    if (change.Type == ResourceWatchEventType.Deleted)
                    {
                        await SweepOrphanedSecretsAsync(cancellationToken).ConfigureAwait(false);
                    }
                }
            }
            catch (OperationCanceledException) when (cancellationToken.IsCancellationRequested)
            {
                return;
            }
            catch (ResourceClientException)
            {
                // History compacted (410) or a failed delete: sweep again from a fresh list.
            }
        }
    }

    /// <summary>Deletes managed Secrets owned by a WorkspaceStorage that no longer exists. Returns how many.</summary>
    public async Task<int> SweepOrphanedSecretsAsync(CancellationToken cancellationToken)
    {
        var owners = (await WorkspaceStorages.ListAsync(null, null, cancellationToken).ConfigureAwait(false)).Items
            .Select(ws => ws.Metadata.Uid).ToHashSet(StringComparer.Ordinal);
        var secrets = await Secrets.ListAsync(null, $"{ResourceMetadata.ManagedByLabel}={ResourceMetadata.ManagedByValue}", cancellationToken).ConfigureAwait(false);
        var deleted = 0;
        foreach (var secret in secrets.Items)
        {
            var references = secret.Metadata.OwnerReferences?.Where(r => r.Kind == ApiGroup.WorkspaceStorageKind).ToList() ?? [];
            if (references.Count > 0 && references.All(r => !owners.Contains(r.Uid)))
            {
                await Secrets.DeleteAsync(ResourceKey.Of(secret), cancellationToken).ConfigureAwait(false);
                logger.LogInformation("Local mode: deleted Secret {Key} (its WorkspaceStorage is gone)", ResourceKey.Of(secret).ToString());
                deleted++;
            }
        }

        return deleted;
    }

    /// <summary>Loads WorkspaceStorages (with status and finalizers) and managed Secrets from the output directory, and
    /// points the Secrets' owner references at the reloaded objects' new uids. StorageBackend files are rewritten from
    /// the manifests, so old ones are dropped.</summary>
    private async Task RestoreAsync(CancellationToken cancellationToken)
    {
        foreach (var file in Output.Files(LocalOutputDirectory.StorageBackendsFolder))
        {
            File.Delete(file);
        }

        var uids = new Dictionary<(string? Namespace, string Name, string OldUid), string>();
        foreach (var file in Output.Files(LocalOutputDirectory.WorkspaceStoragesFolder))
        {
            try
            {
                var json = ReadOutputFile(file);
                var resource = KubernetesJson.Deserialize<WorkspaceStorageResource>(json.ToJsonString());
                var oldUid = resource.Metadata.Uid;
                var status = resource.Status;
                var metadata = resource.Metadata;
                var deleting = metadata.DeletionTimestamp is not null;
                metadata.Uid = null;
                metadata.ResourceVersion = null;
                metadata.DeletionTimestamp = null;
                var created = await WorkspaceStorages.CreateAsync(resource, cancellationToken).ConfigureAwait(false);
                if (status is not null)
                {
                    created.Status = status;
                    created = await WorkspaceStorages.ReplaceStatusAsync(created, cancellationToken).ConfigureAwait(false);
                }

                if (oldUid is not null)
                {
                    uids[(metadata.NamespaceProperty, metadata.Name, oldUid)] = created.Metadata.Uid;
                }

                // Known, so the first scan updates it from its manifest or, when the manifest is gone, deletes it.
                applied[(ManifestKind.WorkspaceStorage.Name, ResourceKey.Of(created))] = "{}";
                if (deleting)
                {
                    await WorkspaceStorages.DeleteAsync(ResourceKey.Of(created), cancellationToken).ConfigureAwait(false);
                }
            }
            catch (Exception error) when (error is YamlException or IOException or System.Text.Json.JsonException or ResourceClientException or ArgumentException)
            {
                logger.LogWarning("Local mode: cannot restore {File} ({Error}); it is skipped", file, error.GetType().Name);
            }
        }

        foreach (var file in Output.Files(LocalOutputDirectory.SecretsFolder))
        {
            try
            {
                var secret = KubernetesJson.Deserialize<V1Secret>(ReadOutputFile(file).ToJsonString());
                if (!IsManaged(secret))
                {
                    continue;
                }

                secret.Metadata.Uid = null;
                secret.Metadata.ResourceVersion = null;
                foreach (var reference in secret.Metadata.OwnerReferences ?? [])
                {
                    if (uids.TryGetValue((secret.Metadata.NamespaceProperty, reference.Name, reference.Uid), out var uid))
                    {
                        reference.Uid = uid;
                    }
                }

                await Secrets.CreateAsync(secret, cancellationToken).ConfigureAwait(false);
            }
            catch (Exception error) when (error is YamlException or IOException or System.Text.Json.JsonException or ResourceClientException or ArgumentException)
            {
                // Type only: the file holds keys.
                logger.LogWarning("Local mode: cannot restore {File} ({Error}); it is skipped", file, error.GetType().Name);
            }
        }

        await SweepOrphanedSecretsAsync(cancellationToken).ConfigureAwait(false);
    }

    private static JsonObject ReadOutputFile(string file) =>
        YamlJson.ParseDocuments(File.ReadAllText(file)) is [var single] ? single : throw new YamlException($"expected one document in {Path.GetFileName(file)}");

    private sealed record ParsedFile(string Hash, IReadOnlyList<JsonObject> Documents);

    private sealed record Normalized(ResourceKey Key, JsonObject Object, string? Error);

    /// <summary>A kind the local mode reads from manifests, and how to reach its store.</summary>
    private sealed class ManifestKind
    {
        public static readonly ManifestKind Secret = new("Secret", "v1", namespaced: true);
        public static readonly ManifestKind StorageBackend = new(ApiGroup.StorageBackendKind, ApiGroup.ApiVersion, namespaced: false);
        public static readonly ManifestKind WorkspaceStorage = new(ApiGroup.WorkspaceStorageKind, ApiGroup.ApiVersion, namespaced: true);

        private ManifestKind(string name, string apiVersion, bool namespaced)
        {
            Name = name;
            ApiVersion = apiVersion;
            Namespaced = namespaced;
        }

        /// <summary>In apply order.</summary>
        public static IReadOnlyList<ManifestKind> All { get; } = [Secret, StorageBackend, WorkspaceStorage];

        public string Name { get; }

        public string ApiVersion { get; }

        public bool Namespaced { get; }

        public static ManifestKind? Of(JsonObject document)
        {
            var kind = document["kind"]?.ToString();
            var apiVersion = document["apiVersion"]?.ToString();
            return All.FirstOrDefault(k => k.Name == kind && k.ApiVersion == apiVersion);
        }

        public Normalized Normalize(JsonObject document)
        {
            var copy = (JsonObject)document.DeepClone();
            copy.Remove("status"); // status is the operator's, as with a status subresource
            if (copy["metadata"] is not JsonObject metadata || metadata["name"]?.ToString() is not { Length: > 0 } name)
            {
                return new Normalized(default, copy, "metadata.name is required");
            }

            // Server-owned fields are the store's to set.
            foreach (var field in (string[])["uid", "resourceVersion", "generation", "creationTimestamp", "deletionTimestamp", "managedFields"])
            {
                metadata.Remove(field);
            }

            string? @namespace = null;
            if (Namespaced)
            {
                @namespace = metadata["namespace"]?.ToString() is { Length: > 0 } given ? given : "default";
                metadata["namespace"] = @namespace;
            }
            else
            {
                metadata.Remove("namespace");
            }

            if (this == Secret && copy["stringData"] is JsonObject stringData)
            {
                // As the API server does: stringData is write-only and lands base64-encoded in data.
                var data = copy["data"] as JsonObject ?? [];
                foreach (var (field, value) in stringData)
                {
                    data[field] = Convert.ToBase64String(Encoding.UTF8.GetBytes(value?.ToString() ?? ""));
                }

                copy["data"] = data;
                copy.Remove("stringData");
            }

            return new Normalized(new ResourceKey(@namespace, name), copy, null);
        }

        public async Task<JsonObject?> GetAsync(LocalModeStores stores, ResourceKey key, CancellationToken cancellationToken)
        {
            object? found = this == Secret ? await stores.Secrets.GetAsync(key, cancellationToken).ConfigureAwait(false)
                : this == StorageBackend ? await stores.StorageBackends.GetAsync(key, cancellationToken).ConfigureAwait(false)
                : await stores.WorkspaceStorages.GetAsync(key, cancellationToken).ConfigureAwait(false);
            return found is null ? null : JsonNode.Parse(KubernetesJson.Serialize(found)) as JsonObject;
        }

        public Task CreateAsync(LocalModeStores stores, JsonObject document, CancellationToken cancellationToken) =>
            this == Secret ? stores.Secrets.CreateAsync(As<V1Secret>(document), cancellationToken)
            : this == StorageBackend ? stores.StorageBackends.CreateAsync(As<StorageBackendResource>(document), cancellationToken)
            : stores.WorkspaceStorages.CreateAsync(As<WorkspaceStorageResource>(document), cancellationToken);

        public Task ReplaceAsync(LocalModeStores stores, JsonObject document, CancellationToken cancellationToken) =>
            this == Secret ? stores.Secrets.ReplaceAsync(As<V1Secret>(document), cancellationToken)
            : this == StorageBackend ? stores.StorageBackends.ReplaceAsync(As<StorageBackendResource>(document), cancellationToken)
            : stores.WorkspaceStorages.ReplaceAsync(As<WorkspaceStorageResource>(document), cancellationToken);

        public Task<bool> DeleteAsync(LocalModeStores stores, ResourceKey key, CancellationToken cancellationToken) =>
            this == Secret ? stores.Secrets.DeleteAsync(key, cancellationToken)
            : this == StorageBackend ? stores.StorageBackends.DeleteAsync(key, cancellationToken)
            : stores.WorkspaceStorages.DeleteAsync(key, cancellationToken);

        private static T As<T>(JsonObject document) => KubernetesJson.Deserialize<T>(document.ToJsonString());
    }
}
