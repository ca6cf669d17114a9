using System.Text.Json.Nodes;
using k8s;
using k8s.Models;
using WorkspaceStorage.Kubernetes.Runtime;
using WorkspaceStorage.Kubernetes.InMemory;

namespace WorkspaceStorage.Operator.LocalMode;

/// <summary>
/// One resource type of the local mode: objects live in an <see cref="InMemoryResourceStore{T}"/> (which keeps the
/// <see cref="IResourceClient{T}"/>/<see cref="IResourceWatcher{T}"/> contract: resourceVersions, uids, generations,
/// conflicts, finalizers, resumable watches), and after every successful write the object's state is mirrored into the
/// <see cref="LocalOutputDirectory"/> (written, or removed once the object is gone). Store write and file write
/// happen under one lock, so the files follow the store's order.
/// </summary>
public sealed class LocalResourceClient<T> : IResourceClient<T>, IResourceWatcher<T>
    where T : class, IKubernetesObject<V1ObjectMeta>
{
    private readonly InMemoryResourceStore<T> store;
    private readonly LocalOutputDirectory output;
    private readonly string folder;
    private readonly Func<T, bool> persist;
    private readonly bool confidential;
    private readonly SemaphoreSlim writes = new(1, 1);

    /// <param name="folder">The output folder of this type (see <see cref="LocalOutputDirectory"/>).</param>
    /// <param name="persist">Which objects get a file (e.g. only Secrets the operator manages).</param>
    /// <param name="confidential">Files hold keys: mode 0600.</param>
    public LocalResourceClient(ResourceDescriptor resource, LocalOutputDirectory output, string folder, Func<T, bool>? persist = null,
        bool confidential = false, TimeProvider? time = null)
    {
        store = new InMemoryResourceStore<T>(resource, time: time);
        this.output = output ?? throw new ArgumentNullException(nameof(output));
        ArgumentException.ThrowIfNullOrWhiteSpace(folder);
        this.folder = folder;
        this.persist = persist ?? (_ => true);
        this.confidential = confidential;
    }

    public ResourceDescriptor Resource => store.Resource;

    /// <summary>Successful writes so far, by anyone (tests assert "no drift, no write" with it).</summary>
    public int WriteCount => store.WriteCount;

    public Task<T?> GetAsync(ResourceKey key, CancellationToken cancellationToken) => store.GetAsync(key, cancellationToken);

    public Task<ResourceList<T>> ListAsync(string? @namespace, string? labelSelector, CancellationToken cancellationToken) =>
        store.ListAsync(@namespace, labelSelector, cancellationToken);

    public IAsyncEnumerable<ResourceWatchEvent<T>> WatchAsync(string? @namespace, string resourceVersion, string? labelSelector, CancellationToken cancellationToken) =>
        store.WatchAsync(@namespace, resourceVersion, labelSelector, cancellationToken);

    public Task<T> CreateAsync(T resource, CancellationToken cancellationToken) =>
        WriteAsync(ResourceKey.Of(resource), () => store.CreateAsync(resource, cancellationToken), cancellationToken);

    public Task<T> ReplaceAsync(T resource, CancellationToken cancellationToken) =>
        WriteAsync(ResourceKey.Of(resource), () => store.ReplaceAsync(resource, cancellationToken), cancellationToken);

    public Task<T> ReplaceStatusAsync(T resource, CancellationToken cancellationToken) =>
        WriteAsync(ResourceKey.Of(resource), () => store.ReplaceStatusAsync(resource, cancellationToken), cancellationToken);

    public Task<T> PatchAsync(ResourceKey key, ResourcePatch patch, CancellationToken cancellationToken) =>
        WriteAsync(key, () => store.PatchAsync(key, patch, cancellationToken), cancellationToken);

    public Task<bool> DeleteAsync(ResourceKey key, CancellationToken cancellationToken) =>
        WriteAsync(key, () => store.DeleteAsync(key, cancellationToken), cancellationToken);

    private async Task<TResult> WriteAsync<TResult>(ResourceKey key, Func<Task<TResult>> write, CancellationToken cancellationToken)
    {
        await writes.WaitAsync(cancellationToken).ConfigureAwait(false);
        try
        {
            var result = await write().ConfigureAwait(false);
            await MirrorAsync(key).ConfigureAwait(false);
            return result;
        }
        finally
        {
            writes.Release();
        }
    }

    private async Task MirrorAsync(ResourceKey key)
    {
        // The store's state after the write, not the write's answer: a removed last finalizer means "gone".
        var current = await store.GetAsync(key, CancellationToken.None).ConfigureAwait(false);
        try
        {
            if (current is not null && persist(current))
            {
                var json = JsonNode.Parse(KubernetesJson.Serialize(current))!.AsObject();
                output.Write(folder, key, json, confidential);
            }
            else
            {
                output.Delete(folder, key);
            }
        }
        catch (Exception error) when (error is IOException or UnauthorizedAccessException)
        {
            // The store took the write; the file did not. A transient error makes the caller retry the reconcile,
            // which rewrites the file. The message names the path only.
            throw new ResourceClientException($"local mode: writing {folder} {key} to {output.Root} failed ({error.GetType().Name})", null, error);
        }
    }
}
