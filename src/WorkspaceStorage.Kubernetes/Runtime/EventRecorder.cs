using System.Globalization;
using k8s;
using k8s.Models;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Logging.Abstractions;

namespace WorkspaceStorage.Kubernetes.Runtime;

/// <summary>Kubernetes event severity.</summary>
public enum EventSeverity
{
    Normal,
    Warning,
}

/// <summary>
/// Records Kubernetes Events about an object ("kubectl describe" shows them). Best effort: a failure to record is
/// logged, never thrown, so it cannot fail a reconcile. Messages are redacted before they leave the process, but
/// callers must still not put secrets into them.
/// </summary>
public interface IEventRecorder
{
    /// <param name="regarding">The object the event is about.</param>
    /// <param name="severity">Normal or Warning.</param>
    /// <param name="reason">A short CamelCase machine-readable reason, e.g. "CredentialsRotated".</param>
    /// <param name="message">A human-readable sentence.</param>
    /// <param name="cancellationToken">Cancels the call.</param>
    Task RecordAsync(IKubernetesObject<V1ObjectMeta> regarding, EventSeverity severity, string reason, string message, CancellationToken cancellationToken);
}

/// <summary>Records nothing (tests, local mode).</summary>
public sealed class NullEventRecorder : IEventRecorder
{
    public static NullEventRecorder Instance { get; } = new();

    public Task RecordAsync(IKubernetesObject<V1ObjectMeta> regarding, EventSeverity severity, string reason, string message, CancellationToken cancellationToken) =>
        Task.CompletedTask;
}

/// <summary>
/// core/v1 Events through KubernetesClient. A repeat of the same event (same object, reason and message) within
/// <see cref="AggregationWindow"/> bumps the count of the existing Event instead of creating another, so a key
/// that keeps failing does not flood the namespace.
/// </summary>
public sealed class KubernetesEventRecorder : IEventRecorder
{
    private readonly IKubernetes kubernetes;
    private readonly string component;
    private readonly string instance;
    private readonly ILogger logger;
    private readonly TimeProvider time;
    private readonly Lock gate = new();
    private readonly Dictionary<(string Uid, string Reason, string Message), Recorded> recent = [];

    public KubernetesEventRecorder(IKubernetes kubernetes, string component, string instance, ILogger? logger = null, TimeProvider? time = null)
    {
        this.kubernetes = kubernetes ?? throw new ArgumentNullException(nameof(kubernetes));
        ArgumentException.ThrowIfNullOrWhiteSpace(component);
        ArgumentException.ThrowIfNullOrWhiteSpace(instance);
        this.component = component;
        this.instance = instance;
        this.logger = logger ?? NullLogger.Instance;
        this.time = time ?? TimeProvider.System;
    }

    /// <summary>Repeats within this window are counted on one Event.</summary>
    public TimeSpan AggregationWindow { get; init; } = TimeSpan.FromMinutes(10);

    /// <summary>Upper bound of one Event call.</summary>
    public TimeSpan RequestTimeout { get; init; } = TimeSpan.FromSeconds(10);

    /// <summary>Namespace for events about cluster-scoped objects.</summary>
    public string ClusterEventsNamespace { get; init; } = "default";

    public async Task RecordAsync(IKubernetesObject<V1ObjectMeta> regarding, EventSeverity severity, string reason, string message, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(regarding);
        ArgumentException.ThrowIfNullOrWhiteSpace(reason);
        var metadata = regarding.Metadata;
        var safeMessage = LogRedaction.Redact(message);
        var @namespace = string.IsNullOrEmpty(metadata.NamespaceProperty) ? ClusterEventsNamespace : metadata.NamespaceProperty;
        var now = time.GetUtcNow().UtcDateTime;
        var aggregateKey = (metadata.Uid ?? $"{metadata.NamespaceProperty}/{metadata.Name}", reason, safeMessage);

        using var timeout = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
        timeout.CancelAfter(RequestTimeout);
        try
        {
            Recorded? previous;
            lock (gate)
            {
                Prune(now);
                if (recent.TryGetValue(aggregateKey, out previous) && now - previous.Last > AggregationWindow)
                {
                    previous = null;
                }
            }

            if (previous is not null)
            {
                var count = previous.Count + 1;
                var patch = new V1Patch(
                    $$"""{"count":{{count}},"lastTimestamp":"{{now.ToString("yyyy-MM-ddTHH:mm:ssZ", CultureInfo.InvariantCulture)}}"}""",
                    V1Patch.PatchType.MergePatch);
                try
                {
                    await kubernetes.CoreV1.PatchNamespacedEventAsync(patch, previous.Name, previous.Namespace, cancellationToken: timeout.Token).ConfigureAwait(false);
                    Remember(aggregateKey, previous with { Count = count, Last = now });
                    return;
                }
                catch (k8s.Autorest.HttpOperationException error) when (error.Response?.StatusCode == System.Net.HttpStatusCode.NotFound)
                {
                    // The Event expired or was deleted: create a fresh one.
                }
            }

            var name = $"{metadata.Name}.{Guid.NewGuid().ToString("N")[..16]}";
            var created = new Corev1Event
            {
                ApiVersion = "v1",
                Kind = "Event",
                Metadata = new V1ObjectMeta { Name = name, NamespaceProperty = @namespace },
                InvolvedObject = new V1ObjectReference
                {
                    ApiVersion = regarding.ApiVersion,
                    Kind = regarding.Kind,
                    Name = metadata.Name,
                    NamespaceProperty = metadata.NamespaceProperty,
                    Uid = metadata.Uid,
                    ResourceVersion = metadata.ResourceVersion,
                },
                Reason = reason,
                Message = safeMessage,
                Type = severity == EventSeverity.Warning ? "Warning" : "Normal",
                Count = 1,
                FirstTimestamp = now,
                LastTimestamp = now,
                Source = new V1EventSource { Component = component },
                ReportingComponent = component,
                ReportingInstance = instance,
            };
            await kubernetes.CoreV1.CreateNamespacedEventAsync(created, @namespace, cancellationToken: timeout.Token).ConfigureAwait(false);
            Remember(aggregateKey, new Recorded(name, @namespace, 1, now));
        }
        catch (OperationCanceledException) when (cancellationToken.IsCancellationRequested)
        {
            throw;
        }
        catch (Exception error)
        {
            logger.LogWarning("Could not record event {Reason} for {Kind} {Key}: {ErrorType}", reason, regarding.Kind, ResourceKey.Of(regarding), error.GetType().Name);
        }
    }

    private void Remember((string, string, string) key, Recorded value)
    {
        lock (gate)
        {
            recent[key] = value;
        }
    }

    private void Prune(DateTime now)
    {
        if (recent.Count < 256)
        {
            return;
        }

        foreach (var stale in recent.Where(entry => now - entry.Value.Last > AggregationWindow).Select(entry => entry.Key).ToList())
        {
            recent.Remove(stale);
        }
    }

    private sealed record Recorded(string Name, string Namespace, int Count, DateTime Last);
}
