using System.Net;
using System.Text;
using System.Text.Json;
using System.Text.Json.Nodes;
using k8s;
using k8s.Autorest;
using k8s.Models;
using WorkspaceStorage.Core.Model;
using WorkspaceStorage.Resources;
using WorkspaceStorage.Core.Signing;
using WorkspaceStorage.Testing.S3;
using WorkspaceStorage.Testing.Support;

namespace WorkspaceStorage.EndToEnd.Tests.Infrastructure;

/// <summary>
/// One test's world on the shared cluster: its own namespace, StorageBackend and bucket (random suffixes, so tests
/// never see each other's objects), and the kubectl-like calls the scenarios make. Disposing deletes what it made.
/// </summary>
internal sealed class ClusterScenario : IAsyncDisposable
{
    public static readonly TimeSpan Converge = TimeSpan.FromSeconds(90);

    private const string AdminSecretName = "rgw-admin";

    private ClusterScenario(IKubernetes kubernetes, RgwTestServer? rgw, string suffix)
    {
        Kubernetes = kubernetes;
        Rgw = rgw;
        Suffix = suffix;
        Namespace = "e2e-" + suffix;
        BackendName = "rgw-" + suffix;
        Bucket = "e2e-" + suffix;
    }

    public IKubernetes Kubernetes { get; }

    public RgwTestServer? Rgw { get; }

    public string Suffix { get; }

    public string Namespace { get; }

    public string BackendName { get; }

    public string Bucket { get; }

    private static CancellationToken Ct => TestContext.Current.CancellationToken;

    /// <summary>A namespace, plus (when <paramref name="rgw"/> is given) the admin Secret and a StorageBackend for the local RGW.</summary>
    public static async Task<ClusterScenario> CreateAsync(IKubernetes kubernetes, RgwTestServer? rgw)
    {
        var scenario = new ClusterScenario(kubernetes, rgw, Guid.NewGuid().ToString("N")[..10]);
        await kubernetes.CoreV1.CreateNamespaceAsync(new V1Namespace { Metadata = new V1ObjectMeta { Name = scenario.Namespace } }, cancellationToken: Ct);
        if (rgw is not null)
        {
            await kubernetes.CoreV1.CreateNamespacedSecretAsync(new V1Secret
            {
                Metadata = new V1ObjectMeta { Name = AdminSecretName, NamespaceProperty = scenario.Namespace },
                StringData = new Dictionary<string, string>
                {
                    ["AWS_ACCESS_KEY_ID"] = rgw.Admin.AccessKeyId,
                    ["AWS_SECRET_ACCESS_KEY"] = rgw.Admin.SecretAccessKey,
                },
            }, scenario.Namespace, cancellationToken: Ct);
            await kubernetes.CustomObjects.CreateClusterCustomObjectAsync(Manifest($$"""
                {
                  "apiVersion": "{{ApiGroup.ApiVersion}}",
                  "kind": "StorageBackend",
                  "metadata": { "name": "{{scenario.BackendName}}" },
                  "spec": {
                    "type": "ceph-rgw",
                    "endpoint": "{{rgw.Endpoint.GetLeftPart(UriPartial.Authority)}}",
                    "region": "{{rgw.Region}}",
                    "bucket": "{{scenario.Bucket}}",
                    "pathStyle": true,
                    "allowClaimsFromAnyNamespace": true,
                    "adminCredentialsSecretRef": { "name": "{{AdminSecretName}}", "namespace": "{{scenario.Namespace}}" }
                  }
                }
                """), ApiGroup.Group, ApiGroup.Version, ApiGroup.StorageBackendPlural, cancellationToken: Ct);
        }

        return scenario;
    }

    public static JsonObject Manifest(string json) => JsonNode.Parse(json)!.AsObject();

    /// <summary>A WorkspaceStorage on this scenario's backend; <paramref name="spec"/> adds or overrides spec fields.</summary>
    public Task CreateWorkspaceStorageAsync(string name, JsonObject? spec = null)
    {
        var body = Manifest($$"""
            {
              "apiVersion": "{{ApiGroup.ApiVersion}}",
              "kind": "WorkspaceStorage",
              "metadata": { "name": "{{name}}", "namespace": "{{Namespace}}" },
              "spec": { "backendRef": { "name": "{{BackendName}}" } }
            }
            """);
        foreach (var (field, value) in spec ?? [])
        {
            body["spec"]![field] = value?.DeepClone();
        }

        return Kubernetes.CustomObjects.CreateNamespacedCustomObjectAsync(body, ApiGroup.Group, ApiGroup.Version, Namespace, ApiGroup.WorkspaceStoragePlural,
            cancellationToken: Ct);
    }

    public async Task<WorkspaceStorageResource?> GetWorkspaceStorageAsync(string name, CancellationToken cancellationToken)
    {
        try
        {
            return await Kubernetes.CustomObjects.GetNamespacedCustomObjectAsync<WorkspaceStorageResource>(ApiGroup.Group, ApiGroup.Version, Namespace,
                ApiGroup.WorkspaceStoragePlural, name, cancellationToken);
        }
        catch (HttpOperationException error) when (error.Response.StatusCode == HttpStatusCode.NotFound)
        {
            return null;
        }
    }

    /// <summary>A JSON merge patch (what `kubectl patch --type merge` and `kubectl annotate` send).</summary>
    public Task PatchWorkspaceStorageAsync(string name, string mergePatch) =>
        Kubernetes.CustomObjects.PatchNamespacedCustomObjectAsync(new V1Patch(mergePatch, V1Patch.PatchType.MergePatch), ApiGroup.Group, ApiGroup.Version,
            Namespace, ApiGroup.WorkspaceStoragePlural, name, cancellationToken: Ct);

    public Task DeleteWorkspaceStorageAsync(string name) =>
        Kubernetes.CustomObjects.DeleteNamespacedCustomObjectAsync(ApiGroup.Group, ApiGroup.Version, Namespace, ApiGroup.WorkspaceStoragePlural, name,
            cancellationToken: Ct);

    /// <summary>`kubectl wait --for=condition=Ready`: Ready=True for the current generation.</summary>
    public Task<WorkspaceStorageResource> WaitReadyAsync(string name, Func<WorkspaceStorageResource, bool>? also = null, string? alsoWhat = null) =>
        Eventually.WaitAsync($"WorkspaceStorage {Namespace}/{name} to be Ready{(alsoWhat is null ? "" : " and " + alsoWhat)}", Converge, async ct =>
        {
            var resource = await GetWorkspaceStorageAsync(name, ct);
            if (resource is null)
            {
                return (false, null!, "not found");
            }

            var ready = resource.Status?.Conditions.FirstOrDefault(c => c.Type == ConditionTypes.Ready);
            var done = ready?.Status == "True"
                && resource.Status!.ObservedGeneration == resource.Metadata.Generation
                && (also is null || also(resource));
            return (done, resource, DescribeStatus(resource));
        }, Ct);

    /// <summary>`kubectl wait --for=condition=Ready wsb/&lt;name&gt;`.</summary>
    public Task WaitBackendReadyAsync() =>
        Eventually.WaitAsync($"StorageBackend {BackendName} to be Ready", Converge, async ct =>
        {
            var backend = await Kubernetes.CustomObjects.GetClusterCustomObjectAsync<StorageBackendResource>(ApiGroup.Group, ApiGroup.Version,
                ApiGroup.StorageBackendPlural, BackendName, ct);
            var conditions = backend.Status?.Conditions ?? [];
            var ready = conditions.Any(c => c.Type == ConditionTypes.Ready && c.Status == "True")
                && backend.Status!.ObservedGeneration == backend.Metadata.Generation;
            return (ready, JsonSerializer.Serialize(conditions.Select(c => new { c.Type, c.Status, c.Reason, c.Message })));
        }, Ct);

    /// <summary>Every event message in this scenario's namespace (what `kubectl get events` shows).</summary>
    public async Task<IReadOnlyList<string>> EventMessagesAsync()
    {
        var events = await Kubernetes.CoreV1.ListNamespacedEventAsync(Namespace, cancellationToken: Ct);
        return [.. events.Items.Select(e => $"{e.Reason}: {e.Message}")];
    }

    public Task WaitGoneAsync(string name) =>
        Eventually.WaitAsync($"WorkspaceStorage {Namespace}/{name} to be gone (finalizer removed)", Converge, async ct =>
        {
            var resource = await GetWorkspaceStorageAsync(name, ct);
            return (resource is null, resource is null ? "gone" : $"finalizers [{string.Join(", ", resource.Metadata.Finalizers ?? [])}]; {DescribeStatus(resource)}");
        }, Ct);

    public async Task<V1Secret?> GetSecretAsync(string name, CancellationToken cancellationToken)
    {
        try
        {
            return await Kubernetes.CoreV1.ReadNamespacedSecretAsync(name, Namespace, cancellationToken: cancellationToken);
        }
        catch (HttpOperationException error) when (error.Response.StatusCode == HttpStatusCode.NotFound)
        {
            return null;
        }
    }

    public Task WaitSecretGoneAsync(string name) =>
        Eventually.WaitAsync($"Secret {Namespace}/{name} to be gone", Converge, async ct =>
        {
            var secret = await GetSecretAsync(name, ct);
            return (secret is null, secret is null ? "gone" : $"still there, deletionTimestamp {secret.Metadata.DeletionTimestamp}");
        }, Ct);

    public static string Value(V1Secret secret, string key) =>
        secret.Data is not null && secret.Data.TryGetValue(key, out var bytes)
            ? Encoding.UTF8.GetString(bytes)
            : throw new Xunit.Sdk.XunitException($"Secret {secret.Metadata.Name} has no key {key} (keys: {string.Join(", ", secret.Data?.Keys ?? [])})");

    public static AwsCredentials Credentials(V1Secret secret) => new(Value(secret, "AWS_ACCESS_KEY_ID"), Value(secret, "AWS_SECRET_ACCESS_KEY"));

    public async ValueTask DisposeAsync()
    {
        // WorkspaceStorages first, while the admin Secret still exists: their finalizer needs it to remove the RGW
        // users. Bounded and best effort; the cluster is thrown away at the end of the run anyway.
        using var cleanup = new CancellationTokenSource(TimeSpan.FromSeconds(45));
        try
        {
            var left = await Kubernetes.CustomObjects.ListNamespacedCustomObjectAsync<WorkspaceStorageResourceList>(ApiGroup.Group, ApiGroup.Version,
                Namespace, ApiGroup.WorkspaceStoragePlural, cancellationToken: cleanup.Token);
            foreach (var resource in left.Items)
            {
                await Kubernetes.CustomObjects.DeleteNamespacedCustomObjectAsync(ApiGroup.Group, ApiGroup.Version, Namespace, ApiGroup.WorkspaceStoragePlural,
                    resource.Metadata.Name, cancellationToken: cleanup.Token);
            }

            while (left.Items.Count > 0 && !cleanup.IsCancellationRequested)
            {
                await Task.Delay(500, cleanup.Token); // the pace of a best-effort cleanup poll (bounded by its token; it must not fail the test)
                left = await Kubernetes.CustomObjects.ListNamespacedCustomObjectAsync<WorkspaceStorageResourceList>(ApiGroup.Group, ApiGroup.Version,
                    Namespace, ApiGroup.WorkspaceStoragePlural, cancellationToken: cleanup.Token);
            }

            await Kubernetes.CoreV1.DeleteNamespaceAsync(Namespace, cancellationToken: cleanup.Token);
            if (Rgw is not null)
            {
                await Kubernetes.CustomObjects.DeleteClusterCustomObjectAsync(ApiGroup.Group, ApiGroup.Version, ApiGroup.StorageBackendPlural, BackendName,
                    cancellationToken: cleanup.Token);
            }
        }
        catch (Exception error) when (error is HttpOperationException or OperationCanceledException or HttpRequestException)
        {
            TestContext.Current.SendDiagnosticMessage($"cleanup of {Namespace} incomplete: {error.GetType().Name}");
        }
    }

    private static string DescribeStatus(WorkspaceStorageResource resource) =>
        $"generation {resource.Metadata.Generation}, observedGeneration {resource.Status?.ObservedGeneration}, conditions "
        + JsonSerializer.Serialize((resource.Status?.Conditions ?? []).Select(c => new { c.Type, c.Status, c.Reason, c.Message }));
}
