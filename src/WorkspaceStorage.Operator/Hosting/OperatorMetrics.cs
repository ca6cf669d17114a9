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
/// </list>
/// Labels are fixed words (backend type, operation name, result), never object names, error texts or keys.
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
    private readonly Lock gate = new();
    private Func<IEnumerable<WorkspaceStorageResource>>? workspaces;

    public OperatorMetrics()
    {
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

        Registry.AddBeforeCollectCallback(CountWorkspaces);
    }

    public CollectorRegistry Registry { get; }

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
    }
}
