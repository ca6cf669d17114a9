using System.Text.Json;
using k8s;
using k8s.Models;
using WorkspaceStorage.Resources;
using WorkspaceStorage.Kubernetes.Runtime;
using WorkspaceStorage.Testing.Support;

namespace WorkspaceStorage.Testing.Kubernetes;

/// <summary>
/// One test's view of the assembly's real API server (<see cref="RealKubeApiServer"/>): emptied when it starts (every
/// custom resource, finalizers removed, and every Secret, ConfigMap, Event and Lease), with the
/// namespaces the test names created, and a <see cref="KubeApiProxy"/> of its own in front, which the clients it makes
/// go through, so counts and faults are the test's own. <see cref="GetAsync{T}(string?, string)"/> and the other object
/// helpers go straight to the server as the admin and are not counted.
/// </summary>
public sealed class KubeCluster : IAsyncDisposable
{
    private readonly k8s.Kubernetes _admin;

    private KubeCluster(RealKubeApiServer server, KubeApiProxy proxy)
    {
        Server = server;
        Proxy = proxy;
        _admin = server.CreateAdminClient();
    }

    public RealKubeApiServer Server { get; }

    /// <summary>The proxy the clients of <see cref="CreateClient"/> go through: counts and faults.</summary>
    public KubeApiProxy Proxy { get; }

    /// <summary>The real server behind the proxy, emptied, with <paramref name="namespaces"/> (and default) present.</summary>
    public static async Task<KubeCluster> StartAsync(IEnumerable<string>? namespaces = null, CancellationToken cancellationToken = default)
    {
        var server = await TestContext.Current.GetFixture(typeof(RealKubeApiServer)) as RealKubeApiServer
                     ?? throw new InvalidOperationException(
                         "no real API server for this assembly: add [assembly: AssemblyFixture(typeof(RealKubeApiServer))]");
        return await StartAsync(server, namespaces, cancellationToken);
    }

    /// <summary>The same on a server of the caller's (a program outside xunit, such as make bench).</summary>
    public static async Task<KubeCluster> StartAsync(RealKubeApiServer server, IEnumerable<string>? namespaces, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(server);
        var proxy = await KubeApiProxy.StartAsync(server.BaseAddress, server.Certificate, cancellationToken);
        var cluster = new KubeCluster(server, proxy);
        await cluster.EmptyAsync(cancellationToken);
        foreach (var ns in namespaces ?? [])
        {
            await cluster.EnsureNamespaceAsync(ns);
        }

        return cluster;
    }

    // ---------- clients (through the proxy) ----------

    /// <summary>The admin's client settings through the proxy, or another identity's <paramref name="token"/>.</summary>
    public KubernetesClientConfiguration ClientConfiguration(string? token = null) =>
        new() { Host = Proxy.BaseAddress.ToString().TrimEnd('/'), AccessToken = token ?? Server.AdminToken };

    /// <summary>A real KubernetesClient through the proxy as the admin. The caller disposes it.</summary>
    public k8s.Kubernetes CreateClient() => new(ClientConfiguration());

    /// <summary>A kubeconfig document through the proxy as the admin (it holds the admin's token: write it 0600).</summary>
    public string KubeconfigYaml(string contextName = "real-api-server", string defaultNamespace = "default") =>
        KubeconfigDocument.Yaml(Proxy.BaseAddress, Server.AdminToken, contextName, defaultNamespace);

    /// <summary>Writes <see cref="KubeconfigYaml"/> to a new file only its owner can read (it holds the admin's token).</summary>
    public async Task WriteKubeconfigAsync(string path, string defaultNamespace = "default")
    {
        var options = new FileStreamOptions { Mode = FileMode.CreateNew, Access = FileAccess.Write };
        if (!OperatingSystem.IsWindows())
        {
            options.UnixCreateMode = UnixFileMode.UserRead | UnixFileMode.UserWrite;
        }

        await using var file = new FileStream(path, options);
        await using var writer = new StreamWriter(file);
        await writer.WriteAsync(KubeconfigYaml(defaultNamespace: defaultNamespace).AsMemory(), Ct);
    }

    // ---------- objects, straight to the server (not counted) ----------

    public Task<T?> GetAsync<T>(string? ns, string name) where T : class, IKubernetesObject<V1ObjectMeta> =>
        Store<T>().GetAsync(new ResourceKey(Namespaced<T>() ? ns : null, name), Ct);

    /// <summary>A cluster-scoped object.</summary>
    public Task<T?> GetAsync<T>(string name) where T : class, IKubernetesObject<V1ObjectMeta> =>
        GetAsync<T>(null, name);

    /// <summary>Every object of the type (in <paramref name="ns"/>, or everywhere), sorted by namespace and name.</summary>
    public async Task<IReadOnlyList<T>> ObjectsAsync<T>(string? ns = null) where T : class, IKubernetesObject<V1ObjectMeta>
    {
        var list = await Store<T>().ListAsync(Namespaced<T>() ? ns : null, null, Ct);
        return [.. list.Items.OrderBy(o => o.Metadata.NamespaceProperty, StringComparer.Ordinal).ThenBy(o => o.Metadata.Name, StringComparer.Ordinal)];
    }

    /// <summary>Creates <paramref name="obj"/>, then writes its .status where it has one. Returns what the server stored.</summary>
    public async Task<T> SeedAsync<T>(T obj) where T : class, IKubernetesObject<V1ObjectMeta>
    {
        ArgumentNullException.ThrowIfNull(obj);
        var created = await Store<T>().CreateAsync(obj, Ct);
        var status = typeof(T).GetProperty("Status");
        if (status?.GetValue(obj) is { } value && status.CanWrite)
        {
            status.SetValue(created, value);
            created = await Store<T>().ReplaceStatusAsync(created, Ct);
        }

        return created;
    }

    /// <summary>Changes an object as someone else's PUT would (a user editing the spec), retrying on conflicts. Returns what the server stored.</summary>
    public Task<T> ModifyAsync<T>(string? ns, string name, Action<T> change) where T : class, IKubernetesObject<V1ObjectMeta> =>
        ModifyCoreAsync(ns, name, change, (store, o, token) => store.ReplaceAsync(o, token));

    /// <summary>Changes only .status, as a PUT to /status would.</summary>
    public Task<T> ModifyStatusAsync<T>(string? ns, string name, Action<T> change) where T : class, IKubernetesObject<V1ObjectMeta> =>
        ModifyCoreAsync(ns, name, change, (store, o, token) => store.ReplaceStatusAsync(o, token));

    /// <summary>Deletes as a DELETE call does (finalizers only mark it). False when it did not exist.</summary>
    public Task<bool> DeleteAsync<T>(string? ns, string name) where T : class, IKubernetesObject<V1ObjectMeta> =>
        Store<T>().DeleteAsync(new ResourceKey(Namespaced<T>() ? ns : null, name), Ct);

    public async Task EnsureNamespaceAsync(string name)
    {
        try
        {
            await _admin.CoreV1.CreateNamespaceAsync(new V1Namespace { Metadata = new V1ObjectMeta { Name = name } }, cancellationToken: Ct);
        }
        catch (k8s.Autorest.HttpOperationException error) when (error.Response.StatusCode == System.Net.HttpStatusCode.Conflict)
        {
        }
    }

    /// <summary>Installs <paramref name="definition"/> unless it is there, and waits until its resources are served.</summary>
    public async Task EnsureCustomResourceDefinitionAsync(V1CustomResourceDefinition definition)
    {
        ArgumentNullException.ThrowIfNull(definition);
        try
        {
            await _admin.ApiextensionsV1.CreateCustomResourceDefinitionAsync(definition, cancellationToken: Ct);
        }
        catch (k8s.Autorest.HttpOperationException error) when (error.Response.StatusCode == System.Net.HttpStatusCode.Conflict)
        {
        }

        var version = definition.Spec.Versions[0].Name;
        await Eventually.TrueAsync(async token =>
        {
            try
            {
                await _admin.CustomObjects.ListClusterCustomObjectAsync(definition.Spec.Group, version, definition.Spec.Names.Plural, cancellationToken: token);
                return true;
            }
            catch (k8s.Autorest.HttpOperationException)
            {
                return false; // 404 until Established, then 429 while its storage initializes
            }
        }, $"{definition.Metadata.Name} to be served", TimeSpan.FromSeconds(60));
    }

    // ---------- the proxy's counts and faults ----------

    /// <summary>Watch streams open through the proxy now.</summary>
    public int OpenWatchCount => Proxy.OpenWatchCount;

    public int RequestCount(string verb, ResourceDescriptor type, string? subresource = null) => Proxy.RequestCount(verb, type, subresource);

    public int RequestCount(string verb, string resource) => Proxy.RequestCount(verb, resource);

    public int WriteCount(ResourceDescriptor type) => Proxy.WriteCount(type);

    public int WriteCount(string resource) => Proxy.WriteCount(resource);

    public int TotalRequestCount => Proxy.TotalRequestCount;

    public void ResetRequestCounts() => Proxy.ResetRequestCounts();

    public InjectedFault FailRequests(int statusCode, Func<KubeRequest, bool>? match = null, int? count = null, TimeSpan? duration = null) =>
        Proxy.FailRequests(statusCode, match, count, duration);

    public void ClearFaults() => Proxy.ClearFaults();

    public void InjectConflicts(ResourceDescriptor type, string? ns, string name, int count = 1, bool onStatus = false) =>
        Proxy.InjectConflicts(type, ns, name, count, onStatus);

    public int DropWatches(bool abortConnections = false) => Proxy.DropWatches(abortConnections);

    public void ExpireWatchHistory(int forceNextWatches = 1) => Proxy.ExpireWatchHistory(forceNextWatches);

    public async ValueTask DisposeAsync()
    {
        await Proxy.DisposeAsync();
        _admin.Dispose();
    }

    // ---------- helpers ----------

    private async Task<T> ModifyCoreAsync<T>(string? ns, string name, Action<T> change, Func<KubernetesResourceClient<T>, T, CancellationToken, Task<T>> write) where T : class, IKubernetesObject<V1ObjectMeta>
    {
        var store = Store<T>();
        for (var attempt = 1; ; attempt++)
        {
            var current = await GetAsync<T>(ns, name) ?? throw new InvalidOperationException($"{typeof(T).Name} {ns}/{name} does not exist");
            change(current);
            try
            {
                return await write(store, current, Ct);
            }
            catch (ResourceConflictException) when (attempt < 10)
            {
                // someone (the operator) wrote in between: read again and re-apply the change
            }
        }
    }

    /// <summary>Deletes everything a test may have left: custom resources lose their finalizers first (no operator runs now).</summary>
    private async Task EmptyAsync(CancellationToken cancellationToken)
    {
        foreach (var crd in (await _admin.ApiextensionsV1.ListCustomResourceDefinitionAsync(cancellationToken: cancellationToken)).Items)
        {
            await EmptyCustomAsync(crd, cancellationToken);
        }

        foreach (var ns in (await _admin.CoreV1.ListNamespaceAsync(cancellationToken: cancellationToken)).Items.Select(n => n.Metadata.Name))
        {
            await _admin.CoreV1.DeleteCollectionNamespacedSecretAsync(ns, cancellationToken: cancellationToken);
            await _admin.CoreV1.DeleteCollectionNamespacedConfigMapAsync(ns, cancellationToken: cancellationToken);
            await _admin.CoreV1.DeleteCollectionNamespacedEventAsync(ns, cancellationToken: cancellationToken);
            await _admin.EventsV1.DeleteCollectionNamespacedEventAsync(ns, cancellationToken: cancellationToken);
            await _admin.CoordinationV1.DeleteCollectionNamespacedLeaseAsync(ns, cancellationToken: cancellationToken);
        }
    }

    /// <summary>Every object of a custom resource, in every namespace: finalizers removed, then deleted.</summary>
    private async Task EmptyCustomAsync(V1CustomResourceDefinition crd, CancellationToken cancellationToken)
    {
        var (group, version, plural) = (crd.Spec.Group, crd.Spec.Versions.First(v => v.Storage).Name, crd.Spec.Names.Plural);
        var list = (JsonElement)await _admin.CustomObjects.ListClusterCustomObjectAsync(group, version, plural, cancellationToken: cancellationToken);
        foreach (var item in list.GetProperty("items").EnumerateArray())
        {
            var metadata = item.GetProperty("metadata");
            var name = metadata.GetProperty("name").GetString()!;
            var ns = metadata.TryGetProperty("namespace", out var n) ? n.GetString() : null;
            var noFinalizers = new V1Patch("""{"metadata":{"finalizers":null}}""", V1Patch.PatchType.MergePatch);
            try
            {
                if (ns is null)
                {
                    await _admin.CustomObjects.PatchClusterCustomObjectAsync(noFinalizers, group, version, plural, name, cancellationToken: cancellationToken);
                    await _admin.CustomObjects.DeleteClusterCustomObjectAsync(group, version, plural, name, cancellationToken: cancellationToken);
                }
                else
                {
                    await _admin.CustomObjects.PatchNamespacedCustomObjectAsync(noFinalizers, group, version, ns, plural, name, cancellationToken: cancellationToken);
                    await _admin.CustomObjects.DeleteNamespacedCustomObjectAsync(group, version, ns, plural, name, cancellationToken: cancellationToken);
                }
            }
            catch (k8s.Autorest.HttpOperationException error) when (error.Response.StatusCode == System.Net.HttpStatusCode.NotFound)
            {
            }
        }
    }

    private KubernetesResourceClient<T> Store<T>() where T : class, IKubernetesObject<V1ObjectMeta> =>
        new(_admin, ResourceDescriptor.For<T>(Namespaced<T>()));

    private static bool Namespaced<T>() =>
        typeof(T) != typeof(StorageBackendResource) && typeof(T) != typeof(V1Namespace) &&
        typeof(T) != typeof(V1ClusterRole) && typeof(T) != typeof(V1ClusterRoleBinding);

    private static CancellationToken Ct => TestContext.Current.CancellationToken;
}
