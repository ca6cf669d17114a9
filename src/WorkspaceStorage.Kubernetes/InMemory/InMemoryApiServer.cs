using System.Globalization;
using System.Text.Json;
using System.Text.Json.Nodes;
using System.Text.RegularExpressions;

namespace WorkspaceStorage.Kubernetes.InMemory;

/// <summary>
/// The one in-memory model of the Kubernetes API server: all objects of every registered type, the global
/// resourceVersion counter, the bounded watch history and the open watches, with the API server's semantics (409 on
/// stale writes, status subresources, generation, finalizers, generateName, no-op writes skipped, 410 once history is
/// compacted). The local mode and the reconciler tests use it through <see cref="InMemoryResourceStore{T}"/>; the
/// test API server serves it over HTTP to the real KubernetesClient. One lock guards everything so every write, its
/// resourceVersion and its watch event are atomic and ordered.
/// </summary>
public sealed partial class InMemoryApiServer(int watchHistoryLimit, TimeProvider clock)
{
    private readonly Lock _gate = new();
    private readonly Dictionary<ResourceType, Dictionary<(string Namespace, string Name), StoredObject>> _objects = [];
    private readonly List<ChangeEvent> _history = [];
    private readonly List<WatchSubscription> _watches = [];
    private readonly Dictionary<(ResourceType, string, string, bool), int> _injectedConflicts = [];
    private long _resourceVersion = 1;
    private long _compactedThrough;
    private int _forcedExpiries;

    public long CurrentResourceVersion
    {
        get
        {
            lock (_gate)
            {
                return _resourceVersion;
            }
        }
    }

    public int OpenWatchCount
    {
        get
        {
            lock (_gate)
            {
                return _watches.Count;
            }
        }
    }

    public void Register(ResourceType type)
    {
        lock (_gate)
        {
            _objects.TryAdd(type, []);
        }
    }

    public StoredObject? Get(ResourceType type, string ns, string name)
    {
        lock (_gate)
        {
            return Table(type).GetValueOrDefault((ns, name));
        }
    }

    public (List<StoredObject> Items, long ResourceVersion) List(ResourceType type, string? ns, LabelSelector labels, FieldSelector fields)
    {
        List<StoredObject> items;
        long rv;
        lock (_gate)
        {
            rv = _resourceVersion;
            items = Table(type).Values
                .Where(o => (ns is null || o.Namespace == ns) && fields.Matches(o.Namespace, o.Name) && labels.Matches(o.Labels))
                .ToList();
        }

        items.Sort(static (a, b) =>
        {
            var byNamespace = string.CompareOrdinal(a.Namespace, b.Namespace);
            return byNamespace != 0 ? byNamespace : string.CompareOrdinal(a.Name, b.Name);
        });
        return (items, rv);
    }

    /// <summary>POST semantics; <paramref name="seed"/> also keeps status, uid, timestamps and replaces an existing object.</summary>
    public StoredObject Create(ResourceType type, string ns, JsonObject body, bool seed)
    {
        lock (_gate)
        {
            var table = Table(type);
            CheckTypeMatches(type, body);
            if (type.Kind == "Secret")
            {
                SecretStringData.Fold(body);
            }
            var meta = Metadata(body);
            var name = meta["name"]?.GetValue<string>();
            if (string.IsNullOrEmpty(name))
            {
                var prefix = meta["generateName"]?.GetValue<string>();
                if (string.IsNullOrEmpty(prefix))
                {
                    throw KubeApiException.Invalid(type, "", "metadata.name: Required value: name or generateName is required");
                }

                do
                {
                    name = prefix + RandomSuffix();
                }
                while (table.ContainsKey((ns, name)));

                meta["name"] = name;
            }

            ValidateName(type, name);
            if (type.Namespaced)
            {
                var bodyNamespace = meta["namespace"]?.GetValue<string>();
                if (!string.IsNullOrEmpty(bodyNamespace) && bodyNamespace != ns)
                {
                    throw KubeApiException.BadRequest("the namespace of the provided object does not match the namespace sent on the request");
                }

                meta["namespace"] = ns;
            }
            else
            {
                meta.Remove("namespace");
            }

            var existing = table.GetValueOrDefault((ns, name));
            if (existing is not null && !seed)
            {
                throw KubeApiException.AlreadyExists(type, name);
            }

            body["apiVersion"] = type.ApiVersion;
            body["kind"] = type.Kind;
            if (existing is not null)
            {
                // Re-seeding an object keeps its identity unless the seed names another one.
                var existingMeta = (JsonObject)existing.Json["metadata"]!;
                foreach (var field in (string[])["uid", "creationTimestamp", "generation"])
                {
                    if (meta[field] is null && existingMeta[field] is { } kept)
                    {
                        meta[field] = kept.DeepClone();
                    }
                }
            }

            if (!seed || meta["uid"] is null)
            {
                meta["uid"] = Guid.NewGuid().ToString();
            }

            if (!seed || meta["creationTimestamp"] is null)
            {
                meta["creationTimestamp"] = Timestamp();
            }

            if (!seed)
            {
                meta.Remove("deletionTimestamp");
                meta.Remove("deletionGracePeriodSeconds");
                if (type.HasStatusSubresource)
                {
                    body.Remove("status");
                }
            }

            if (type.TracksGeneration && (!seed || meta["generation"] is null))
            {
                meta["generation"] = 1;
            }

            var stored = Commit(type, body, existing is null ? "ADDED" : "MODIFIED", existing);
            return stored;
        }
    }

    /// <summary>
    /// PUT and PATCH semantics. <paramref name="build"/> gets a private copy of the current object and returns the
    /// object the client asks for; it runs under the lock so a patch applies to exactly the version it replaces.
    /// </summary>
    public StoredObject Update(ResourceType type, string ns, string name, bool statusOnly, bool isPatch, Func<JsonObject, JsonObject> build)
    {
        lock (_gate)
        {
            var table = Table(type);
            var current = table.GetValueOrDefault((ns, name)) ?? throw KubeApiException.NotFound(type, name);
            if (_injectedConflicts.TryGetValue((type, ns, name, statusOnly), out var remaining) && remaining > 0)
            {
                _injectedConflicts[(type, ns, name, statusOnly)] = remaining - 1;
                throw KubeApiException.Conflict(type, name);
            }

            var desired = build((JsonObject)current.Json.DeepClone());
            CheckTypeMatches(type, desired);
            if (type.Kind == "Secret")
            {
                SecretStringData.Fold(desired);
            }
            var desiredMeta = Metadata(desired);
            var desiredName = desiredMeta["name"]?.GetValue<string>();
            if (!string.IsNullOrEmpty(desiredName) && desiredName != name)
            {
                throw KubeApiException.BadRequest($"the name of the object ({desiredName}) does not match the name on the URL ({name})");
            }

            var desiredNamespace = desiredMeta["namespace"]?.GetValue<string>();
            if (type.Namespaced && !string.IsNullOrEmpty(desiredNamespace) && desiredNamespace != ns)
            {
                throw KubeApiException.BadRequest("the namespace of the provided object does not match the namespace sent on the request");
            }

            var requestedVersion = desiredMeta["resourceVersion"]?.ToString();
            if (string.IsNullOrEmpty(requestedVersion))
            {
                if (!type.AllowUnconditionalUpdate && !isPatch)
                {
                    throw KubeApiException.Invalid(type, name, "metadata.resourceVersion: Invalid value: 0x0: must be specified for an update");
                }
            }
            else if (requestedVersion != current.ResourceVersion.ToString(CultureInfo.InvariantCulture))
            {
                throw KubeApiException.Conflict(type, name);
            }

            var currentMeta = (JsonObject)current.Json["metadata"]!;
            JsonObject next;
            if (statusOnly)
            {
                // Like the real status strategy: everything but .status comes from the stored object.
                next = (JsonObject)current.Json.DeepClone();
                SetOrRemove(next, "status", desired["status"]);
            }
            else
            {
                next = desired;
                if (type.HasStatusSubresource)
                {
                    SetOrRemove(next, "status", current.Json["status"]);
                }

                var nextMeta = Metadata(next);
                nextMeta["name"] = name;
                if (type.Namespaced)
                {
                    nextMeta["namespace"] = ns;
                }

                foreach (var field in (string[])["uid", "creationTimestamp", "deletionTimestamp", "deletionGracePeriodSeconds", "generation"])
                {
                    SetOrRemove(nextMeta, field, currentMeta[field]);
                }

                if (currentMeta["deletionTimestamp"] is not null)
                {
                    var before = Finalizers(currentMeta);
                    var added = Finalizers(nextMeta).Where(f => !before.Contains(f)).ToList();
                    if (added.Count > 0)
                    {
                        throw KubeApiException.Invalid(type, name,
                            $"metadata.finalizers: Forbidden: no new finalizers can be added if the object is being deleted, found new finalizers [\"{string.Join("\",\"", added)}\"]");
                    }
                }

                if (type.TracksGeneration && SpecChanged(current.Json, next))
                {
                    nextMeta["generation"] = ReadLong(currentMeta["generation"]) + 1;
                }
            }

            next["apiVersion"] = type.ApiVersion;
            next["kind"] = type.Kind;
            Metadata(next)["resourceVersion"] = current.ResourceVersion.ToString(CultureInfo.InvariantCulture);
            if (JsonNode.DeepEquals(next, current.Json))
            {
                // The real server skips no-op writes: no new resourceVersion, no watch event.
                return current;
            }

            var finalMeta = Metadata(next);
            if (finalMeta["deletionTimestamp"] is not null && Finalizers(finalMeta).Count == 0)
            {
                return Remove(type, next, current);
            }

            return Commit(type, next, "MODIFIED", current);
        }
    }

    /// <summary>DELETE semantics: with finalizers the object only gets a deletionTimestamp.</summary>
    public (StoredObject Object, bool Removed) Delete(ResourceType type, string ns, string name, string? preconditionUid, string? preconditionVersion)
    {
        lock (_gate)
        {
            var current = Table(type).GetValueOrDefault((ns, name)) ?? throw KubeApiException.NotFound(type, name);
            var meta = (JsonObject)current.Json["metadata"]!;
            if (!string.IsNullOrEmpty(preconditionUid) && preconditionUid != meta["uid"]?.GetValue<string>())
            {
                throw new KubeApiException(409, "Conflict",
                    $"Precondition failed: UID in precondition: {preconditionUid}, UID in object meta: {meta["uid"]}", type, name);
            }

            if (!string.IsNullOrEmpty(preconditionVersion) && preconditionVersion != current.ResourceVersion.ToString(CultureInfo.InvariantCulture))
            {
                throw KubeApiException.Conflict(type, name);
            }

            if (Finalizers(meta).Count > 0)
            {
                if (meta["deletionTimestamp"] is not null)
                {
                    return (current, false);
                }

                var marked = (JsonObject)current.Json.DeepClone();
                var markedMeta = Metadata(marked);
                markedMeta["deletionTimestamp"] = Timestamp();
                markedMeta["deletionGracePeriodSeconds"] = 0;
                return (Commit(type, marked, "MODIFIED", current), false);
            }

            return (Remove(type, (JsonObject)current.Json.DeepClone(), current), true);
        }
    }

    public void InjectConflicts(ResourceType type, string ns, string name, bool statusOnly, int count)
    {
        lock (_gate)
        {
            _injectedConflicts[(type, ns, name, statusOnly)] = count;
        }
    }

    /// <summary>Opens a watch; returns null and the error to send when the requested version is too old.</summary>
    public (WatchSubscription? Subscription, KubeApiException? Error) Watch(
        ResourceType type, string? ns, LabelSelector labels, FieldSelector fields, string? resourceVersion)
    {
        var subscription = new WatchSubscription(type, ns, labels, fields);
        lock (_gate)
        {
            if (string.IsNullOrEmpty(resourceVersion) || resourceVersion == "0")
            {
                // "Get state and start at most recent": the current objects arrive as ADDED first.
                foreach (var obj in Table(type).Values.Where(subscription.Matches).OrderBy(o => o.ResourceVersion))
                {
                    subscription.Send("ADDED", obj.Bytes);
                }
            }
            else
            {
                if (!long.TryParse(resourceVersion, NumberStyles.None, CultureInfo.InvariantCulture, out var from))
                {
                    return (null, KubeApiException.BadRequest($"invalid resource version \"{resourceVersion}\""));
                }

                if (_forcedExpiries > 0 || from < _compactedThrough)
                {
                    _forcedExpiries = Math.Max(0, _forcedExpiries - 1);
                    return (null, KubeApiException.Expired(from, _compactedThrough + 1));
                }

                for (var i = FirstEventAfter(from); i < _history.Count; i++)
                {
                    subscription.Offer(_history[i]);
                }
            }

            _watches.Add(subscription);
        }

        return (subscription, null);
    }

    public void EndWatch(WatchSubscription subscription)
    {
        lock (_gate)
        {
            _watches.Remove(subscription);
        }
    }

    /// <summary>Forgets the watch history: older resourceVersions get 410, and so do the next <paramref name="forcedExpiries"/> watches.</summary>
    public void ExpireHistory(int forcedExpiries)
    {
        lock (_gate)
        {
            _history.Clear();
            _compactedThrough = _resourceVersion;
            _forcedExpiries = forcedExpiries;
        }
    }

    public int DropWatches(bool abort)
    {
        List<WatchSubscription> dropped;
        lock (_gate)
        {
            dropped = [.. _watches];
            _watches.Clear();
        }

        foreach (var watch in dropped)
        {
            watch.Close(abort);
        }

        return dropped.Count;
    }

    private Dictionary<(string Namespace, string Name), StoredObject> Table(ResourceType type) =>
        _objects.TryGetValue(type, out var table)
            ? table
            : throw new KubeApiException(404, "NotFound", $"the server could not find the requested resource ({type})");

    private StoredObject Commit(ResourceType type, JsonObject json, string eventType, StoredObject? previous)
    {
        var rv = ++_resourceVersion;
        Metadata(json)["resourceVersion"] = rv.ToString(CultureInfo.InvariantCulture);
        var stored = new StoredObject(json, rv);
        Table(type)[(stored.Namespace, stored.Name)] = stored;
        Publish(new ChangeEvent(rv, type, eventType, stored, previous?.Labels));
        return stored;
    }

    private StoredObject Remove(ResourceType type, JsonObject json, StoredObject current)
    {
        var rv = ++_resourceVersion;
        Metadata(json)["resourceVersion"] = rv.ToString(CultureInfo.InvariantCulture);
        var deleted = new StoredObject(json, rv);
        Table(type).Remove((current.Namespace, current.Name));
        Publish(new ChangeEvent(rv, type, "DELETED", deleted, current.Labels));
        return deleted;
    }

    private void Publish(ChangeEvent change)
    {
        _history.Add(change);
        if (_history.Count >= 2 * watchHistoryLimit)
        {
            // Trim in batches so appends stay amortised O(1).
            var drop = _history.Count - watchHistoryLimit;
            _compactedThrough = _history[drop - 1].ResourceVersion;
            _history.RemoveRange(0, drop);
        }

        foreach (var watch in _watches)
        {
            watch.Offer(change);
        }
    }

    private int FirstEventAfter(long resourceVersion)
    {
        int low = 0, high = _history.Count;
        while (low < high)
        {
            var mid = (low + high) / 2;
            if (_history[mid].ResourceVersion <= resourceVersion)
            {
                low = mid + 1;
            }
            else
            {
                high = mid;
            }
        }

        return low;
    }

    private static bool SpecChanged(JsonObject before, JsonObject after)
    {
        static IEnumerable<string> SpecKeys(JsonObject o) =>
            o.Select(p => p.Key).Where(k => k is not ("metadata" or "status" or "apiVersion" or "kind"));

        foreach (var key in SpecKeys(before).Union(SpecKeys(after)))
        {
            if (!JsonNode.DeepEquals(before[key], after[key]))
            {
                return true;
            }
        }

        return false;
    }

    /// <summary>Like the real server: a body whose apiVersion or kind names another type is refused, not coerced.</summary>
    private static void CheckTypeMatches(ResourceType type, JsonObject body)
    {
        var apiVersion = body["apiVersion"]?.ToString();
        if (!string.IsNullOrEmpty(apiVersion) && apiVersion != type.ApiVersion)
        {
            throw KubeApiException.BadRequest($"the API version in the data ({apiVersion}) does not match the expected API version ({type.ApiVersion})");
        }

        var kind = body["kind"]?.ToString();
        if (!string.IsNullOrEmpty(kind) && kind != type.Kind)
        {
            throw KubeApiException.BadRequest($"the kind in the data ({kind}) does not match the expected kind ({type.Kind})");
        }
    }

    private static long ReadLong(JsonNode? node) =>
        node is null ? 0 : long.Parse(node.ToJsonString(), NumberStyles.AllowLeadingSign, CultureInfo.InvariantCulture);

    private static JsonObject Metadata(JsonObject obj)
    {
        if (obj["metadata"] is JsonObject meta)
        {
            return meta;
        }

        meta = [];
        obj["metadata"] = meta;
        return meta;
    }

    private static HashSet<string> Finalizers(JsonObject meta) =>
        meta["finalizers"] is JsonArray list
            ? list.Where(f => f is not null).Select(f => f!.GetValue<string>()).ToHashSet(StringComparer.Ordinal)
            : [];

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

    private string Timestamp() =>
        clock.GetUtcNow().UtcDateTime.ToString("yyyy'-'MM'-'dd'T'HH':'mm':'ss'Z'", CultureInfo.InvariantCulture);

    private static string RandomSuffix()
    {
        // The alphabet the real server uses for generateName (no vowels, no confusable digits).
        const string alphabet = "bcdfghjklmnpqrstvwxz2456789";
        return string.Create(5, 0, static (span, _) =>
        {
            for (var i = 0; i < span.Length; i++)
            {
                span[i] = alphabet[Random.Shared.Next(alphabet.Length)];
            }
        });
    }

    private static void ValidateName(ResourceType type, string name)
    {
        if (name.Length > 253 || !Dns1123Subdomain().IsMatch(name))
        {
            throw KubeApiException.Invalid(type, name,
                $"metadata.name: Invalid value: \"{name}\": a lowercase RFC 1123 subdomain must consist of lower case alphanumeric characters, '-' or '.', and must start and end with an alphanumeric character");
        }
    }

    [GeneratedRegex(@"^[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*$")]
    private static partial Regex Dns1123Subdomain();
}
