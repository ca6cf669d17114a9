using Prometheus;

namespace WorkspaceStorage.Kubernetes.Runtime;

/// <summary>
/// Counters a controller reports. Labels are controller names and fixed result words only, never object names or
/// error messages (bounded cardinality, and nothing secret can reach a metric).
/// </summary>
public interface IControllerMetrics
{
    /// <summary>One reconcile ended; <paramref name="result"/> is one of
    /// <see cref="ControllerMetricResults"/> ("success", "requeue", "requeue_after", "error").</summary>
    void ReconcileCompleted(string controller, string result, TimeSpan duration);

    /// <summary>The number of keys ready in the queue changed.</summary>
    void QueueDepthChanged(string controller, int depth);
}

/// <summary>The result labels of <see cref="IControllerMetrics.ReconcileCompleted"/>.</summary>
public static class ControllerMetricResults
{
    public const string Success = "success";
    public const string Requeue = "requeue";
    public const string RequeueAfter = "requeue_after";
    public const string Error = "error";
}

/// <summary>Reports nothing.</summary>
public sealed class NullControllerMetrics : IControllerMetrics
{
    public static NullControllerMetrics Instance { get; } = new();

    public void ReconcileCompleted(string controller, string result, TimeSpan duration)
    {
    }

    public void QueueDepthChanged(string controller, int depth)
    {
    }
}

/// <summary>
/// prometheus-net metrics named like controller-runtime's, so existing dashboards fit:
/// <c>controller_runtime_reconcile_total{controller,result}</c>,
/// <c>controller_runtime_reconcile_time_seconds{controller}</c>, <c>workqueue_depth{name}</c>.
/// </summary>
public sealed class PrometheusControllerMetrics : IControllerMetrics
{
    private readonly Counter reconciles;
    private readonly Histogram durations;
    private readonly Gauge depth;

    /// <param name="registry">Where to register; the default registry when null (a test passes its own).</param>
    public PrometheusControllerMetrics(CollectorRegistry? registry = null)
    {
        var factory = registry is null ? Metrics.WithCustomRegistry(Metrics.DefaultRegistry) : Metrics.WithCustomRegistry(registry);
        reconciles = factory.CreateCounter("controller_runtime_reconcile_total", "Reconciles by controller and result.", "controller", "result");
        durations = factory.CreateHistogram("controller_runtime_reconcile_time_seconds", "Time per reconcile.", new HistogramConfiguration
        {
            LabelNames = ["controller"],
            Buckets = Histogram.ExponentialBuckets(0.005, 2, 14),
        });
        depth = factory.CreateGauge("workqueue_depth", "Keys ready in the work queue.", "name");
    }

    public void ReconcileCompleted(string controller, string result, TimeSpan duration)
    {
        reconciles.WithLabels(controller, result).Inc();
        durations.WithLabels(controller).Observe(duration.TotalSeconds);
    }

    public void QueueDepthChanged(string controller, int depth) => this.depth.WithLabels(controller).Set(depth);
}
