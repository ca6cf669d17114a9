using System.Globalization;
using System.Runtime.CompilerServices;
using System.Text;
using System.Text.Json.Nodes;
using k8s;
using k8s.Models;
using WorkspaceStorage.Kubernetes.Runtime;

namespace WorkspaceStorage.Kubernetes.InMemory;

/// <summary>
/// One resource type of an <see cref="InMemoryApiServer"/>, behind the same <see cref="IResourceClient{T}"/> and
/// <see cref="IResourceWatcher{T}"/> contracts as the Kubernetes adapter: typed objects in, typed objects out, and the
/// server's answers as the runtime's exceptions. The local mode keeps its objects in these, and reconciler tests use
/// them as a fast cluster.
/// </summary>
public sealed class InMemoryResourceStore<T> : IResourceClient<T>, IResourceWatcher<T>
    where T : class, IKubernetesObject<V1ObjectMeta>
{
    private readonly InMemoryApiServer server;
    private readonly ResourceType type;
    private int writes;

    /// <summary>A store with an API server of its own.</summary>
    public InMemoryResourceStore(ResourceDescriptor resource, int historyLimit = 10_000, TimeProvider? time = null)
        : this(new InMemoryApiServer(Math.Max(1, historyLimit), time ?? TimeProvider.System), resource)
    {
    }

    /// <summary>A store for one type of a shared API server (one resourceVersion sequence across types, as in a cluster).</summary>
    public InMemoryResourceStore(InMemoryApiServer server, ResourceDescriptor resource)
    {
        this.server = server ?? throw new ArgumentNullException(nameof(server));
        Resource = resource ?? throw new ArgumentNullException(nameof(resource));
        type = ResourceType.For(resource);
        server.Register(type);
    }

    public ResourceDescriptor Resource { get; }

    /// <summary>The API server's current resourceVersion.</summary>
    public long CurrentResourceVersion => server.CurrentResourceVersion;

    /// <summary>Successful write calls so far (create, replace, status, patch, delete): lets tests assert "no drift, no write".</summary>
    public int WriteCount => Volatile.Read(ref writes);

    public Task<T?> GetAsync(ResourceKey key, CancellationToken cancellationToken)
    {
        var stored = Call("get", key, () => server.Get(type, Scope(key.Namespace), key.Name));
        return Task.FromResult(stored is null ? null : ToModel(stored));
    }

    public Task<ResourceList<T>> ListAsync(string? @namespace, string? labelSelector, CancellationToken cancellationToken)
    {
        var (items, version) = Call("list", null, () => server.List(type, @namespace, LabelSelector.Parse(labelSelector), FieldSelector.Everything));
        return Task.FromResult(new ResourceList<T>(items.Select(ToModel).ToList(), version.ToString(CultureInfo.InvariantCulture)));
    }

    public Task<T> CreateAsync(T resource, CancellationToken cancellationToken)
    {
        var key = ResourceKey.Of(resource);
        return Write("create", key, () => server.Create(type, Scope(key.Namespace), ToJson(resource), seed: false));
    }

    public Task<T> ReplaceAsync(T resource, CancellationToken cancellationToken)
    {
        var key = ResourceKey.Of(resource);
        return Write("replace", key, () => server.Update(type, Scope(key.Namespace), key.Name, statusOnly: false, isPatch: false, _ => ToJson(resource)));
    }

    public Task<T> ReplaceStatusAsync(T resource, CancellationToken cancellationToken)
    {
        var key = ResourceKey.Of(resource);
        return Write("replace status", key, () => server.Update(type, Scope(key.Namespace), key.Name, statusOnly: true, isPatch: false, _ => ToJson(resource)));
    }

    public Task<T> PatchAsync(ResourceKey key, ResourcePatch patch, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(patch);
        if (patch.Type != ResourcePatchType.MergePatch)
        {
            throw new ResourceRejectedException($"patch {Resource.Plural} {key}: 415 UnsupportedMediaType (this store applies merge patches only)", 415);
        }

        var document = JsonNode.Parse(patch.Json) as JsonObject
            ?? throw new ResourceRejectedException($"patch {Resource.Plural} {key}: 400 BadRequest (a merge patch is a JSON object)", 400);
        return Write("patch", key, () => server.Update(type, Scope(key.Namespace), key.Name, statusOnly: false, isPatch: true,
            current => (JsonObject)JsonPatching.MergePatch(current, document)!));
    }

    public Task<bool> DeleteAsync(ResourceKey key, CancellationToken cancellationToken)
    {
        var ns = Scope(key.Namespace);
        try
        {
            server.Delete(type, ns, key.Name, preconditionUid: null, preconditionVersion: null);
        }
        catch (KubeApiException error) when (error.Code == 404)
        {
            return Task.FromResult(false);
        }
        catch (KubeApiException error)
        {
            throw Translate("delete", key, error);
        }

        Interlocked.Increment(ref writes);
        return Task.FromResult(true);
    }

    public async IAsyncEnumerable<ResourceWatchEvent<T>> WatchAsync(string? @namespace, string resourceVersion, string? labelSelector,
        [EnumeratorCancellation] CancellationToken cancellationToken)
    {
        var (subscription, error) = Call("watch", null, () => server.Watch(type, @namespace, LabelSelector.Parse(labelSelector), FieldSelector.Everything, resourceVersion));
        if (error is not null)
        {
            throw Translate("watch", null, error);
        }

        try
        {
            await foreach (var (eventType, bytes) in subscription!.Events.ReadAllAsync(cancellationToken).ConfigureAwait(false))
            {
                var model = ToModel(bytes);
                yield return new ResourceWatchEvent<T>(eventType switch
                {
                    "ADDED" => ResourceWatchEventType.Added,
                    "DELETED" => ResourceWatchEventType.Deleted,
                    _ => ResourceWatchEventType.Modified,
                }, model, model.Metadata.ResourceVersion);
            }
        }
        finally
        {
            server.EndWatch(subscription!);
        }
    }

    /// <summary>Ends every open watch of the server, as an API server restart would; watchers resume from their last version.</summary>
    public int DropWatches() => server.DropWatches(abort: false);

    /// <summary>Forgets the watch history: watches from any version before now get 410, and so do the next
    /// <paramref name="expireNextWatches"/> watches from any version.</summary>
    public void CompactHistory(int expireNextWatches = 0) => server.ExpireHistory(expireNextWatches);

    private Task<T> Write(string verb, ResourceKey key, Func<StoredObject> write)
    {
        var stored = Call(verb, key, write);
        Interlocked.Increment(ref writes);
        return Task.FromResult(ToModel(stored));
    }

    private TResult Call<TResult>(string verb, ResourceKey? key, Func<TResult> call)
    {
        try
        {
            return call();
        }
        catch (KubeApiException error)
        {
            throw Translate(verb, key, error);
        }
    }

    /// <summary>The server's answer as the runtime's exception, as the Kubernetes adapter reports an HTTP status.</summary>
    private ResourceClientException Translate(string verb, ResourceKey? key, KubeApiException error)
    {
        var detail = $"{verb} {Resource.Plural}{(key is { } k ? " " + k : "")}: {error.Code} {error.Reason} ({error.Message})";
        return error.Code switch
        {
            404 => new ResourceNotFoundException(detail),
            409 when error.Reason == "AlreadyExists" => new ResourceAlreadyExistsException(detail),
            409 => new ResourceConflictException(detail),
            410 => new ResourceGoneException(detail),
            429 or >= 500 => new ResourceClientException(detail, error.Code),
            _ => new ResourceRejectedException(detail, error.Code),
        };
    }

    /// <summary>The namespace the server files the object under: "" for cluster-scoped types; a wrong scope is a caller's bug.</summary>
    private string Scope(string? @namespace)
    {
        if (Resource.Namespaced == @namespace is null)
        {
            throw new ArgumentException(Resource.Namespaced
                ? $"{Resource.Plural} are namespaced: metadata.namespace must be set."
                : $"{Resource.Plural} are cluster-scoped: metadata.namespace must be empty.", nameof(@namespace));
        }

        return @namespace ?? "";
    }

    private static JsonObject ToJson(T resource) =>
        JsonNode.Parse(KubernetesJson.Serialize(resource)) as JsonObject ?? throw new ArgumentException("The object did not serialise to a JSON object.", nameof(resource));

    private static T ToModel(StoredObject stored) => ToModel(stored.Bytes);

    private static T ToModel(byte[] json) => KubernetesJson.Deserialize<T>(Encoding.UTF8.GetString(json));
}
