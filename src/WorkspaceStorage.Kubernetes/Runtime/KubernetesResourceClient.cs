using System.Net;
using System.Runtime.CompilerServices;
using System.Globalization;
using System.Text;
using System.Text.Json;
using k8s;
using k8s.Autorest;
using k8s.Models;

namespace WorkspaceStorage.Kubernetes.Runtime;

/// <summary>Timeouts of the Kubernetes adapter.</summary>
public sealed record ResourceClientOptions
{
    /// <summary>Upper bound of one request (get, list, write).</summary>
    public TimeSpan RequestTimeout { get; init; } = TimeSpan.FromSeconds(30);

    /// <summary>How long the server keeps one watch open (sent as timeoutSeconds); the informer then resumes.</summary>
    public TimeSpan WatchTimeout { get; init; } = TimeSpan.FromMinutes(5);

    /// <summary>Extra time past <see cref="WatchTimeout"/> before the client itself gives up on a silent watch.</summary>
    public TimeSpan WatchGrace { get; init; } = TimeSpan.FromSeconds(30);
}

/// <summary>
/// <see cref="IResourceClient{T}"/> and <see cref="IResourceWatcher{T}"/> on KubernetesClient, through the
/// custom-objects endpoints: they address any resource by group/version/plural, the core group included
/// (KubernetesClient maps an empty group to /api/v1), so one adapter serves WorkspaceStorage, StorageBackend,
/// Secrets and ConfigMaps alike.
/// </summary>
public sealed class KubernetesResourceClient<T> : IResourceClient<T>, IResourceWatcher<T>
    where T : class, IKubernetesObject<V1ObjectMeta>
{
    private readonly IKubernetes kubernetes;
    private readonly ResourceClientOptions options;

    public KubernetesResourceClient(IKubernetes kubernetes, ResourceDescriptor resource, ResourceClientOptions? options = null)
    {
        this.kubernetes = kubernetes ?? throw new ArgumentNullException(nameof(kubernetes));
        ResourceJson.Ensure();
        Resource = resource ?? throw new ArgumentNullException(nameof(resource));
        this.options = options ?? new ResourceClientOptions();
    }

    public ResourceDescriptor Resource { get; }

    private ICustomObjectsOperations Api => kubernetes.CustomObjects;

    public async Task<T?> GetAsync(ResourceKey key, CancellationToken cancellationToken)
    {
        CheckScope(key.Namespace);
        try
        {
            return await CallAsync("get", key, async token => Resource.Namespaced
                ? (await Api.GetNamespacedCustomObjectWithHttpMessagesAsync<T>(Resource.Group, Resource.Version, key.Namespace!, Resource.Plural, key.Name, cancellationToken: token)).Body
                : (await Api.GetClusterCustomObjectWithHttpMessagesAsync<T>(Resource.Group, Resource.Version, Resource.Plural, key.Name, cancellationToken: token)).Body,
                cancellationToken);
        }
        catch (ResourceNotFoundException)
        {
            return null;
        }
    }

    public async Task<ResourceList<T>> ListAsync(string? @namespace, string? labelSelector, CancellationToken cancellationToken)
    {
        var list = await CallAsync("list", null, async token =>
        {
            HttpOperationResponse<KubernetesList<T>> response;
            if (!Resource.Namespaced)
            {
                response = await Api.ListClusterCustomObjectWithHttpMessagesAsync<KubernetesList<T>>(Resource.Group, Resource.Version, Resource.Plural, labelSelector: labelSelector, cancellationToken: token);
            }
            else if (@namespace is null)
            {
                response = await Api.ListCustomObjectForAllNamespacesWithHttpMessagesAsync<KubernetesList<T>>(Resource.Group, Resource.Version, Resource.Plural, labelSelector: labelSelector, cancellationToken: token);
            }
            else
            {
                response = await Api.ListNamespacedCustomObjectWithHttpMessagesAsync<KubernetesList<T>>(Resource.Group, Resource.Version, @namespace, Resource.Plural, labelSelector: labelSelector, cancellationToken: token);
            }

            return response.Body;
        }, cancellationToken);
        return new ResourceList<T>(list.Items?.ToList() ?? [], list.Metadata?.ResourceVersion ?? "");
    }

    public Task<T> CreateAsync(T resource, CancellationToken cancellationToken)
    {
        var key = ResourceKey.Of(resource);
        CheckScope(key.Namespace);
        Stamp(resource);
        return CallAsync("create", key, async token => Resource.Namespaced
            ? (await Api.CreateNamespacedCustomObjectWithHttpMessagesAsync<T>(resource, Resource.Group, Resource.Version, key.Namespace!, Resource.Plural, cancellationToken: token)).Body
            : (await Api.CreateClusterCustomObjectWithHttpMessagesAsync<T>(resource, Resource.Group, Resource.Version, Resource.Plural, cancellationToken: token)).Body,
            cancellationToken);
    }

    public Task<T> ReplaceAsync(T resource, CancellationToken cancellationToken)
    {
        var key = ResourceKey.Of(resource);
        CheckScope(key.Namespace);
        Stamp(resource);
        return CallAsync("replace", key, async token => Resource.Namespaced
            ? (await Api.ReplaceNamespacedCustomObjectWithHttpMessagesAsync<T>(resource, Resource.Group, Resource.Version, key.Namespace!, Resource.Plural, key.Name, cancellationToken: token)).Body
            : (await Api.ReplaceClusterCustomObjectWithHttpMessagesAsync<T>(resource, Resource.Group, Resource.Version, Resource.Plural, key.Name, cancellationToken: token)).Body,
            cancellationToken);
    }

    public Task<T> ReplaceStatusAsync(T resource, CancellationToken cancellationToken)
    {
        var key = ResourceKey.Of(resource);
        CheckScope(key.Namespace);
        Stamp(resource);
        return CallAsync("replace status", key, async token => Resource.Namespaced
            ? (await Api.ReplaceNamespacedCustomObjectStatusWithHttpMessagesAsync<T>(resource, Resource.Group, Resource.Version, key.Namespace!, Resource.Plural, key.Name, cancellationToken: token)).Body
            : (await Api.ReplaceClusterCustomObjectStatusWithHttpMessagesAsync<T>(resource, Resource.Group, Resource.Version, Resource.Plural, key.Name, cancellationToken: token)).Body,
            cancellationToken);
    }

    public Task<T> PatchAsync(ResourceKey key, ResourcePatch patch, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(patch);
        CheckScope(key.Namespace);
        var body = new V1Patch(patch.Json, patch.Type == ResourcePatchType.JsonPatch ? V1Patch.PatchType.JsonPatch : V1Patch.PatchType.MergePatch);
        return CallAsync("patch", key, async token => Resource.Namespaced
            ? (await Api.PatchNamespacedCustomObjectWithHttpMessagesAsync<T>(body, Resource.Group, Resource.Version, key.Namespace!, Resource.Plural, key.Name, cancellationToken: token)).Body
            : (await Api.PatchClusterCustomObjectWithHttpMessagesAsync<T>(body, Resource.Group, Resource.Version, Resource.Plural, key.Name, cancellationToken: token)).Body,
            cancellationToken);
    }

    public async Task<bool> DeleteAsync(ResourceKey key, CancellationToken cancellationToken)
    {
        CheckScope(key.Namespace);
        try
        {
            await CallAsync<object?>("delete", key, async token =>
            {
                using var response = Resource.Namespaced
                    ? await Api.DeleteNamespacedCustomObjectWithHttpMessagesAsync(Resource.Group, Resource.Version, key.Namespace!, Resource.Plural, key.Name, cancellationToken: token)
                    : await Api.DeleteClusterCustomObjectWithHttpMessagesAsync(Resource.Group, Resource.Version, Resource.Plural, key.Name, cancellationToken: token);
                return null;
            }, cancellationToken);
            return true;
        }
        catch (ResourceNotFoundException)
        {
            return false;
        }
    }

    public async IAsyncEnumerable<ResourceWatchEvent<T>> WatchAsync(string? @namespace, string resourceVersion, string? labelSelector, [EnumeratorCancellation] CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(resourceVersion);
        var timeoutSeconds = (int)Math.Max(1, options.WatchTimeout.TotalSeconds);
        using var watchCts = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
        watchCts.CancelAfter(options.WatchTimeout + options.WatchGrace);
        var token = watchCts.Token;

        // KubernetesClient.Aot has no watch; the stream is read here: one JSON event per line (ADDED/MODIFIED/DELETED/
        // BOOKMARK with the object, ERROR with a Status), over the client's own HttpClient and credentials.
        if (kubernetes is not k8s.Kubernetes client)
        {
            throw new NotSupportedException("Watching needs a k8s.Kubernetes client (its HttpClient and credentials).");
        }

        var response = await WithinWatchBoundAsync(() => SendWatchAsync(client, WatchPath(@namespace, labelSelector, resourceVersion, timeoutSeconds), token),
            cancellationToken);
        if (response is null)
        {
            yield break;
        }

        using (response)
        {
            Stream body;
            try
            {
                body = await response.Content.ReadAsStreamAsync(token);
            }
            catch (OperationCanceledException) when (!cancellationToken.IsCancellationRequested)
            {
                yield break;
            }

            using var reader = new StreamReader(body);
            for (; ; )
            {
                var line = await WithinWatchBoundAsync(() => reader.ReadLineAsync(token).AsTask(), cancellationToken);
                if (line is null)
                {
                    yield break;
                }

                if (line.Length == 0)
                {
                    continue;
                }

                ResourceWatchEvent<T>? change;
                try
                {
                    change = ParseWatchLine(line, resourceVersion);
                }
                catch (JsonException error)
                {
                    throw Translate(error, "watch", null);
                }

                if (change is not null)
                {
                    yield return change;
                }
            }
        }
    }

    private ResourceWatchEvent<T>? ParseWatchLine(string line, string resourceVersion)
    {
        using var document = JsonDocument.Parse(line);
        var root = document.RootElement;
        var type = root.TryGetProperty("type", out var typeElement) ? typeElement.GetString() : null;
        if (!root.TryGetProperty("object", out var objectElement))
        {
            return null;
        }

        if (string.Equals(type, "ERROR", StringComparison.Ordinal))
        {
            var status = ResourceJson.Deserialize<V1Status>(objectElement);
            throw Translate(new KubernetesException(status), "watch", null);
        }

        var mapped = type switch
        {
            "ADDED" => ResourceWatchEventType.Added,
            "MODIFIED" => ResourceWatchEventType.Modified,
            "DELETED" => ResourceWatchEventType.Deleted,
            "BOOKMARK" => ResourceWatchEventType.Bookmark,
            _ => (ResourceWatchEventType?)null,
        };
        if (mapped is null)
        {
            return null;
        }

        var item = ResourceJson.Deserialize<T>(objectElement);
        return item?.Metadata is null ? null : new ResourceWatchEvent<T>(mapped.Value, item, item.Metadata.ResourceVersion ?? resourceVersion);
    }

    private string WatchPath(string? @namespace, string? labelSelector, string resourceVersion, int timeoutSeconds)
    {
        var path = new StringBuilder(string.IsNullOrEmpty(Resource.Group) ? "api/" : $"apis/{Resource.Group}/");
        path.Append(Resource.Version).Append('/');
        if (Resource.Namespaced && @namespace is not null)
        {
            path.Append("namespaces/").Append(Uri.EscapeDataString(@namespace)).Append('/');
        }

        path.Append(Resource.Plural).Append("?allowWatchBookmarks=true");
        if (!string.IsNullOrEmpty(labelSelector))
        {
            path.Append("&labelSelector=").Append(Uri.EscapeDataString(labelSelector));
        }

        path.Append("&resourceVersion=").Append(Uri.EscapeDataString(resourceVersion))
            .Append("&timeoutSeconds=").Append(timeoutSeconds.ToString(CultureInfo.InvariantCulture))
            .Append("&watch=true");
        return path.ToString();
    }

    private static async Task<HttpResponseMessage> SendWatchAsync(k8s.Kubernetes client, string relativePath, CancellationToken cancellationToken)
    {
        var baseUri = client.BaseUri.AbsoluteUri.EndsWith('/') ? client.BaseUri : new Uri(client.BaseUri.AbsoluteUri + "/");
        using var request = new HttpRequestMessage(HttpMethod.Get, new Uri(baseUri, relativePath))
        {
            // As KubernetesClient's own requests: HTTP/2 where the server speaks it, so watches share one connection.
            Version = HttpVersion.Version20,
            VersionPolicy = HttpVersionPolicy.RequestVersionOrLower,
        };
        if (client.Credentials is not null)
        {
            await client.Credentials.ProcessHttpRequestAsync(request, cancellationToken);
        }

        var response = await client.HttpClient.SendAsync(request, HttpCompletionOption.ResponseHeadersRead, cancellationToken);
        if (response.IsSuccessStatusCode)
        {
            return response;
        }

        using (response)
        {
            var content = await response.Content.ReadAsStringAsync(cancellationToken);
            throw new HttpOperationException($"watch returned {(int)response.StatusCode}")
            {
                Response = new HttpResponseMessageWrapper(response, content),
            };
        }
    }

    private void CheckScope(string? @namespace)
    {
        if (Resource.Namespaced && @namespace is null)
        {
            throw new ArgumentException($"{Resource.Plural} are namespaced: metadata.namespace must be set.", nameof(@namespace));
        }

        if (!Resource.Namespaced && @namespace is not null)
        {
            throw new ArgumentException($"{Resource.Plural} are cluster-scoped: metadata.namespace must be empty.", nameof(@namespace));
        }
    }

    // The API server needs apiVersion and kind in a write body; models built in code often leave them out.
    private void Stamp(T resource)
    {
        if (string.IsNullOrEmpty(resource.ApiVersion))
        {
            resource.ApiVersion = Resource.ApiVersion;
        }

        if (string.IsNullOrEmpty(resource.Kind))
        {
            resource.Kind = Resource.Kind;
        }
    }

    private async Task<TResult> CallAsync<TResult>(string verb, ResourceKey? key, Func<CancellationToken, Task<TResult>> call, CancellationToken cancellationToken)
    {
        using var timeout = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
        timeout.CancelAfter(options.RequestTimeout);
        try
        {
            return await call(timeout.Token);
        }
        catch (OperationCanceledException) when (!cancellationToken.IsCancellationRequested)
        {
            throw new ResourceClientException($"{verb} {Describe(key)}: no answer within {options.RequestTimeout.TotalSeconds:0.#}s.");
        }
        catch (Exception error) when (error is not OperationCanceledException)
        {
            throw Translate(error, verb, key);
        }
    }

    private string Describe(ResourceKey? key) => key is null ? Resource.Plural : $"{Resource.Plural} {key}";

    /// <summary>
    /// One step of a watch: the caller's cancellation propagates; the watch's own client-side bound (a watch the server
    /// did not close in time) ends it with null, and the caller resumes; any other failure is translated.
    /// </summary>
    private async Task<TResult?> WithinWatchBoundAsync<TResult>(Func<Task<TResult>> step, CancellationToken cancellationToken) where TResult : class?
    {
        try
        {
            return await step();
        }
        catch (OperationCanceledException) when (cancellationToken.IsCancellationRequested)
        {
            throw;
        }
        catch (OperationCanceledException)
        {
            return null;
        }
        catch (Exception error)
        {
            throw Translate(error, "watch", null);
        }
    }

    private ResourceClientException Translate(Exception error, string verb, ResourceKey? key)
    {
        var (status, reason, message) = error switch
        {
            HttpOperationException http => ReadStatus(http),
            KubernetesException kube => (kube.Status?.Code, kube.Status?.Reason, kube.Status?.Message),
            _ => ((int?)null, null, null),
        };
        var what = $"{verb} {Describe(key)}";
        if (status is null)
        {
            // Transport failures: keep the exception type only; its message may quote request data.
            return error is ResourceClientException known ? known : new ResourceClientException($"{what} failed: {error.GetType().Name}.");
        }

        var detail = $"{what}: {status} {reason}{(string.IsNullOrEmpty(message) ? "" : $" ({Truncate(message)})")}";
        return status switch
        {
            404 => new ResourceNotFoundException(detail),
            409 when string.Equals(reason, "AlreadyExists", StringComparison.Ordinal) => new ResourceAlreadyExistsException(detail),
            409 => new ResourceConflictException(detail),
            410 => new ResourceGoneException(detail),
            429 or >= 500 => new ResourceClientException(detail, status),
            _ => new ResourceRejectedException(detail, status.Value),
        };
    }

    private static (int? Status, string? Reason, string? Message) ReadStatus(HttpOperationException error)
    {
        var code = (int?)error.Response?.StatusCode;
        try
        {
            var body = error.Response?.Content;
            if (!string.IsNullOrEmpty(body) && body.TrimStart().StartsWith('{'))
            {
                var status = ResourceJson.Deserialize<V1Status>(body);
                if (status is not null && string.Equals(status.Kind, "Status", StringComparison.Ordinal))
                {
                    return (code ?? status.Code, status.Reason, status.Message);
                }
            }
        }
        catch (System.Text.Json.JsonException)
        {
            // Not a Status body: the code alone is enough.
        }

        return (code, code is null ? null : ((HttpStatusCode)code.Value).ToString(), null);
    }

    private static string Truncate(string text) => text.Length <= 300 ? text : text[..300] + "…";
}
