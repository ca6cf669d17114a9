using System.Collections.Concurrent;
using System.Text;
using k8s;
using k8s.Models;
using Microsoft.Extensions.Logging.Abstractions;
using Microsoft.Extensions.Time.Testing;
using WorkspaceStorage.Core.Credentials;
using WorkspaceStorage.Core.Model;
using WorkspaceStorage.Resources;
using WorkspaceStorage.Core.Signing;
using WorkspaceStorage.Core.Workspaces;
using WorkspaceStorage.Operator.BackendResolution;
using WorkspaceStorage.Operator.Reconciliation;
using WorkspaceStorage.Kubernetes.Runtime;
using WorkspaceStorage.Storage.Backends;
using WorkspaceStorage.Kubernetes.Audit;
using WorkspaceStorage.Testing.Kubernetes;
using WorkspaceStorage.Testing.Support;

namespace WorkspaceStorage.Operator.Tests.Reconciliation;

/// <summary>
/// The reconciler's decisions with a controllable clock, on the real API server with an in-memory backend: for what
/// real time cannot show quickly (rotation intervals are at least 5 minutes) or a real storage server cannot be made to do.
/// </summary>
public sealed class ReconcilerTests
{
    private const string Ns = "team-b";
    private static CancellationToken Ct => TestContext.Current.CancellationToken;

    /// <summary>Remembers identities and keys; counts writes; can be told to fail.</summary>
    internal class MemoryBackend : IStorageBackend
    {
        public ConcurrentDictionary<string, AccessLevel> Identities { get; } = new();

        public ConcurrentDictionary<string, ConcurrentDictionary<string, string>> Keys { get; } = new();

        public int Writes;

        public Exception? FailWith { get; set; }

        public string Type => "memory";

        public S3Location Location { get; } = new(new Uri("http://s3.internal:9000"), new Uri("https://s3.example.org"), "eu-west-1", "shared");

        public Task<EnsureOutcome> EnsureBucketAsync(CancellationToken cancellationToken) => Call(() => EnsureOutcome.Unchanged);

        public Task<EnsureOutcome> EnsureBucketCorsAsync(Core.Policies.BucketCorsRule rule, CancellationToken cancellationToken) => Call(() => EnsureOutcome.Unchanged);

        public Task<EnsureOutcome> RemoveBucketCorsAsync(string ruleId, CancellationToken cancellationToken) => Call(() => EnsureOutcome.Unchanged);

        public Task<EnsureOutcome> EnsureIdentityAsync(WorkspaceId workspace, AccessLevel access, CancellationToken cancellationToken) => Call(() =>
        {
            if (Identities.TryGetValue(workspace.Value, out var have) && have == access)
            {
                return EnsureOutcome.Unchanged;
            }

            var created = Identities.TryAdd(workspace.Value, access);
            Identities[workspace.Value] = access;
            Interlocked.Increment(ref Writes);
            return created ? EnsureOutcome.Created : EnsureOutcome.Updated;
        });

        public virtual Task<EnsureOutcome> EnsureKeyAsync(WorkspaceId workspace, AwsCredentials key, CancellationToken cancellationToken) => Call(() =>
        {
            var keys = Keys.GetOrAdd(workspace.Value, _ => new());
            if (keys.TryGetValue(key.AccessKeyId, out var secret) && secret == key.SecretAccessKey)
            {
                return EnsureOutcome.Unchanged;
            }

            keys[key.AccessKeyId] = key.SecretAccessKey;
            Interlocked.Increment(ref Writes);
            return EnsureOutcome.Created;
        });

        public int KeyListings;

        public Task<IReadOnlyList<string>> ListKeysAsync(WorkspaceId workspace, CancellationToken cancellationToken) => Call<IReadOnlyList<string>>(() =>
        {
            Interlocked.Increment(ref KeyListings);
            return Keys.TryGetValue(workspace.Value, out var keys) ? [.. keys.Keys.Order()] : [];
        });

        public Task<EnsureOutcome> RevokeKeyAsync(WorkspaceId workspace, string accessKeyId, CancellationToken cancellationToken) => Call(() =>
        {
            if (Keys.TryGetValue(workspace.Value, out var keys) && keys.TryRemove(accessKeyId, out _))
            {
                Interlocked.Increment(ref Writes);
                return EnsureOutcome.Deleted;
            }

            return EnsureOutcome.Unchanged;
        });

        public Task<TemporaryCredentials> IssueTemporaryCredentialsAsync(WorkspaceId workspace, AccessLevel access, TimeSpan lifetime, CancellationToken cancellationToken) =>
            throw new NotSupportedException();

        public Task<EnsureOutcome> DeleteWorkspaceAsync(WorkspaceId workspace, DataDeletion data, CancellationToken cancellationToken) => Call(() =>
        {
            Interlocked.Increment(ref Writes);
            Keys.TryRemove(workspace.Value, out _);
            return Identities.TryRemove(workspace.Value, out _) ? EnsureOutcome.Deleted : EnsureOutcome.Unchanged;
        });

        public Task<BackendHealth> CheckHealthAsync(CancellationToken cancellationToken) => Task.FromResult(new BackendHealth(true, "ok"));

        /// <summary>What <see cref="MeasureUsageAsync"/> answers per workspace (absent: empty); each call is counted.</summary>
        public ConcurrentDictionary<string, Core.Model.UsageFigures> Usage { get; } = new();

        public int UsageReads;

        public Task<Core.Model.UsageFigures> MeasureUsageAsync(WorkspaceId workspace, int maxPages, CancellationToken cancellationToken) => Call(() =>
        {
            Interlocked.Increment(ref UsageReads);
            return Usage.TryGetValue(workspace.Value, out var usage) ? usage : new Core.Model.UsageFigures(0, 0, Complete: true);
        });

        private protected Task<TResult> Call<TResult>(Func<TResult> action) => FailWith is { } error ? Task.FromException<TResult>(error) : Task.FromResult(action());
    }

    /// <summary>Like AWS IAM: it makes every key itself, cannot import one, and refuses a third key per identity.</summary>
    internal sealed class IssuingMemoryBackend : MemoryBackend, IServerIssuedKeys
    {
        public int MaxKeysPerIdentity => 2;

        public override Task<EnsureOutcome> EnsureKeyAsync(WorkspaceId workspace, AwsCredentials key, CancellationToken cancellationToken) => Call(() =>
            Keys.TryGetValue(workspace.Value, out var keys) && keys.ContainsKey(key.AccessKeyId)
                ? EnsureOutcome.Unchanged
                : throw new BackendValidationException("accessKeyId", "cannot import a key"));

        public Task<AwsCredentials> CreateKeyAsync(WorkspaceId workspace, IReadOnlyCollection<string> keep, CancellationToken cancellationToken) => Call(() =>
        {
            var keys = Keys.GetOrAdd(workspace.Value, _ => new());
            foreach (var stray in keys.Keys.Where(k => !keep.Contains(k)).ToList())
            {
                keys.TryRemove(stray, out _);
                Interlocked.Increment(ref Writes);
            }

            if (keys.Count >= MaxKeysPerIdentity)
            {
                throw new BackendRequestRejectedException("a third key") { ErrorCode = "LimitExceeded" };
            }

            var key = AccessKeyGenerator.Generate();
            keys[key.AccessKeyId] = key.SecretAccessKey;
            Interlocked.Increment(ref Writes);
            return key;
        });
    }

    internal sealed class StaticResolver(MemoryBackend backend) : IStorageBackendResolver
    {
        public bool HasDefaultBackend => true;

        public Task<ResolvedBackend> ResolveAsync(string? backendName, CancellationToken cancellationToken) =>
            backend.FailWith is { } error ? Task.FromException<ResolvedBackend>(error) : Task.FromResult(new ResolvedBackend(backendName ?? "", backend));

        /// <summary>These tests are about one claimant and its backend: every namespace may claim (the ceiling has tests of its own).</summary>
        public Task<ClaimCeiling> CeilingAsync(string? backendName, CancellationToken cancellationToken) => Task.FromResult(ClaimCeiling.Any("the test resolver"));
    }

    internal sealed class ListRecorder : IEventRecorder
    {
        public ConcurrentQueue<(string Reason, string Message)> Events { get; } = new();

        public Task RecordAsync(IKubernetesObject<V1ObjectMeta> regarding, EventSeverity severity, string reason, string message, CancellationToken cancellationToken)
        {
            Events.Enqueue((reason, message));
            return Task.CompletedTask;
        }
    }

    /// <summary>The real API server (emptied, namespace team-b) through the test kit's counting proxy, the reconciler
    /// alone on it with a fake clock: no controller runs, each test calls ReconcileAsync itself.</summary>
    internal sealed class World : IAsyncDisposable
    {
        private readonly k8s.Kubernetes _client;

        private World(KubeCluster kube, MemoryBackend? backend)
        {
            Kube = kube;
            Backend = backend ?? new MemoryBackend();
            _client = kube.CreateClient();
            Storages = new KubernetesResourceClient<WorkspaceStorageResource>(_client, ResourceDescriptors.WorkspaceStorages);
            Secrets = new KubernetesResourceClient<V1Secret>(_client, ResourceDescriptor.Secrets);
            Reconciler = new WorkspaceStorageReconciler(Storages, Secrets, new StaticResolver(Backend), Events, NullLogger<WorkspaceStorageReconciler>.Instance,
                time: Time, audit: new AuditTrail(Events, Audit.Logger));
        }

        public static async Task<World> StartAsync(MemoryBackend? backend = null) => new(await KubeCluster.StartAsync([Ns], Ct), backend);

        public KubeCluster Kube { get; }

        public FakeTimeProvider Time { get; } = new(new DateTimeOffset(2026, 11, 23, 12, 0, 0, TimeSpan.Zero));

        public IResourceClient<WorkspaceStorageResource> Storages { get; }

        public IResourceClient<V1Secret> Secrets { get; }

        public MemoryBackend Backend { get; }

        public ListRecorder Events { get; } = new();

        /// <summary>The audit trail's log records.</summary>
        public AuditLog Audit { get; } = new();

        public WorkspaceStorageReconciler Reconciler { get; }

        public async Task CreateAsync(string name, WorkspaceStorageSpec spec) =>
            await Storages.CreateAsync(new WorkspaceStorageResource { Metadata = new V1ObjectMeta { Name = name, NamespaceProperty = Ns }, Spec = spec }, Ct);

        public Task<ReconcileResult> ReconcileAsync(string name) =>
            Reconciler.ReconcileAsync(new ReconcileRequest<WorkspaceStorageResource>(new ResourceKey(Ns, name)), Ct);

        public async Task<WorkspaceStorageResource> GetAsync(string name) => (await Storages.GetAsync(new ResourceKey(Ns, name), Ct))!;

        public async Task<AwsCredentials> KeyAsync(string secret) =>
            CredentialSecretLayout.ReadCredentials((await Secrets.GetAsync(new ResourceKey(Ns, secret), Ct))!.Data)!;

        public int KubeWrites => Kube.WriteCount(KubeResources.WorkspaceStorages) + Kube.WriteCount(KubeResources.Secrets);

        public async ValueTask DisposeAsync()
        {
            _client.Dispose();
            await Kube.DisposeAsync();
        }
    }

    [Fact]
    public async Task A_new_identity_skips_the_stray_key_sweep_and_a_later_reconcile_still_revokes_a_stray_key()
    {
        await using var w = await World.StartAsync();
        await w.CreateAsync("fresh", new WorkspaceStorageSpec { Workspace = "ws-fresh" });

        await w.ReconcileAsync("fresh");
        var key = await w.KeyAsync("fresh-s3");
        Assert.Equal(0, w.Backend.KeyListings); // the identity was made just now: it can hold no other key
        Assert.Equal([key.AccessKeyId], w.Backend.Keys["ws-fresh"].Keys);

        // A key the Secret does not name (left by a crash, or added by hand) is found on the next reconcile.
        w.Backend.Keys["ws-fresh"]["STRAYKEY00000001"] = "stray-secret-0000000001";
        await w.ReconcileAsync("fresh");
        Assert.Equal(1, w.Backend.KeyListings);
        Assert.Equal([key.AccessKeyId], w.Backend.Keys["ws-fresh"].Keys);
        Assert.Contains(w.Events.Events, e => e.Reason == "KeyRevoked" && e.Message.Contains("STRAYKEY00000001", StringComparison.Ordinal));
    }

    [Fact]
    public async Task A_backend_that_makes_its_own_keys_gets_asked_first_and_never_holds_more_than_two_keys()
    {
        await using var w = await World.StartAsync(new IssuingMemoryBackend());
        await w.CreateAsync("iam", new WorkspaceStorageSpec
        {
            Workspace = "ws-iam",
            Credentials = new CredentialsSpec { RotationInterval = "1h", RotationGracePeriod = "10m" },
        });

        await w.ReconcileAsync("iam");
        var first = await w.KeyAsync("iam-s3");
        Assert.Equal([first.AccessKeyId], w.Backend.Keys["ws-iam"].Keys); // the server's key is the one in the Secret
        Assert.Equal(first.SecretAccessKey, w.Backend.Keys["ws-iam"][first.AccessKeyId]);

        // A key made by a reconcile that died before writing the Secret: with it, a rotation would be a third key.
        w.Backend.Keys["ws-iam"]["ORPHANKEY0000001"] = "orphan-secret-000000001";
        w.Time.Advance(TimeSpan.FromMinutes(61));
        await w.ReconcileAsync("iam");
        var rotated = await w.KeyAsync("iam-s3");
        Assert.NotEqual(first.AccessKeyId, rotated.AccessKeyId);
        Assert.Equal(new[] { first.AccessKeyId, rotated.AccessKeyId }.Order(), w.Backend.Keys["ws-iam"].Keys.Order()); // orphan gone first

        w.Time.Advance(TimeSpan.FromMinutes(10) + TimeSpan.FromSeconds(1));
        await w.ReconcileAsync("iam");
        Assert.Equal([rotated.AccessKeyId], w.Backend.Keys["ws-iam"].Keys);

        // The key in the Secret deleted behind the operator's back: the server cannot take it back, so a new one replaces it.
        w.Backend.Keys["ws-iam"].Clear();
        await w.ReconcileAsync("iam");
        var replaced = await w.KeyAsync("iam-s3");
        Assert.NotEqual(rotated.AccessKeyId, replaced.AccessKeyId);
        Assert.Equal([replaced.AccessKeyId], w.Backend.Keys["ws-iam"].Keys);
        Assert.Contains(w.Events.Events, e => e.Reason == "KeyMissing" && e.Message.Contains(rotated.AccessKeyId, StringComparison.Ordinal));
        Assert.True((await w.GetAsync("iam")).Status!.IsTrue(ConditionTypes.Ready));
    }

    [Fact]
    public async Task RotationInterval_rotates_when_due_requeues_for_the_revocation_and_writes_nothing_in_between()
    {
        await using var w = await World.StartAsync();
        await w.CreateAsync("rot", new WorkspaceStorageSpec
        {
            Workspace = "ws-rot",
            Credentials = new CredentialsSpec { RotationInterval = "1h", RotationGracePeriod = "10m" },
        });

        var first = await w.ReconcileAsync("rot");
        Assert.Equal(ReconcileOutcome.RequeueAfter, first.Outcome);
        Assert.InRange(first.Delay, TimeSpan.FromMinutes(59), TimeSpan.FromMinutes(61)); // next rotation
        var original = await w.KeyAsync("rot-s3");

        // Converged: nothing written, to Kubernetes or to the backend.
        w.Time.Advance(TimeSpan.FromMinutes(30));
        var (kube, backend) = (w.KubeWrites, w.Backend.Writes);
        await w.ReconcileAsync("rot");
        Assert.Equal((kube, backend), (w.KubeWrites, w.Backend.Writes));

        // Due: a new key, the old one kept for the grace period.
        w.Time.Advance(TimeSpan.FromMinutes(31));
        var rotation = await w.ReconcileAsync("rot");
        Assert.Equal(ReconcileOutcome.RequeueAfter, rotation.Outcome);
        Assert.InRange(rotation.Delay, TimeSpan.FromMinutes(9), TimeSpan.FromMinutes(11)); // revocation
        var rotated = await w.KeyAsync("rot-s3");
        Assert.NotEqual(original.AccessKeyId, rotated.AccessKeyId);
        Assert.Equal(new[] { original.AccessKeyId, rotated.AccessKeyId }.Order(), w.Backend.Keys["ws-rot"].Keys.Order());
        var status = (await w.GetAsync("rot")).Status!;
        Assert.True(status.IsTrue(WorkspaceStorageConditions.CredentialsRotating));
        Assert.Equal(original.AccessKeyId, status.PreviousAccessKeyId);

        // Grace over: the old key goes.
        w.Time.Advance(TimeSpan.FromMinutes(10) + TimeSpan.FromSeconds(1));
        await w.ReconcileAsync("rot");
        Assert.Equal([rotated.AccessKeyId], w.Backend.Keys["ws-rot"].Keys);
        status = (await w.GetAsync("rot")).Status!;
        Assert.False(status.IsTrue(WorkspaceStorageConditions.CredentialsRotating));
        Assert.Null(status.PreviousAccessKeyId);
        Assert.Contains(w.Events.Events, e => e.Reason == "KeyRevoked" && e.Message.Contains(original.AccessKeyId, StringComparison.Ordinal));
        Assert.DoesNotContain(w.Events.Events, e => e.Message.Contains(original.SecretAccessKey, StringComparison.Ordinal) || e.Message.Contains(rotated.SecretAccessKey, StringComparison.Ordinal));
    }

    /// <summary>
    /// The case the reconciler and Core's rule disagreed on: a second rotation requested inside the first one's grace
    /// period. It waits until the first grace period ends; no key is revoked before its own grace period ends, and the
    /// key in the Secret always works on the backend.
    /// </summary>
    [Fact]
    public async Task A_second_rotation_requested_inside_the_grace_period_waits_and_revokes_no_key_early()
    {
        await using var w = await World.StartAsync();
        await w.CreateAsync("twice", new WorkspaceStorageSpec { Workspace = "ws-twice", Credentials = new CredentialsSpec { RotationGracePeriod = "10m" } });
        await w.ReconcileAsync("twice");
        var k0 = await w.KeyAsync("twice-s3");

        async Task<AwsCredentials> RequestAsync(string value)
        {
            var resource = await w.GetAsync("twice");
            resource.Metadata.Annotations ??= new Dictionary<string, string>();
            resource.Metadata.Annotations[ResourceMetadata.RotateAnnotation] = value;
            await w.Storages.ReplaceAsync(resource, Ct);
            await w.ReconcileAsync("twice");
            var inSecret = await w.KeyAsync("twice-s3");
            Assert.Contains(inSecret.AccessKeyId, w.Backend.Keys["ws-twice"].Keys); // workloads reading the Secret always get a working key
            return inSecret;
        }

        IEnumerable<string> Valid() => w.Backend.Keys["ws-twice"].Keys.Order();

        // First rotation at T: k0 stays valid until T+10m.
        var k1 = await RequestAsync("first");
        Assert.NotEqual(k0.AccessKeyId, k1.AccessKeyId);
        Assert.Equal(new[] { k0.AccessKeyId, k1.AccessKeyId }.Order(), Valid());

        // Second request at T+2m: deferred. No new key, and k0 is not revoked before its grace period ends.
        w.Time.Advance(TimeSpan.FromMinutes(2));
        Assert.Equal(k1, await RequestAsync("second"));
        Assert.Equal(new[] { k0.AccessKeyId, k1.AccessKeyId }.Order(), Valid());
        var waiting = (await w.GetAsync("twice")).Status!;
        Assert.Equal("first", waiting.LastRotationRequest);
        Assert.Contains("starts when key " + k0.AccessKeyId + " is revoked", waiting.Find(WorkspaceStorageConditions.CredentialsRotating)!.Message, StringComparison.Ordinal);

        // The requeue lands when k0's grace period ends, not before.
        var requeue = await w.ReconcileAsync("twice");
        Assert.InRange(requeue.Delay, TimeSpan.FromMinutes(8), TimeSpan.FromMinutes(8) + TimeSpan.FromSeconds(1));
        w.Time.Advance(TimeSpan.FromMinutes(8) - TimeSpan.FromSeconds(1));
        await w.ReconcileAsync("twice");
        Assert.Equal(new[] { k0.AccessKeyId, k1.AccessKeyId }.Order(), Valid());

        // At T+10m: k0 goes, the waiting rotation starts, and k1 (handed out at T) gets a full grace period of its own.
        w.Time.Advance(TimeSpan.FromSeconds(1));
        var rotatedAt = w.Time.GetUtcNow();
        await w.ReconcileAsync("twice");
        var k2 = await w.KeyAsync("twice-s3");
        Assert.NotEqual(k1.AccessKeyId, k2.AccessKeyId);
        Assert.Equal(new[] { k1.AccessKeyId, k2.AccessKeyId }.Order(), Valid());
        var status = (await w.GetAsync("twice")).Status!;
        Assert.Equal(("second", k1.AccessKeyId), (status.LastRotationRequest, status.PreviousAccessKeyId));
        Assert.Equal((rotatedAt + TimeSpan.FromMinutes(10)).UtcDateTime, status.PreviousKeyRevokeAfter);

        w.Time.Advance(TimeSpan.FromMinutes(10));
        await w.ReconcileAsync("twice");
        Assert.Equal([k2.AccessKeyId], Valid());
        Assert.Contains(w.Events.Events, e => e.Reason == "KeyRevoked" && e.Message.Contains($"key {k0.AccessKeyId}; reason its grace period ended", StringComparison.Ordinal));
        Assert.Contains(w.Events.Events, e => e.Reason == "KeyRevoked" && e.Message.Contains($"key {k1.AccessKeyId}; reason its grace period ended", StringComparison.Ordinal));
    }

    [Fact]
    public async Task The_Secret_is_written_before_the_backend_learns_a_key()
    {
        await using var w = await World.StartAsync();
        await w.CreateAsync("order", new WorkspaceStorageSpec { Workspace = "ws-order" });
        var observed = new List<string>();
        var failing = new WorkspaceStorageReconciler(w.Storages, new ObservingSecrets(w.Secrets, observed, failWrites: true), new StaticResolver(w.Backend), w.Events,
            NullLogger<WorkspaceStorageReconciler>.Instance, time: w.Time);

        await Assert.ThrowsAsync<ResourceClientException>(() =>
            failing.ReconcileAsync(new ReconcileRequest<WorkspaceStorageResource>(new ResourceKey(Ns, "order")), Ct));

        Assert.Contains("create", observed);
        Assert.Empty(w.Backend.Keys.GetValueOrDefault("ws-order") ?? new());
        await w.ReconcileAsync("order");
        Assert.Equal([(await w.KeyAsync("order-s3")).AccessKeyId], w.Backend.Keys["ws-order"].Keys);
    }

    [Fact]
    public async Task Rejected_admin_credentials_stall_without_a_hot_loop_and_say_which_field()
    {
        await using var w = await World.StartAsync();
        await w.CreateAsync("auth", new WorkspaceStorageSpec { Workspace = "ws-auth", BackendRef = new BackendReference { Name = "prod" } });
        w.Backend.FailWith = new BackendAuthenticationException("ceph-rgw GetUser: 403 InvalidAccessKeyId");

        var result = await w.ReconcileAsync("auth");

        Assert.Equal(ReconcileOutcome.RequeueAfter, result.Outcome);
        Assert.True(result.Delay >= TimeSpan.FromMinutes(1));
        var stalled = (await w.GetAsync("auth")).Status.Find(ConditionTypes.Stalled)!;
        Assert.Equal(WorkspaceStorageConditions.AdminCredentialsRejected, stalled.Reason);
        Assert.StartsWith("spec.backendRef", stalled.Message, StringComparison.Ordinal);
        Assert.Null(await w.Secrets.GetAsync(new ResourceKey(Ns, "auth-s3"), Ct));
    }

    [Fact]
    public async Task A_backend_outage_during_deletion_keeps_the_finalizer()
    {
        await using var w = await World.StartAsync();
        await w.CreateAsync("del", new WorkspaceStorageSpec { Workspace = "ws-del" });
        await w.ReconcileAsync("del");
        Assert.True(w.Backend.Identities.ContainsKey("ws-del"));

        await w.Storages.DeleteAsync(new ResourceKey(Ns, "del"), Ct);
        w.Backend.FailWith = new BackendUnavailableException("ceph-rgw: connection refused");
        await Assert.ThrowsAsync<BackendUnavailableException>(() => w.ReconcileAsync("del"));
        var deleting = await w.GetAsync("del");
        Assert.Contains(ResourceMetadata.Finalizer, deleting.Metadata.Finalizers);
        Assert.NotNull(await w.Secrets.GetAsync(new ResourceKey(Ns, "del-s3"), Ct));

        w.Backend.FailWith = null;
        await w.ReconcileAsync("del");
        Assert.Null(await w.Storages.GetAsync(new ResourceKey(Ns, "del"), Ct));
        Assert.False(w.Backend.Identities.ContainsKey("ws-del"));
        Assert.Null(await w.Secrets.GetAsync(new ResourceKey(Ns, "del-s3"), Ct));
    }

    /// <summary>The operator's side of the default Secret name; the companion's is KubernetesDirectoryTests' (the same name).</summary>
    [Fact]
    public async Task Without_spec_secret_name_the_key_is_written_to_the_Secret_named_metadata_name_s3()
    {
        await using var w = await World.StartAsync();
        await w.CreateAsync("unnamed", new WorkspaceStorageSpec { Workspace = "ws-unnamed" });
        await w.ReconcileAsync("unnamed");

        var key = await w.KeyAsync("unnamed-s3");
        Assert.Equal([key.AccessKeyId], w.Backend.Keys["ws-unnamed"].Keys);
        var resource = await w.GetAsync("unnamed");
        Assert.Equal("unnamed-s3", resource.Status!.SecretName);
        Assert.Equal("unnamed-s3", resource.SecretName());
        Assert.Null(await w.Secrets.GetAsync(new ResourceKey(Ns, "unnamed"), Ct));
    }

    [Fact]
    public async Task The_Secret_carries_every_key_set_the_public_endpoint_and_no_secret_reaches_the_status()
    {
        await using var w = await World.StartAsync();
        await w.CreateAsync("shape", new WorkspaceStorageSpec { Workspace = "ws-user-github|42" });
        await w.ReconcileAsync("shape");
        var secret = (await w.Secrets.GetAsync(new ResourceKey(Ns, "shape-s3"), Ct))!;
        var key = await w.KeyAsync("shape-s3");
        Assert.Equal("https://s3.example.org", Encoding.UTF8.GetString(secret.Data[CredentialSecretLayout.AwsEndpointUrl]));
        Assert.Equal("ws-user-github|42/", Encoding.UTF8.GetString(secret.Data[CredentialSecretLayout.S3Prefix]));
        Assert.Contains(CredentialSecretLayout.CosiAccessSecretKey, secret.Data.Keys);
        Assert.Contains(CredentialSecretLayout.HyphaCredentialJson, secret.Data.Keys);
        Assert.Equal("ws-user-github|42", secret.Metadata.Annotations[ResourceMetadata.WorkspaceAnnotation]);
        var status = k8s.KubernetesJson.Serialize((await w.GetAsync("shape")).Status);
        Assert.DoesNotContain(key.SecretAccessKey, status, StringComparison.Ordinal);
        Assert.Contains(key.AccessKeyId, status, StringComparison.Ordinal);
    }

    /// <summary>Records the order of Secret calls.</summary>
    private sealed class ObservingSecrets(IResourceClient<V1Secret> inner, List<string> log, bool failWrites) : IResourceClient<V1Secret>
    {
        public ResourceDescriptor Resource => inner.Resource;

        public Task<V1Secret?> GetAsync(ResourceKey key, CancellationToken cancellationToken)
        {
            log.Add("get");
            return inner.GetAsync(key, cancellationToken);
        }

        public Task<ResourceList<V1Secret>> ListAsync(string? @namespace, string? labelSelector, CancellationToken cancellationToken) =>
            inner.ListAsync(@namespace, labelSelector, cancellationToken);

        public Task<V1Secret> CreateAsync(V1Secret resource, CancellationToken cancellationToken)
        {
            log.Add("create");
            return failWrites ? throw new ResourceClientException("injected: 500 from the API server", 500) : inner.CreateAsync(resource, cancellationToken);
        }

        public Task<V1Secret> ReplaceAsync(V1Secret resource, CancellationToken cancellationToken)
        {
            log.Add("replace");
            return failWrites ? throw new ResourceClientException("injected: 500 from the API server", 500) : inner.ReplaceAsync(resource, cancellationToken);
        }

        public Task<V1Secret> ReplaceStatusAsync(V1Secret resource, CancellationToken cancellationToken) => inner.ReplaceStatusAsync(resource, cancellationToken);

        public Task<V1Secret> PatchAsync(ResourceKey key, ResourcePatch patch, CancellationToken cancellationToken) => inner.PatchAsync(key, patch, cancellationToken);

        public Task<bool> DeleteAsync(ResourceKey key, CancellationToken cancellationToken) => inner.DeleteAsync(key, cancellationToken);
    }
}
