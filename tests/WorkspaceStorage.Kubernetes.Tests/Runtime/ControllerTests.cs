using System.Collections.Concurrent;
using k8s.Models;
using Prometheus;
using WorkspaceStorage.Kubernetes.Runtime;
using WorkspaceStorage.Core.Resilience;
using WorkspaceStorage.Testing.Support;
using WorkspaceStorage.Testing.Kubernetes;

namespace WorkspaceStorage.Kubernetes.Tests.Runtime;

public sealed class ControllerTests
{
    private static CancellationToken Ct => TestContext.Current.CancellationToken;

    private static InformerOptions FastInformer(string ns, TimeSpan? resync = null) => new()
    {
        Namespace = ns,
        ResyncPeriod = resync,
        Backoff = new ExponentialBackoff(TimeSpan.FromMilliseconds(50), TimeSpan.FromMilliseconds(500)),
    };

    private static ControllerOptions FastController(int workers = 4) => new()
    {
        Queue = new WorkQueueOptions
        {
            Workers = workers,
            Backoff = new ExponentialBackoff(TimeSpan.FromMilliseconds(20), TimeSpan.FromMilliseconds(200), 0),
            ShutdownTimeout = TimeSpan.FromSeconds(5),
        },
    };

    /// <summary>A reconciler whose behaviour a test scripts per call; given a store, it reads each object as a reconciler does (<see cref="Seen"/>).</summary>
    private sealed class ScriptedReconciler(Func<ReconcileRequest<Widget>, int, Task<ReconcileResult>> script, IResourceClient<Widget>? store = null)
        : IReconciler<Widget>
    {
        private readonly ConcurrentDictionary<ResourceKey, int> calls = new();
        private readonly ConcurrentDictionary<ResourceKey, int> active = new();

        public ConcurrentQueue<ReconcileRequest<Widget>> Requests { get; } = new();

        /// <summary>What each reconcile read from the store (null: the object was gone).</summary>
        public ConcurrentQueue<(ResourceKey Key, Widget? Read)> Seen { get; } = new();

        public int MaxConcurrentPerKey;

        public int Calls(ResourceKey key) => calls.GetValueOrDefault(key);

        public async Task<ReconcileResult> ReconcileAsync(ReconcileRequest<Widget> request, CancellationToken cancellationToken)
        {
            var now = active.AddOrUpdate(request.Key, 1, (_, n) => n + 1);
            if (now > Volatile.Read(ref MaxConcurrentPerKey))
            {
                Volatile.Write(ref MaxConcurrentPerKey, now);
            }

            try
            {
                Requests.Enqueue(request);
                if (store is not null)
                {
                    Seen.Enqueue((request.Key, await store.GetAsync(request.Key, cancellationToken)));
                }

                var call = calls.AddOrUpdate(request.Key, 1, (_, n) => n + 1);
                return await script(request, call);
            }
            finally
            {
                active.AddOrUpdate(request.Key, 0, (_, n) => n - 1);
            }
        }
    }

    private sealed class RecordingMetrics : IControllerMetrics
    {
        public ConcurrentQueue<string> Results { get; } = new();

        public int LastDepth { get; private set; } = -1;

        public void ReconcileCompleted(string controller, string result, TimeSpan duration) => Results.Enqueue(result);

        public void QueueDepthChanged(string controller, int depth) => LastDepth = depth;
    }

    [Fact]
    public async Task Every_existing_object_is_reconciled_once_after_sync_and_changes_reconcile_again()
    {
        await using var kube = await KubeHarness.StartAsync();
        var widgets = kube.Widgets();
        await widgets.CreateAsync(Widget.Create(kube.Namespace, "a"), Ct);
        await widgets.CreateAsync(Widget.Create(kube.Namespace, "b"), Ct);

        var reconciler = new ScriptedReconciler((_, _) => Task.FromResult(ReconcileResult.Done), widgets);
        var metrics = new RecordingMetrics();
        var controller = new Controller<Widget>("widgets", new Informer<Widget>(widgets, "widgets", FastInformer(kube.Namespace)), reconciler, FastController(), metrics);
        using var stop = new CancellationTokenSource();
        var run = controller.RunAsync(stop.Token);

        var a = new ResourceKey(kube.Namespace, "a");
        var b = new ResourceKey(kube.Namespace, "b");
        await Eventually.TrueAsync(() => reconciler.Calls(a) == 1 && reconciler.Calls(b) == 1, "initial reconciles");
        Assert.True(controller.HasSynced);
        Assert.Equal("small", reconciler.Seen.First(r => r.Key == a).Read?.Spec?.Size);

        var current = await widgets.GetAsync(a, Ct);
        current!.Spec!.Size = "large";
        await widgets.ReplaceAsync(current, Ct);
        await Eventually.TrueAsync(() => reconciler.Calls(a) == 2, "reconcile after a change");
        Assert.Equal("large", reconciler.Seen.Last(r => r.Key == a).Read?.Spec?.Size);

        await widgets.DeleteAsync(b, Ct);
        await Eventually.TrueAsync(() => reconciler.Calls(b) == 2, "reconcile after a delete");
        Assert.Null(reconciler.Seen.Last(r => r.Key == b).Read);

        await stop.CancelAsync();
        await run;
        Assert.All(metrics.Results, result => Assert.Equal(ControllerMetricResults.Success, result));
        Assert.Equal(4, metrics.Results.Count);
        Assert.Equal(0, metrics.LastDepth);
    }

    [Fact]
    public async Task Requeue_and_exceptions_retry_with_backoff_requeue_after_waits_and_secrets_stay_out_of_logs()
    {
        await using var kube = await KubeHarness.StartAsync();
        var widgets = kube.Widgets();
        await widgets.CreateAsync(Widget.Create(kube.Namespace, "flaky"), Ct);
        var secretKey = "wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY";
        var started = System.Diagnostics.Stopwatch.StartNew();
        var times = new ConcurrentQueue<TimeSpan>();

        var reconciler = new ScriptedReconciler((request, call) =>
        {
            if (request.Key.Name == "fence")
            {
                return Task.FromResult(ReconcileResult.Done);
            }

            times.Enqueue(started.Elapsed);
            return call switch
            {
                1 => throw new InvalidOperationException($"backend said no; secretKey={secretKey} token: abc.def.ghi"),
                2 => Task.FromResult(ReconcileResult.Requeue),
                3 => Task.FromResult(ReconcileResult.RequeueAfter(TimeSpan.FromMilliseconds(300))),
                _ => Task.FromResult(ReconcileResult.Done),
            };
        });
        var metrics = new RecordingMetrics();
        var logger = new LogCapture();
        var controller = new Controller<Widget>("widgets", new Informer<Widget>(widgets, "widgets", FastInformer(kube.Namespace)), reconciler, FastController(), metrics, logger);
        using var stop = new CancellationTokenSource();
        var run = controller.RunAsync(stop.Token);

        var key = new ResourceKey(kube.Namespace, "flaky");
        await Eventually.TrueAsync(() => reconciler.Calls(key) == 4, "four reconciles");
        // The fence for "no fifth reconcile": an object created after the fourth, reconciled; a requeue after Done
        // would have queued before it.
        var fence = new ResourceKey(kube.Namespace, "fence");
        await widgets.CreateAsync(Widget.Create(kube.Namespace, "fence"), Ct);
        await Eventually.TrueAsync(() => reconciler.Calls(fence) == 1 && metrics.Results.Count == 5, "the fence reconciled");
        await stop.CancelAsync();
        await run;

        Assert.Equal(4, reconciler.Calls(key));
        var t = times.ToArray();
        Assert.True(t[3] - t[2] >= TimeSpan.FromMilliseconds(280), $"RequeueAfter(300ms) ran after {t[3] - t[2]}");
        Assert.Equal(
            [ControllerMetricResults.Error, ControllerMetricResults.Requeue, ControllerMetricResults.RequeueAfter, ControllerMetricResults.Success,
                ControllerMetricResults.Success], // the last: the fence
            metrics.Results.ToArray());

        var logs = logger.All;
        Assert.Contains("InvalidOperationException", logs, StringComparison.Ordinal);
        Assert.Contains("backend said no", logs, StringComparison.Ordinal);
        Assert.DoesNotContain(secretKey, logs, StringComparison.Ordinal);
        Assert.DoesNotContain("wJalrXUtnFEMI", logs, StringComparison.Ordinal);
        Assert.DoesNotContain("abc.def.ghi", logs, StringComparison.Ordinal);
    }

    [Fact]
    public async Task A_changed_owned_secret_reconciles_its_owner_and_one_key_never_runs_twice_at_once()
    {
        await using var kube = await KubeHarness.StartAsync();
        var widgets = kube.Widgets();
        var owner = await widgets.CreateAsync(Widget.Create(kube.Namespace, "owner"), Ct);
        var secrets = kube.Secrets();
        await secrets.CreateAsync(new V1Secret
        {
            Metadata = new V1ObjectMeta
            {
                Name = "owner-credentials",
                NamespaceProperty = kube.Namespace,
                OwnerReferences = [new V1OwnerReference { ApiVersion = $"{Widget.Group}/v1", Kind = "Widget", Name = "owner", Uid = owner.Metadata.Uid, Controller = true }],
            },
            Data = new Dictionary<string, byte[]> { ["k"] = [1] },
        }, Ct);
        await secrets.CreateAsync(new V1Secret
        {
            Metadata = new V1ObjectMeta { Name = "unrelated", NamespaceProperty = kube.Namespace },
            Data = new Dictionary<string, byte[]> { ["k"] = [1] },
        }, Ct);

        var reconciler = new ScriptedReconciler(async (_, _) =>
        {
            await Task.Delay(30, CancellationToken.None); // a reconcile that takes a while, so a second one of the key could overlap: what is tested
            return ReconcileResult.Done;
        }, widgets);
        var controller = new Controller<Widget>("widgets", new Informer<Widget>(widgets, "widgets", FastInformer(kube.Namespace)), reconciler, FastController(workers: 8))
            .Watches(new Informer<V1Secret>(secrets, "secrets", FastInformer(kube.Namespace)), OwnerMapping.ByOwnerReference<V1Secret>(Widget.Descriptor));
        using var stop = new CancellationTokenSource();
        var run = controller.RunAsync(stop.Token);

        var key = new ResourceKey(kube.Namespace, "owner");
        await Eventually.TrueAsync(() => controller.HasSynced && reconciler.Calls(key) >= 1 && controller.QueueDepth == 0, "initial reconcile");
        // The fence: a widget created now and reconciled; a second initial reconcile of the owner (its Secret's add
        // event) was queued before it, so has started by then and is counted in "before".
        await widgets.CreateAsync(Widget.Create(kube.Namespace, "fence"), Ct);
        await Eventually.TrueAsync(() => reconciler.Calls(new ResourceKey(kube.Namespace, "fence")) == 1 && controller.QueueDepth == 0, "the fence reconciled");
        var before = reconciler.Calls(key);

        // Someone deletes the credential Secret by hand: the owner must be reconciled to put it back.
        await secrets.DeleteAsync(new ResourceKey(kube.Namespace, "owner-credentials"), Ct);
        await Eventually.TrueAsync(() => reconciler.Calls(key) > before, "owner reconciled after its Secret changed");

        // A storm of changes to the owner: never two reconciles of one key at once.
        for (var i = 0; i < 10; i++)
        {
            var latest = await widgets.GetAsync(key, Ct);
            latest!.Spec!.Size = $"size-{i}";
            await widgets.ReplaceAsync(latest, Ct);
        }

        await Eventually.TrueAsync(() => reconciler.Seen.Any(r => r.Read?.Spec?.Size == "size-9"), "the last change reconciled");
        await stop.CancelAsync();
        await run;

        Assert.Equal(1, reconciler.MaxConcurrentPerKey);
        Assert.DoesNotContain(reconciler.Requests, r => r.Key.Name == "unrelated");
    }

    [Fact]
    public async Task Stopping_the_controller_waits_for_the_reconcile_in_flight()
    {
        await using var kube = await KubeHarness.StartAsync();
        var widgets = kube.Widgets();
        await widgets.CreateAsync(Widget.Create(kube.Namespace, "slow"), Ct);
        var inFlight = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        var finished = false;
        var reconciler = new ScriptedReconciler(async (_, _) =>
        {
            inFlight.TrySetResult();
            await Task.Delay(300, CancellationToken.None); // the reconcile in flight that stopping must wait for: what is tested
            finished = true;
            return ReconcileResult.Done;
        });
        var controller = new Controller<Widget>("widgets", new Informer<Widget>(widgets, "widgets", FastInformer(kube.Namespace)), reconciler, FastController());
        using var stop = new CancellationTokenSource();
        var run = controller.RunAsync(stop.Token);
        await inFlight.Task.WaitAsync(TimeSpan.FromSeconds(10), Ct);

        await stop.CancelAsync();
        await run.WaitAsync(TimeSpan.FromSeconds(10), Ct);

        Assert.True(finished);
        Assert.Equal(0, kube.Server.OpenWatchCount > 0 ? await WaitForWatchesToCloseAsync(kube) : 0);
    }

    [Fact]
    public async Task A_stopped_controller_can_run_again_and_catches_up_on_changes_made_meanwhile()
    {
        await using var kube = await KubeHarness.StartAsync();
        var store = kube.Widgets();
        await store.CreateAsync(Widget.Create("ns", "a"), Ct);
        var reconciler = new ScriptedReconciler((_, _) => Task.FromResult(ReconcileResult.Done));
        var controller = new Controller<Widget>("widgets", new Informer<Widget>(store, "widgets", FastInformer("ns", resync: null)), reconciler, FastController());

        using (var first = new CancellationTokenSource())
        {
            var run = controller.RunAsync(first.Token);
            await Eventually.TrueAsync(() => reconciler.Calls(new ResourceKey("ns", "a")) == 1, "first term reconciles a");
            await first.CancelAsync();
            await run;
        }

        Assert.False(controller.HasSynced);
        await store.CreateAsync(Widget.Create("ns", "b"), Ct); // while nobody runs

        using var second = new CancellationTokenSource();
        var again = controller.RunAsync(second.Token);
        await Eventually.TrueAsync(() => reconciler.Calls(new ResourceKey("ns", "b")) == 1 && reconciler.Calls(new ResourceKey("ns", "a")) == 2, "second term reconciles everything");
        await second.CancelAsync();
        await again;
    }

    [Fact]
    public async Task Periodic_resync_reconciles_unchanged_objects_again()
    {
        await using var kube = await KubeHarness.StartAsync();
        var widgets = kube.Widgets();
        await widgets.CreateAsync(Widget.Create(kube.Namespace, "steady"), Ct);
        var reconciler = new ScriptedReconciler((_, _) => Task.FromResult(ReconcileResult.Done));
        var controller = new Controller<Widget>("widgets", new Informer<Widget>(widgets, "widgets", FastInformer(kube.Namespace, resync: TimeSpan.FromMilliseconds(200))), reconciler, FastController());
        using var stop = new CancellationTokenSource();
        var run = controller.RunAsync(stop.Token);

        await Eventually.TrueAsync(() => reconciler.Calls(new ResourceKey(kube.Namespace, "steady")) >= 3, "reconciled again by resync");
        await stop.CancelAsync();
        await run;
    }

    [Fact]
    public async Task Prometheus_metrics_count_reconciles_by_result_and_expose_queue_depth()
    {
        var registry = Metrics.NewCustomRegistry();
        var metrics = new PrometheusControllerMetrics(registry);
        metrics.ReconcileCompleted("widgets", ControllerMetricResults.Success, TimeSpan.FromMilliseconds(5));
        metrics.ReconcileCompleted("widgets", ControllerMetricResults.Success, TimeSpan.FromMilliseconds(5));
        metrics.ReconcileCompleted("widgets", ControllerMetricResults.Error, TimeSpan.FromMilliseconds(5));
        metrics.QueueDepthChanged("widgets", 7);

        using var stream = new MemoryStream();
        await registry.CollectAndExportAsTextAsync(stream, Ct);
        var text = System.Text.Encoding.UTF8.GetString(stream.ToArray());

        Assert.Contains("controller_runtime_reconcile_total{controller=\"widgets\",result=\"success\"} 2", text, StringComparison.Ordinal);
        Assert.Contains("controller_runtime_reconcile_total{controller=\"widgets\",result=\"error\"} 1", text, StringComparison.Ordinal);
        Assert.Contains("workqueue_depth{name=\"widgets\"} 7", text, StringComparison.Ordinal);
        Assert.Contains("controller_runtime_reconcile_time_seconds_count{controller=\"widgets\"} 3", text, StringComparison.Ordinal);
    }

    private static async Task<int> WaitForWatchesToCloseAsync(KubeHarness kube)
    {
        await Eventually.TrueAsync(() => kube.Server.OpenWatchCount == 0, "watches closed after stop");
        return 0;
    }
}
