using System.Net;
using System.Text;
using Amazon.S3;
using Amazon.S3.Model;
using WorkspaceStorage.Testing.Support;
using k8s.Models;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Logging.Abstractions;
using WorkspaceStorage.Core.Credentials;
using WorkspaceStorage.Core.Model;
using WorkspaceStorage.Resources;
using WorkspaceStorage.Core.Signing;
using WorkspaceStorage.Core.Workspaces;
using WorkspaceStorage.Operator.BackendResolution;
using WorkspaceStorage.Operator.Hosting;
using WorkspaceStorage.Operator.Reconciliation;
using WorkspaceStorage.Kubernetes.Runtime;
using WorkspaceStorage.Storage.Backends;
using WorkspaceStorage.Storage.CephRgw;
using WorkspaceStorage.Storage.Http;
using WorkspaceStorage.Storage.Iam;
using WorkspaceStorage.Testing.Kubernetes;
using WorkspaceStorage.Testing.S3;
using WorkspaceStorage.Core.Resilience;

namespace WorkspaceStorage.Operator.Tests.Scenarios;

/// <summary>
/// One scenario's world: the real Kubernetes API server (the assembly's, emptied for the scenario, behind a proxy of
/// its own that counts requests and injects faults), the real Ceph RGW with a bucket of its own, a StorageBackend + admin Secret pointing at it, and (once started) the
/// operator's controllers with short timings. Workspace ids are random: RGW users are global across buckets.
/// </summary>
internal sealed class ScenarioHarness : IAsyncDisposable
{
    public const string Namespace = "team-a";
    public const string AdminNamespace = "wso-system";

    private readonly List<WorkspaceId> workspaces = [];
    private readonly HttpClient http = new(new SocketsHttpHandler { UseProxy = false }) { Timeout = Timeout.InfiniteTimeSpan };
    private CancellationTokenSource? running;
    private Task? runTask;

    private ScenarioHarness(KubeCluster kube, RgwTestServer rgw, string bucket)
    {
        Kube = kube;
        Rgw = rgw;
        Bucket = bucket;
        Client = kube.CreateClient();
        Stores = OperatorStores.FromKubernetes(Client);
        BackendName = "rgw-" + Guid.NewGuid().ToString("N")[..8];
        AdminS3 = rgw.CreateAwsS3Client(rgw.Admin);
        var connection = new RgwConnection(rgw.Endpoint, rgw.Region, rgw.Admin,
            new SignedHttpSender(http, new SigV4Signer(), new RetryOptions(), NullBackendCallObserver.Instance, "test"));
        Iam = new IamClient(connection.Query);
        AdminOps = new RgwAdminOpsClient(connection);
    }

    public KubeCluster Kube { get; }

    public RgwTestServer Rgw { get; }

    public k8s.Kubernetes Client { get; }

    public OperatorStores Stores { get; }

    public string Bucket { get; }

    public string BackendName { get; }

    public AmazonS3Client AdminS3 { get; }

    /// <summary>Admin IAM, for changing things behind the operator's back.</summary>
    public IamClient Iam { get; }

    /// <summary>Admin Ops, for asking RGW whether a workspace's user exists.</summary>
    public RgwAdminOpsClient AdminOps { get; }

    /// <summary>Every backend call the operator makes.</summary>
    public BackendCallCounter BackendCalls { get; } = new();

    public OperatorHost? Host { get; private set; }

    public static CancellationToken Ct => TestContext.Current.CancellationToken;

    /// <summary>Retries kept short so "backend down" fails within a second or two.</summary>
    public static RetryOptions FastRetry { get; } = new() { AttemptTimeout = TimeSpan.FromSeconds(10), MaxAttempts = 2, BaseDelay = TimeSpan.FromMilliseconds(50), MaxDelay = TimeSpan.FromMilliseconds(200) };

    /// <summary>A world with the API server, a StorageBackend named <see cref="BackendName"/> and its admin Secret (not the operator yet).</summary>
    public static async Task<ScenarioHarness> CreateAsync()
    {
        var rgw = RgwTestServer.Require();
        var kube = await KubeCluster.StartAsync([Namespace, AdminNamespace], Ct);
        var harness = new ScenarioHarness(kube, rgw, RgwTestServer.UniqueBucketName("op"));
        await harness.Stores.Secrets.CreateAsync(new V1Secret
        {
            Metadata = new V1ObjectMeta { Name = "rgw-admin", NamespaceProperty = AdminNamespace },
            Data = new Dictionary<string, byte[]>
            {
                ["AWS_ACCESS_KEY_ID"] = Encoding.UTF8.GetBytes(rgw.Admin.AccessKeyId),
                ["AWS_SECRET_ACCESS_KEY"] = Encoding.UTF8.GetBytes(rgw.Admin.SecretAccessKey),
            },
        }, Ct);
        await harness.Stores.StorageBackends.CreateAsync(harness.NewBackend(harness.BackendName, rgw.Endpoint.ToString()), Ct);
        return harness;
    }

    /// <summary>A StorageBackend on this world's RGW and bucket; every namespace may claim every workspace unless <paramref name="allowedClaims"/> says who may.</summary>
    public StorageBackendResource NewBackend(string name, string endpoint, string adminSecret = "rgw-admin", IReadOnlyList<AllowedClaim>? allowedClaims = null) => new()
    {
        Metadata = new V1ObjectMeta { Name = name },
        Spec = new StorageBackendSpec
        {
            Type = StorageBackendType.CephRgw,
            Endpoint = endpoint,
            Region = Rgw.Region,
            Bucket = Bucket,
            AdminCredentialsSecretRef = new AdminCredentialsSecretReference { Name = adminSecret, Namespace = AdminNamespace },
            AllowedClaims = allowedClaims,
            AllowClaimsFromAnyNamespace = allowedClaims is null,
        },
    };

    /// <summary>Starts the operator's controllers (both), with short resync and backoff.</summary>
    public void StartOperator(TimeSpan? resync = null, int workers = 4)
    {
        Host = new OperatorHost(Stores, new OperatorHostOptions
        {
            ResyncPeriod = resync ?? TimeSpan.FromSeconds(30),
            BackendRetry = FastRetry,
            InformerBackoff = new ExponentialBackoff(TimeSpan.FromMilliseconds(50), TimeSpan.FromMilliseconds(500)),
            Controller = new ControllerOptions
            {
                ReconcileTimeout = TimeSpan.FromSeconds(30),
                Queue = new WorkQueueOptions
                {
                    Workers = workers,
                    Backoff = new ExponentialBackoff(TimeSpan.FromMilliseconds(100), TimeSpan.FromSeconds(2)),
                    ShutdownTimeout = TimeSpan.FromSeconds(5),
                },
            },
            Reconciler = new WorkspaceStorageReconcilerOptions { ConfigurationRetryDelay = TimeSpan.FromSeconds(30), AuthenticationRetryDelay = TimeSpan.FromSeconds(30) },
        }, NullLoggerFactory.Instance, BackendCalls);
        running = new CancellationTokenSource();
        runTask = Task.Run(() => Host.RunAsync(running.Token), CancellationToken.None);
    }

    /// <summary>Stops the controllers; the host (its backend cache, informer caches and reconciler) stays usable.</summary>
    public async Task StopOperatorAsync()
    {
        if (running is null)
        {
            return;
        }

        await running.CancelAsync();
        await runTask!.ConfigureAwait(ConfigureAwaitOptions.SuppressThrowing);
        running.Dispose();
        running = null;
    }

    /// <summary>A reconciler of its own (no controller), for driving one reconcile at a time; <paramref name="wrap"/> decorates the backend.</summary>
    public WorkspaceStorageReconciler NewReconciler(Func<IStorageBackend, IStorageBackend>? wrap = null, ILogger<WorkspaceStorageReconciler>? logger = null,
        WorkspaceStorageReconcilerOptions? options = null, TimeProvider? time = null)
    {
        var factory = new WrappingFactory(new StorageBackendFactory(BackendCalls, NullLoggerFactory.Instance, FastRetry), wrap ?? (b => b));
        var resolver = new StorageBackendResolver(Stores.StorageBackends, Stores.Secrets, factory, null, NullLogger<StorageBackendResolver>.Instance);
        return new WorkspaceStorageReconciler(Stores.WorkspaceStorages, Stores.Secrets, resolver,
            new EventRecorder(Stores.Events!, NullLogger<EventRecorder>.Instance), logger ?? NullLogger<WorkspaceStorageReconciler>.Instance,
            options: options, time: time);
    }

    /// <summary>A StorageBackend reconciler of its own (no controller), for driving one reconcile at a time.</summary>
    public StorageBackendReconciler NewBackendReconciler()
    {
        var factory = new StorageBackendFactory(BackendCalls, NullLoggerFactory.Instance, FastRetry);
        var resolver = new StorageBackendResolver(Stores.StorageBackends, Stores.Secrets, factory, null, NullLogger<StorageBackendResolver>.Instance);
        return new StorageBackendReconciler(Stores.StorageBackends, resolver, new EventRecorder(Stores.Events!, NullLogger<EventRecorder>.Instance),
            NullLogger<StorageBackendReconciler>.Instance);
    }

    public static Task<ReconcileResult> ReconcileOnceAsync(WorkspaceStorageReconciler reconciler, string name) =>
        reconciler.ReconcileAsync(new ReconcileRequest<WorkspaceStorageResource>(new ResourceKey(Namespace, name)), Ct);

    /// <summary>A fresh workspace id ("ws-" + random), remembered for clean-up.</summary>
    public WorkspaceId NewWorkspace(string stem = "")
    {
        var id = WorkspaceId.Parse($"ws-{stem}{Guid.NewGuid().ToString("N")[..10]}");
        workspaces.Add(id);
        return id;
    }

    public async Task<WorkspaceStorageResource> CreateStorageAsync(string name, WorkspaceStorageSpec spec, IDictionary<string, string>? annotations = null)
    {
        if (spec.Workspace is { } w && WorkspaceId.TryParse(w, out var id, out _))
        {
            workspaces.Add(id);
        }

        return await Stores.WorkspaceStorages.CreateAsync(new WorkspaceStorageResource
        {
            Metadata = new V1ObjectMeta { Name = name, NamespaceProperty = Namespace, Annotations = annotations },
            Spec = spec,
        }, Ct);
    }

    /// <summary>
    /// Creates WorkspaceStorages in this order whose creationTimestamps (the server's, whole seconds) are all equal:
    /// when a second boundary falls between them they are deleted and created again.
    /// </summary>
    public async Task CreateInOneSecondAsync(IReadOnlyList<string> names, WorkspaceStorageSpec spec)
    {
        for (var attempt = 1; ; attempt++)
        {
            var created = new List<WorkspaceStorageResource>();
            foreach (var name in names)
            {
                created.Add(await CreateStorageAsync(name, spec));
            }

            if (created.Select(c => c.Metadata.CreationTimestamp).Distinct().Count() == 1 || attempt == 5)
            {
                Assert.Single(created.Select(c => c.Metadata.CreationTimestamp).Distinct());
                return;
            }

            foreach (var name in names)
            {
                await Kube.DeleteAsync<WorkspaceStorageResource>(Namespace, name);
            }
        }
    }

    public WorkspaceStorageSpec Spec(WorkspaceId workspace, WorkspaceAccess access = WorkspaceAccess.ReadWrite, DeletionPolicy deletion = DeletionPolicy.Retain,
        string grace = "10m") => new()
    {
        Workspace = workspace.Value,
        BackendRef = new BackendReference { Name = BackendName },
        Access = access,
        DeletionPolicy = deletion,
        Credentials = new CredentialsSpec { RotationGracePeriod = grace },
    };

    public Task<WorkspaceStorageResource?> GetAsync(string name) => Kube.GetAsync<WorkspaceStorageResource>(Namespace, name);

    public Task<V1Secret?> SecretAsync(string name) => Kube.GetAsync<V1Secret>(Namespace, name);

    public async Task<AwsCredentials> SecretKeyAsync(string secretName) =>
        CredentialSecretLayout.ReadCredentials((await SecretAsync(secretName))?.Data) ?? throw new InvalidOperationException($"Secret {secretName} holds no key");

    public static bool IsReady(WorkspaceStorageResource? resource) =>
        resource?.Status is { } status && status.IsTrue(ConditionTypes.Ready) && status.ObservedGeneration == resource.Metadata.Generation;

    public async Task<WorkspaceStorageResource> WaitAsync(string name, Func<WorkspaceStorageResource?, bool> condition, string what, TimeSpan? timeout = null) =>
        (await Eventually.ValueAsync(_ => GetAsync(name), condition, $"{name}: {what}", timeout, r => Describe(r?.Status?.Conditions)))!;

    /// <summary>Ready, or Stalled: whichever the reconciles settle on.</summary>
    public Task<WorkspaceStorageResource> WaitSettledAsync(string name) =>
        WaitAsync(name, ws => IsReady(ws) || ws?.Status.Find(ConditionTypes.Stalled) is { Status: Conditions.True }, "Ready or Stalled");

    public async Task<StorageBackendResource> WaitBackendAsync(string name, Func<StorageBackendResource?, bool> condition, string what) =>
        (await Eventually.ValueAsync(_ => Kube.GetAsync<StorageBackendResource>(name), condition, $"StorageBackend {name}: {what}", null, b => Describe(b?.Status?.Conditions)))!;

    /// <summary>A WorkspaceStorage's conditions, for failure messages.</summary>
    public static string DescribeConditions(WorkspaceStorageResource? resource) => Describe(resource?.Status?.Conditions);

    private static string Describe(IEnumerable<V1Condition>? conditions) =>
        conditions is { } list ? string.Join("; ", list.Select(c => $"{c.Type}={c.Status} {c.Reason}: {c.Message}")) : "no status";

    /// <summary>Whether RGW has a user for <paramref name="workspace"/> (keys alone do not say: a user may have none).</summary>
    public async Task<bool> HasIdentityAsync(WorkspaceId workspace) =>
        await AdminOps.GetUserAsync(RgwNames.For(workspace, CephRgwStorageBackend.MaxNameLength).Identity, Ct) is not null;

    public Task<WorkspaceStorageResource> WaitReadyAsync(string name, TimeSpan? timeout = null) => WaitAsync(name, IsReady, "Ready=True", timeout);

    // ---- S3 as a workload would use it -----------------------------------------------------------------------

    /// <summary>A client on a connection of its own (see <see cref="RgwTestServer.CreateAwsS3Client"/>).</summary>
    public AmazonS3Client FreshClient(AwsCredentials credentials) => Rgw.CreateAwsS3Client(credentials);

    public async Task<HttpStatusCode> PutAsync(AwsCredentials credentials, string key, string content = "data")
    {
        using var client = FreshClient(credentials);
        return await StatusOf(() => client.PutObjectAsync(new PutObjectRequest { BucketName = Bucket, Key = key, ContentBody = content }, Ct));
    }

    public async Task<HttpStatusCode> GetAsync(AwsCredentials credentials, string key)
    {
        using var client = FreshClient(credentials);
        return await StatusOf(async () =>
        {
            using var response = await client.GetObjectAsync(Bucket, key, Ct);
            await response.ResponseStream.CopyToAsync(Stream.Null, Ct);
        });
    }

    public async Task PutAsAdminAsync(string key, string content = "admin") =>
        await AdminS3.PutObjectAsync(new PutObjectRequest { BucketName = Bucket, Key = key, ContentBody = content }, Ct);

    public async Task<List<string>> KeysAsAdminAsync(string prefix)
    {
        var response = await AdminS3.ListObjectsV2Async(new ListObjectsV2Request { BucketName = Bucket, Prefix = prefix }, Ct);
        return [.. (response.S3Objects ?? []).Select(o => o.Key)];
    }

    private static async Task<HttpStatusCode> StatusOf(Func<Task> call)
    {
        try
        {
            await call();
            return HttpStatusCode.OK;
        }
        catch (AmazonS3Exception error)
        {
            return error.StatusCode;
        }
    }

    /// <summary>A backend on the same RGW, outside the operator, for looking at keys and cleaning up.</summary>
    public async Task<IStorageBackend> DirectBackendAsync()
    {
        var factory = new StorageBackendFactory(NullBackendCallObserver.Instance, NullLoggerFactory.Instance, FastRetry);
        var owned = factory.Create(new BackendSettings(StorageBackendType.CephRgw, Rgw.Endpoint, Rgw.Endpoint, Rgw.Region, Bucket, Rgw.Admin, true, null));
        await owned.Backend.EnsureBucketAsync(Ct);
        return owned.Backend;
    }

    public async ValueTask DisposeAsync()
    {
        await StopOperatorAsync();
        Host?.Dispose();
        try
        {
            var backend = await DirectBackendAsync();
            // RGW users are global: remove every identity this test made (the bucket is the test's own and stays).
            await Parallel.ForEachAsync(workspaces.Distinct(), new ParallelOptions { MaxDegreeOfParallelism = 16 },
                async (workspace, token) => await backend.DeleteWorkspaceAsync(workspace, DataDeletion.Retain, token));
        }
        catch (Exception error) when (error is StorageBackendException or OperationCanceledException)
        {
            // best effort
        }

        AdminS3.Dispose();
        Client.Dispose();
        http.Dispose();
        await Kube.DisposeAsync();
    }

    private sealed class WrappingFactory(StorageBackendFactory inner, Func<IStorageBackend, IStorageBackend> wrap) : IStorageBackendFactory
    {
        public OwnedBackend Create(BackendSettings settings) => new(wrap(inner.Create(settings).Backend));
    }
}
