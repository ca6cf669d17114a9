using System.Globalization;
using System.Runtime.CompilerServices;
using System.Text.Json.Nodes;
using System.Threading.Channels;
using k8s;
using k8s.Models;

namespace WorkspaceStorage.Kubernetes.Runtime;

/// <summary>
/// An in-process cluster store for one resource type that keeps the <see cref="IResourceClient{T}"/> and
/// <see cref="IResourceWatcher{T}"/> contracts the way the API server does: resourceVersions and 409 on stale writes,
/// status only through <see cref="ReplaceStatusAsync"/>, generation bumps on spec changes, finalizers holding a
/// deleted object, ordered watches that resume from a resourceVersion and answer 410 once history is compacted.
/// It is the reference for other adapters (the local mode can keep its objects in one and persist them) and a fast
/// store for reconciler unit tests.
/// </summary>
public sealed class InMemoryResourceStore<T> : IResourceClient<T>, IResourceWatcher<T>
    where T : class, IKubernetesObject<V1ObjectMeta>
{
    private readonly Lock gate = new();
    private readonly Dictionary<ResourceKey, JsonObject> objects = [];
    private readonly List<Change> history = [];
    private readonly List<Subscriber> subscribers = [];
    private readonly int historyLimit;
    private readonly TimeProvider time;
    private long revision;
    private long compactedThrough;
    private int forcedExpiries;

    public InMemoryResourceStore(ResourceDescriptor resource, int historyLimit = 10_000, TimeProvider? time = null)
    {
        Resource = resource ?? throw new ArgumentNullException(nameof(resource));
        this.historyLimit = Math.Max(1, historyLimit);
        this.time = time ?? TimeProvider.System;
    }

    public ResourceDescriptor Resource { get; }

    /// <summary>The store's current resourceVersion.</summary>
    public long CurrentResourceVersion
    {
        get
        {
            lock (gate)
            {
                return revision;
            }
        }
    }

    /// <summary>Successful writes so far (create, replace, status, patch, delete): lets tests assert "no drift, no write".</summary>
    public int WriteCount { get; private set; }

    public Task<T?> GetAsync(ResourceKey key, CancellationToken cancellationToken)
    {
        CheckScope(key.Namespace);
        lock (gate)
        {
            return Task.FromResult(objects.TryGetValue(key, out var stored) ? ToModel(stored) : null);
        }
    }

    public Task<ResourceList<T>> ListAsync(string? @namespace, string? labelSelector, CancellationToken cancellationToken)
    {
        var selector = LabelSelector.Parse(labelSelector);
        lock (gate)
        {
            var items = objects
                .Where(entry => @namespace is null || entry.Key.Namespace == @namespace)
                .Where(entry => selector.Matches(Labels(entry.Value)))
                .OrderBy(entry => entry.Key.ToString(), StringComparer.Ordinal)
                .Select(entry => ToModel(entry.Value))
                .ToList();
            return Task.FromResult(new ResourceList<T>(items, revision.ToString(CultureInfo.InvariantCulture)));
        }
    }

    public Task<T> CreateAsync(T resource, CancellationToken cancellationToken)
    {
        var key = ResourceKey.Of(resource);
        CheckScope(key.Namespace);
        var json = ToJson(resource);
        lock (gate)
        {
            if (objects.ContainsKey(key))
            {
                throw new ResourceAlreadyExistsException($"create {Resource.Plural} {key}: 409 AlreadyExists");
            }

            var metadata = Metadata(json);
            metadata["uid"] = Guid.NewGuid().ToString();
            metadata["creationTimestamp"] = Timestamp();
            metadata["generation"] = 1L;
            metadata.Remove("deletionTimestamp");
            json.Remove("status"); // as with a status subresource: status is written through ReplaceStatusAsync only
            return Task.FromResult(Commit(key, null, json));
        }
    }

    public Task<T> ReplaceAsync(T resource, CancellationToken cancellationToken)
    {
        var key = ResourceKey.Of(resource);
        CheckScope(key.Namespace);
        var desired = ToJson(resource);
        lock (gate)
        {
            var current = Current(key, "replace");
            CheckVersion(key, desired, current, "replace");
            var next = desired;
            SetOrRemove(next, "status", current["status"]);
            var nextMeta = Metadata(next);
            var currentMeta = Metadata(current);
            foreach (var field in (string[])["uid", "creationTimestamp", "deletionTimestamp", "generation"])
            {
                SetOrRemove(nextMeta, field, currentMeta[field]);
            }

            if (currentMeta["deletionTimestamp"] is not null && Finalizers(nextMeta).Except(Finalizers(currentMeta)).Any())
            {
                throw new ResourceRejectedException($"replace {Resource.Plural} {key}: 422 Invalid (no new finalizers can be added while the object is being deleted)", 422);
            }

            if (!JsonNode.DeepEquals(Strip(current), Strip(next)))
            {
                nextMeta["generation"] = Generation(currentMeta) + 1;
            }

            return Task.FromResult(CommitOrFinalize(key, current, next));
        }
    }

    public Task<T> ReplaceStatusAsync(T resource, CancellationToken cancellationToken)
    {
        var key = ResourceKey.Of(resource);
        CheckScope(key.Namespace);
        var desired = ToJson(resource);
        lock (gate)
        {
            var current = Current(key, "replace status");
            CheckVersion(key, desired, current, "replace status");
            var next = (JsonObject)current.DeepClone();
            SetOrRemove(next, "status", desired["status"]);
            return Task.FromResult(Commit(key, current, next));
        }
    }

    public Task<T> PatchAsync(ResourceKey key, ResourcePatch patch, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(patch);
        CheckScope(key.Namespace);
        if (patch.Type != ResourcePatchType.MergePatch)
        {
            throw new ResourceRejectedException($"patch {Resource.Plural} {key}: 415 UnsupportedMediaType (this store applies merge patches only)", 415);
        }

        var document = JsonNode.Parse(patch.Json) as JsonObject
            ?? throw new ResourceRejectedException($"patch {Resource.Plural} {key}: 400 BadRequest (a merge patch is a JSON object)", 400);
        lock (gate)
        {
            var current = Current(key, "patch");
            var patchVersion = Metadata(document)["resourceVersion"]?.ToString();
            if (!string.IsNullOrEmpty(patchVersion) && patchVersion != Metadata(current)["resourceVersion"]?.ToString())
            {
                throw new ResourceConflictException($"patch {Resource.Plural} {key}: 409 Conflict");
            }

            var next = (JsonObject)MergePatch(current.DeepClone(), document)!;
            SetOrRemove(next, "status", current["status"]);
            var nextMeta = Metadata(next);
            var currentMeta = Metadata(current);
            foreach (var field in (string[])["name", "namespace", "uid", "creationTimestamp", "deletionTimestamp", "generation"])
            {
                SetOrRemove(nextMeta, field, currentMeta[field]);
            }

            if (!JsonNode.DeepEquals(Strip(current), Strip(next)))
            {
                nextMeta["generation"] = Generation(currentMeta) + 1;
            }

            return Task.FromResult(CommitOrFinalize(key, current, next));
        }
    }

    public Task<bool> DeleteAsync(ResourceKey key, CancellationToken cancellationToken)
    {
        CheckScope(key.Namespace);
        lock (gate)
        {
            if (!objects.TryGetValue(key, out var current))
            {
                return Task.FromResult(false);
            }

            var currentMeta = Metadata(current);
            if (Finalizers(currentMeta).Count == 0)
            {
                Remove(key, current);
                return Task.FromResult(true);
            }

            if (currentMeta["deletionTimestamp"] is null)
            {
                var next = (JsonObject)current.DeepClone();
                Metadata(next)["deletionTimestamp"] = Timestamp();
                Commit(key, current, next);
            }

            return Task.FromResult(true);
        }
    }

    public async IAsyncEnumerable<ResourceWatchEvent<T>> WatchAsync(string? @namespace, string resourceVersion, string? labelSelector, [EnumeratorCancellation] CancellationToken cancellationToken)
    {
        var selector = LabelSelector.Parse(labelSelector);
        if (!long.TryParse(resourceVersion, NumberStyles.None, CultureInfo.InvariantCulture, out var from))
        {
            throw new ResourceRejectedException($"watch {Resource.Plural}: 400 BadRequest (resourceVersion '{resourceVersion}' is not one this store issued)", 400);
        }

        var subscriber = new Subscriber(@namespace, selector, Channel.CreateUnbounded<Change>(new UnboundedChannelOptions { SingleReader = true }));
        lock (gate)
        {
            if (from < compactedThrough || (forcedExpiries > 0 && forcedExpiries-- > 0))
            {
                throw new ResourceGoneException($"watch {Resource.Plural}: 410 Expired (too old resource version: {from} ({compactedThrough}))");
            }

            foreach (var change in history.Where(change => change.Revision > from))
            {
                subscriber.Channel.Writer.TryWrite(change);
            }

            subscribers.Add(subscriber);
        }

        try
        {
            await foreach (var change in subscriber.Channel.Reader.ReadAllAsync(cancellationToken).ConfigureAwait(false))
            {
                var seen = subscriber.Translate(change);
                if (seen is not null)
                {
                    yield return new ResourceWatchEvent<T>(seen.Value, ToModel(change.After ?? change.Before!), change.Revision.ToString(CultureInfo.InvariantCulture));
                }
            }
        }
        finally
        {
            lock (gate)
            {
                subscribers.Remove(subscriber);
            }
        }
    }

    /// <summary>Ends every open watch, as an API server restart would; watchers resume from their last version.</summary>
    public int DropWatches()
    {
        lock (gate)
        {
            var count = subscribers.Count;
            foreach (var subscriber in subscribers)
            {
                subscriber.Channel.Writer.TryComplete();
            }

            subscribers.Clear();
            return count;
        }
    }

    /// <summary>Forgets the watch history: watches from any version before now get 410, and so do the next
    /// <paramref name="expireNextWatches"/> watches from any version.</summary>
    public void CompactHistory(int expireNextWatches = 0)
    {
        lock (gate)
        {
            forcedExpiries = Math.Max(0, expireNextWatches);
            compactedThrough = revision;
            history.Clear();
        }
    }

    private JsonObject Current(ResourceKey key, string verb) =>
        objects.TryGetValue(key, out var current) ? current : throw new ResourceNotFoundException($"{verb} {Resource.Plural} {key}: 404 NotFound");

    private void CheckVersion(ResourceKey key, JsonObject desired, JsonObject current, string verb)
    {
        var requested = Metadata(desired)["resourceVersion"]?.ToString();
        if (string.IsNullOrEmpty(requested))
        {
            throw new ResourceRejectedException($"{verb} {Resource.Plural} {key}: 422 Invalid (metadata.resourceVersion must be specified for an update)", 422);
        }

        if (requested != Metadata(current)["resourceVersion"]?.ToString())
        {
            throw new ResourceConflictException($"{verb} {Resource.Plural} {key}: 409 Conflict (the object has been modified; please apply your changes to the latest version and try again)");
        }
    }

    // A deleted object whose last finalizer was just removed goes away, as on the API server.
    private T CommitOrFinalize(ResourceKey key, JsonObject current, JsonObject next)
    {
        var nextMeta = Metadata(next);
        if (nextMeta["deletionTimestamp"] is not null && Finalizers(nextMeta).Count == 0)
        {
            Remove(key, current);
            return ToModel(next);
        }

        return Commit(key, current, next);
    }

    private T Commit(ResourceKey key, JsonObject? before, JsonObject after)
    {
        revision++;
        WriteCount++;
        var metadata = Metadata(after);
        metadata["resourceVersion"] = revision.ToString(CultureInfo.InvariantCulture);
        after["apiVersion"] = Resource.ApiVersion;
        after["kind"] = Resource.Kind;
        objects[key] = after;
        Publish(new Change(revision, key, before, (JsonObject)after.DeepClone()));
        return ToModel(after);
    }

    private void Remove(ResourceKey key, JsonObject current)
    {
        revision++;
        WriteCount++;
        objects.Remove(key);
        var final = (JsonObject)current.DeepClone();
        Metadata(final)["resourceVersion"] = revision.ToString(CultureInfo.InvariantCulture);
        Publish(new Change(revision, key, final, null));
    }

    private void Publish(Change change)
    {
        history.Add(change);
        if (history.Count > historyLimit)
        {
            var drop = history.Count - historyLimit;
            compactedThrough = history[drop - 1].Revision;
            history.RemoveRange(0, drop);
        }

        foreach (var subscriber in subscribers)
        {
            subscriber.Channel.Writer.TryWrite(change);
        }
    }

    private void CheckScope(string? @namespace)
    {
        if (Resource.Namespaced == @namespace is null)
        {
            throw new ArgumentException(Resource.Namespaced
                ? $"{Resource.Plural} are namespaced: metadata.namespace must be set."
                : $"{Resource.Plural} are cluster-scoped: metadata.namespace must be empty.", nameof(@namespace));
        }
    }

    private string Timestamp() => time.GetUtcNow().UtcDateTime.ToString("yyyy-MM-ddTHH:mm:ssZ", CultureInfo.InvariantCulture);

    private static JsonObject ToJson(T resource) =>
        JsonNode.Parse(KubernetesJson.Serialize(resource)) as JsonObject ?? throw new ArgumentException("The object did not serialise to a JSON object.", nameof(resource));

    private static T ToModel(JsonObject json) => KubernetesJson.Deserialize<T>(json.ToJsonString());

    private static JsonObject Metadata(JsonObject json)
    {
        if (json["metadata"] is JsonObject metadata)
        {
            return metadata;
        }

        var created = new JsonObject();
        json["metadata"] = created;
        return created;
    }

    private static long Generation(JsonObject metadata) =>
        long.TryParse(metadata["generation"]?.ToString(), NumberStyles.None, CultureInfo.InvariantCulture, out var generation) ? generation : 1;

    private static IDictionary<string, string>? Labels(JsonObject json) =>
        (json["metadata"]?["labels"] as JsonObject)?.ToDictionary(pair => pair.Key, pair => pair.Value?.ToString() ?? "");

    private static List<string> Finalizers(JsonObject metadata) =>
        (metadata["finalizers"] as JsonArray)?.Select(node => node?.ToString() ?? "").ToList() ?? [];

    private static void SetOrRemove(JsonObject target, string key, JsonNode? value)
    {
        if (value is null)
        {
            target.Remove(key);
        }
        else
        {
            target[key] = value.DeepClone();
        }
    }

    // Everything but metadata and status: what a generation bump is about.
    private static JsonObject Strip(JsonObject json)
    {
        var copy = (JsonObject)json.DeepClone();
        copy.Remove("metadata");
        copy.Remove("status");
        return copy;
    }

    private static JsonNode? MergePatch(JsonNode? target, JsonNode? patch)
    {
        if (patch is not JsonObject patchObject)
        {
            return patch?.DeepClone();
        }

        var result = target as JsonObject ?? new JsonObject();
        foreach (var (name, value) in patchObject)
        {
            if (value is null)
            {
                result.Remove(name);
            }
            else
            {
                var merged = MergePatch(result[name]?.DeepClone(), value);
                result[name] = merged;
            }
        }

        return result;
    }

    private sealed record Change(long Revision, ResourceKey Key, JsonObject? Before, JsonObject? After);

    private sealed record Subscriber(string? Namespace, LabelSelector Selector, Channel<Change> Channel)
    {
        // What this watcher sees of a change: an object moving into its selector is ADDED, out of it DELETED.
        public ResourceWatchEventType? Translate(Change change)
        {
            if (Namespace is not null && change.Key.Namespace != Namespace)
            {
                return null;
            }

            var before = change.Before is not null && Selector.Matches(Labels(change.Before));
            var after = change.After is not null && Selector.Matches(Labels(change.After));
            return (before, after) switch
            {
                (false, true) => ResourceWatchEventType.Added,
                (true, true) => ResourceWatchEventType.Modified,
                (true, false) => ResourceWatchEventType.Deleted,
                _ => null,
            };
        }
    }
}
