using Prometheus;
using WorkspaceStorage.Core.Model;
using WorkspaceStorage.Resources;
using WorkspaceStorage.Kubernetes.Runtime;
using WorkspaceStorage.Storage.Backends;

namespace WorkspaceStorage.Operator.Hosting;

/// <summary>
/// The operator's Prometheus series, in one registry per process (tests build several side by side):
/// <list type="bullet">
/// <item><c>controller_runtime_reconcile_total{controller,result}</c>, <c>controller_runtime_reconcile_time_seconds{controller}</c>,
///   <c>workqueue_depth{name}</c> (controller-runtime's names, see <see cref="PrometheusControllerMetrics"/>);</item>
/// <item><c>workspace_storage_reconcile_duration_seconds{controller,result}</c>: duration by result;</item>
/// <item><c>workspace_storage_backend_calls_total{backend,operation}</c>, <c>workspace_storage_backend_call_errors_total{backend,operation}</c>,
///   <c>workspace_storage_backend_call_duration_seconds{backend,operation}</c>;</item>
/// <item><c>workspace_storage_managed_workspaces{condition}</c>: WorkspaceStorages by state (Ready, Stalled, Reconciling, Terminating).</item>
/// <item><c>workspace_storage_usage_bytes</c>, <c>workspace_storage_usage_objects</c>, <c>workspace_storage_quota_bytes</c>,
///   <c>workspace_storage_quota_objects</c> <c>{namespace,name,workspace}</c>: per workspace, from status.usage and status.quota,
///   while at most <c>--usage-metrics-max-workspaces</c> WorkspaceStorages have a usage; above that only the aggregates
///   <c>workspace_storage_usage_bytes_all</c>, <c>workspace_storage_usage_objects_all</c> and
///   <c>workspace_storage_over_quota_workspaces</c> (always emitted).</item>
/// </list>
/// Labels are fixed words (backend type, operation name, result), never error texts or keys; the per-workspace gauges
/// alone name objects, and their count is bounded by the cardinality guard.
/// </summary>
public sealed class OperatorMetrics : IControllerMetrics, IBackendCallObserver
{
    public const string Ready = "Ready";
    public const string Stalled = "Stalled";
    public const string Reconciling = "Reconciling";
    public const string Terminating = "Terminating";

    private static readonly string[] States = [Ready, Stalled, Reconciling, Terminating];

    private readonly PrometheusControllerMetrics controller;
    private readonly Histogram reconcileByResult;
    private readonly Counter backendCalls;
    private readonly Counter backendErrors;
    private readonly Histogram backendDurations;
    private readonly Gauge managed;
    private readonly Gauge usageBytes;
    private readonly Gauge usageObjects;
    private readonly Gauge quotaBytes;
    private readonly Gauge quotaObjects;
    private readonly Gauge usageBytesAll;
    private readonly Gauge usageObjectsAll;
    private readonly Gauge overQuota;
    private readonly HashSet<(string, string, string)> published = [];
    private readonly Lock gate = new();
    private Func<IEnumerable<WorkspaceStorageResource>>? workspaces;

    public const int DefaultUsageMetricsMaxWorkspaces = 500;

    /// <param name="usageMetricsMaxWorkspaces">The cardinality guard: above this many workspaces with a usage, no per-workspace series.</param>
    public OperatorMetrics(int usageMetricsMaxWorkspaces = DefaultUsageMetricsMaxWorkspaces)
    {
        ArgumentOutOfRangeException.ThrowIfNegative(usageMetricsMaxWorkspaces);
        UsageMetricsMaxWorkspaces = usageMetricsMaxWorkspaces;
        Registry = Metrics.NewCustomRegistry();
        var factory = Metrics.WithCustomRegistry(Registry);
        controller = new PrometheusControllerMetrics(Registry);
        reconcileByResult = factory.CreateHistogram("workspace_storage_reconcile_duration_seconds", "Time per reconcile, by controller and result.",
            new HistogramConfiguration { LabelNames = ["controller", "result"], Buckets = Histogram.ExponentialBuckets(0.005, 2, 14) });
        backendCalls = factory.CreateCounter("workspace_storage_backend_calls_total", "Storage backend admin calls, by backend type and operation.", "backend", "operation");
        backendErrors = factory.CreateCounter("workspace_storage_backend_call_errors_total", "Failed storage backend admin calls, by backend type and operation.", "backend", "operation");
        backendDurations = factory.CreateHistogram("workspace_storage_backend_call_duration_seconds", "Time per storage backend admin call.",
            new HistogramConfiguration { LabelNames = ["backend", "operation"], Buckets = Histogram.ExponentialBuckets(0.002, 2, 14) });
        managed = factory.CreateGauge("workspace_storage_managed_workspaces", "WorkspaceStorages by state.", "condition");
        foreach (var state in States)
        {
            managed.WithLabels(state).Set(0);
        }

        string[] perWorkspace = ["namespace", "name", "workspace"];
        usageBytes = factory.CreateGauge("workspace_storage_usage_bytes", "Bytes under the workspace's prefix, as last measured (status.usage.bytes).", perWorkspace);
        usageObjects = factory.CreateGauge("workspace_storage_usage_objects", "Objects under the workspace's prefix, as last measured (status.usage.objects).", perWorkspace);
        quotaBytes = factory.CreateGauge("workspace_storage_quota_bytes", "The workspace's size limit (status.quota.maxBytes); absent: none.", perWorkspace);
        quotaObjects = factory.CreateGauge("workspace_storage_quota_objects", "The workspace's object limit (status.quota.maxObjects); absent: none.", perWorkspace);
        usageBytesAll = factory.CreateGauge("workspace_storage_usage_bytes_all", "Bytes under every measured workspace's prefix, summed.");
        usageObjectsAll = factory.CreateGauge("workspace_storage_usage_objects_all", "Objects under every measured workspace's prefix, summed.");
        overQuota = factory.CreateGauge("workspace_storage_over_quota_workspaces", "Workspaces at or over their quota (QuotaExceeded=True).");

        Registry.AddBeforeCollectCallback(CountWorkspaces);
    }

    public CollectorRegistry Registry { get; }

    public int UsageMetricsMaxWorkspaces { get; }

    /// <summary>Where <c>workspace_storage_managed_workspaces</c> counts from (the WorkspaceStorage informer's cache).</summary>
    public void CountWorkspacesFrom(Func<IEnumerable<WorkspaceStorageResource>> source)
    {
        lock (gate)
        {
            workspaces = source;
        }
    }

    public void ReconcileCompleted(string controllerName, string result, TimeSpan duration)
    {
        controller.ReconcileCompleted(controllerName, result, duration);
        reconcileByResult.WithLabels(controllerName, result).Observe(duration.TotalSeconds);
    }

    public void QueueDepthChanged(string controllerName, int depth) => controller.QueueDepthChanged(controllerName, depth);

    public void OnCall(BackendCall call)
    {
        ArgumentNullException.ThrowIfNull(call);
        backendCalls.WithLabels(call.BackendType, call.Operation).Inc();
        backendDurations.WithLabels(call.BackendType, call.Operation).Observe(call.Duration.TotalSeconds);
        if (call.Error is not null)
        {
            backendErrors.WithLabels(call.BackendType, call.Operation).Inc();
        }
    }

    /// <summary>The state a WorkspaceStorage is counted under.</summary>
    public static string StateOf(WorkspaceStorageResource resource)
    {
        ArgumentNullException.ThrowIfNull(resource);
        if (resource.Metadata.DeletionTimestamp is not null)
        {
            return Terminating;
        }

        if (resource.Status.IsTrue(ConditionTypes.Ready))
        {
            return Ready;
        }

        return resource.Status.IsTrue(ConditionTypes.Stalled) ? Stalled : Reconciling;
    }

    private void CountWorkspaces()
    {
        Func<IEnumerable<WorkspaceStorageResource>>? source;
        lock (gate)
        {
            source = workspaces;
        }

        if (source is null)
        {
            return;
        }

        var counts = States.ToDictionary(s => s, _ => 0);
        foreach (var resource in source())
        {
            counts[StateOf(resource)]++;
        }

        foreach (var (state, count) in counts)
        {
            managed.WithLabels(state).Set(count);
        }

        CountUsage(source);
    }

    private void CountUsage(Func<IEnumerable<WorkspaceStorageResource>> source)
    {
        var measured = source().Where(r => r.Status?.Usage is not null && r.Metadata.DeletionTimestamp is null).ToList();
        usageBytesAll.Set(measured.Sum(r => (double)r.Status!.Usage!.Bytes));
        usageObjectsAll.Set(measured.Sum(r => (double)r.Status!.Usage!.Objects));
        overQuota.Set(measured.Count(r => r.Status.IsTrue("QuotaExceeded")));
        var current = new HashSet<(string, string, string)>();
        if (measured.Count <= UsageMetricsMaxWorkspaces)
        {
            foreach (var resource in measured)
            {
                var status = resource.Status!;
                var labels = (resource.Metadata.NamespaceProperty ?? "", resource.Metadata.Name ?? "", status.Workspace ?? "");
                current.Add(labels);
                usageBytes.WithLabels(labels.Item1, labels.Item2, labels.Item3).Set(status.Usage!.Bytes);
                usageObjects.WithLabels(labels.Item1, labels.Item2, labels.Item3).Set(status.Usage.Objects);
                SetOrRemove(quotaBytes, labels, status.Quota?.MaxBytes);
                SetOrRemove(quotaObjects, labels, status.Quota?.MaxObjects);
            }
        }

        lock (gate)
        {
            foreach (var gone in published.Where(p => !current.Contains(p)).ToList())
            {
                foreach (var gauge in (Gauge[])[usageBytes, usageObjects, quotaBytes, quotaObjects])
                {
                    gauge.RemoveLabelled(gone.Item1, gone.Item2, gone.Item3);
                }

                published.Remove(gone);
            }

            published.UnionWith(current);
        }
    }

    private static void SetOrRemove(Gauge gauge, (string, string, string) labels, long? value)
    {
        if (value is { } v)
        {
            gauge.WithLabels(labels.Item1, labels.Item2, labels.Item3).Set(v);
        }
        else
        {
            gauge.RemoveLabelled(labels.Item1, labels.Item2, labels.Item3);
        }
    }
}
