using System.Runtime.CompilerServices;
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
/// Secrets and ConfigMaps alike. Watches are read by <see cref="ResourceWatchStream{T}"/>; failures of either become
/// the runtime's exceptions through <see cref="ResourceErrors"/>.
/// </summary>
public sealed class KubernetesResourceClient<T> : IResourceClient<T>, IResourceWatcher<T>
    where T : class, IKubernetesObject<V1ObjectMeta>
{
    private readonly IKubernetes kubernetes;
    private readonly ResourceClientOptions options;
    private readonly ResourceWatchStream<T> watches;

    public KubernetesResourceClient(IKubernetes kubernetes, ResourceDescriptor resource, ResourceClientOptions? options = null)
    {
        this.kubernetes = kubernetes ?? throw new ArgumentNullException(nameof(kubernetes));
        ResourceJson.Ensure();
        // A resource assembly registers its JSON type info from a module initializer (ResourceJsonContext). Under the JIT
        // that runs when the assembly is first touched, which need not precede this client's first read; run it now.
        // Under Native AOT module initializers have already run before Main, and this is a no-op.
        RuntimeHelpers.RunModuleConstructor(typeof(T).Module.ModuleHandle);
        Resource = resource ?? throw new ArgumentNullException(nameof(resource));
        this.options = options ?? new ResourceClientOptions();
        watches = new ResourceWatchStream<T>(kubernetes, Resource, this.options);
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

    public IAsyncEnumerable<ResourceWatchEvent<T>> WatchAsync(string? @namespace, string resourceVersion, string? labelSelector, CancellationToken cancellationToken) =>
        watches.WatchAsync(@namespace, resourceVersion, labelSelector, cancellationToken);

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
            throw ResourceErrors.Translate(error, $"{verb} {Describe(key)}");
        }
    }

    private string Describe(ResourceKey? key) => key is null ? Resource.Plural : $"{Resource.Plural} {key}";
}
