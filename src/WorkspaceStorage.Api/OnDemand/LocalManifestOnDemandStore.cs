using k8s;
using WorkspaceStorage.Core.Resources;
using WorkspaceStorage.Core.Workspaces;
using WorkspaceStorage.Kubernetes.Runtime;
using YamlDotNet.Core;

namespace WorkspaceStorage.Api.OnDemand;

/// <summary>
/// On-demand provisioning for the operator's local mode (no cluster, `make run`): a WorkspaceStorage is created by
/// writing its manifest into the operator's manifest directory (<c>&lt;manifests&gt;/on-demand/&lt;name&gt;.yaml</c>) and
/// deleted by removing that file; the operator picks both up as it does any manifest. Reads come from the operator's
/// output directory (objects with their status) plus the manifests (objects it has not processed yet), re-read at most
/// every <see cref="RefreshInterval"/>. Only files under <c>on-demand/</c> are ever written or deleted.
/// </summary>
public sealed class LocalManifestOnDemandStore(string manifestDirectory, string outputDirectory, ILogger<LocalManifestOnDemandStore> logger)
    : IOnDemandStore
{
    public const string Folder = "on-demand";

    private readonly object gate = new();
    private IReadOnlyList<WorkspaceStorageResource> snapshot = [];
    private long loadedAt = long.MinValue;

    public TimeSpan RefreshInterval { get; init; } = TimeSpan.FromMilliseconds(250);

    private string OnDemandDirectory => Path.Combine(manifestDirectory, Folder);

    public IReadOnlyList<WorkspaceStorageResource> Claiming(WorkspaceId workspace)
    {
        ArgumentNullException.ThrowIfNull(workspace);
        return [.. Current().Where(r => string.Equals(r.Spec.Workspace ?? r.Metadata.Name, workspace.Value, StringComparison.Ordinal))];
    }

    public IReadOnlyList<WorkspaceStorageResource> ListOnDemand() => [.. Current().Where(OnDemandWorkspaceStorage.IsOnDemand)];

    public Task<WorkspaceStorageResource?> GetAsync(ResourceKey key, CancellationToken cancellationToken) =>
        Task.FromResult(Current().FirstOrDefault(r => r.Metadata.NamespaceProperty == key.Namespace && r.Metadata.Name == key.Name));

    public async Task CreateAsync(WorkspaceStorageResource resource, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(resource);
        Directory.CreateDirectory(OnDemandDirectory);
        var target = ManifestPath(resource.Metadata.Name);
        var temporary = target + ".tmp-" + Guid.NewGuid().ToString("N");
        await File.WriteAllTextAsync(temporary, KubernetesYaml.Serialize(resource), cancellationToken);
        try
        {
            // No overwrite: of two creators, the second finds the file and is told so, as the API server answers 409.
            File.Move(temporary, target, overwrite: false);
        }
        catch (IOException) when (File.Exists(target))
        {
            File.Delete(temporary);
            throw new ResourceAlreadyExistsException($"{Folder}/{Path.GetFileName(target)} already exists");
        }

        Invalidate();
    }

    public async Task AnnotateAsync(ResourceKey key, string annotation, string value, CancellationToken cancellationToken)
    {
        var path = ManifestPath(key.Name);
        if (!File.Exists(path))
        {
            return; // not one of ours (or already removed): nothing to record
        }

        var resource = KubernetesYaml.Deserialize<WorkspaceStorageResource>(await File.ReadAllTextAsync(path, cancellationToken));
        resource.Metadata.Annotations ??= new Dictionary<string, string>();
        resource.Metadata.Annotations[annotation] = value;
        var temporary = path + ".tmp-" + Guid.NewGuid().ToString("N");
        await File.WriteAllTextAsync(temporary, KubernetesYaml.Serialize(resource), cancellationToken);
        File.Move(temporary, path, overwrite: true);
        Invalidate();
    }

    public Task<bool> DeleteAsync(ResourceKey key, CancellationToken cancellationToken)
    {
        var path = ManifestPath(key.Name);
        var existed = File.Exists(path);
        File.Delete(path);
        Invalidate();
        return Task.FromResult(existed);
    }

    private string ManifestPath(string name) =>
        // Names come from OnDemandWorkspaceStorage.ObjectName (a DNS label): no separators can reach the path.
        Path.Combine(OnDemandDirectory, Path.GetFileName(name) + ".yaml");

    private void Invalidate()
    {
        lock (gate)
        {
            loadedAt = long.MinValue;
        }
    }

    private IReadOnlyList<WorkspaceStorageResource> Current()
    {
        lock (gate)
        {
            if (loadedAt != long.MinValue && System.Diagnostics.Stopwatch.GetElapsedTime(loadedAt) < RefreshInterval)
            {
                return snapshot;
            }

            // The operator's output has the objects with status and wins over their manifests.
            var byKey = new Dictionary<(string?, string), WorkspaceStorageResource>();
            foreach (var resource in Read(manifestDirectory).Concat(Read(Path.Combine(outputDirectory, "workspacestorages"))))
            {
                byKey[(resource.Metadata.NamespaceProperty ?? "default", resource.Metadata.Name)] = resource;
            }

            snapshot = [.. byKey.Values];
            loadedAt = System.Diagnostics.Stopwatch.GetTimestamp();
            return snapshot;
        }
    }

    private IEnumerable<WorkspaceStorageResource> Read(string directory)
    {
        if (!Directory.Exists(directory))
        {
            yield break;
        }

        foreach (var file in Directory.EnumerateFiles(directory, "*.y*ml", SearchOption.AllDirectories))
        {
            string text;
            try
            {
                text = File.ReadAllText(file);
            }
            catch (IOException)
            {
                continue; // replaced while listing
            }

            foreach (var document in text.Split("\n---", StringSplitOptions.RemoveEmptyEntries))
            {
                WorkspaceStorageResource? resource = null;
                try
                {
                    if (document.Contains("kind: " + ApiGroup.WorkspaceStorageKind, StringComparison.Ordinal))
                    {
                        resource = KubernetesYaml.Deserialize<WorkspaceStorageResource>(document);
                    }
                }
                catch (YamlException ex)
                {
                    logger.LogDebug("Skipping a document of {File}: {Error}", file, ex.Message);
                }

                if (resource?.Metadata?.Name is { Length: > 0 })
                {
                    resource.Metadata.NamespaceProperty ??= "default";
                    yield return resource;
                }
            }
        }
    }
}
