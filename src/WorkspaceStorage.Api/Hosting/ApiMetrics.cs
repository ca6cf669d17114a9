using Prometheus;

namespace WorkspaceStorage.Api.Hosting;

/// <summary>Direction of a streamed body, for <see cref="ApiMetrics.AddStreamedBytes"/>.</summary>
public enum StreamDirection
{
    Upload,
    Download,
}

/// <summary>
/// The API's Prometheus metrics, on a registry owned by this app instance (not prometheus-net's static default),
/// so two hosts in one process — as in tests — never share counters. HTTP request count and latency by route
/// template and status come from prometheus-net's middleware on the same registry.
/// </summary>
public sealed class ApiMetrics
{
    public ApiMetrics()
    {
        Registry = Metrics.NewCustomRegistry();
        Factory = Metrics.WithCustomRegistry(Registry);
        BytesStreamed = Factory.CreateCounter(
            "workspace_storage_api_streamed_bytes_total",
            "Bytes streamed through the API's file routes.",
            new CounterConfiguration { LabelNames = ["direction"] });
    }

    public CollectorRegistry Registry { get; }

    /// <summary>Create further metrics through this factory so they land on <see cref="Registry"/>.</summary>
    public IMetricFactory Factory { get; }

    public Counter BytesStreamed { get; }

    public void AddStreamedBytes(StreamDirection direction, long bytes)
    {
        if (bytes > 0)
        {
            BytesStreamed.WithLabels(direction == StreamDirection.Upload ? "upload" : "download").Inc(bytes);
        }
    }
}
