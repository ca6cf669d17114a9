using System.Collections.Concurrent;
using System.Globalization;
using System.Security.Cryptography;
using System.Text.Json;
using k8s;
using k8s.Models;
using Microsoft.Extensions.Logging;

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

/// <summary>Records nothing (tests, stores without Events).</summary>
public sealed class NullEventRecorder : IEventRecorder
{
    public static NullEventRecorder Instance { get; } = new();

    public Task RecordAsync(IKubernetesObject<V1ObjectMeta> regarding, EventSeverity severity, string reason, string message, CancellationToken cancellationToken) =>
        Task.CompletedTask;
}

/// <summary>
/// <see cref="IEventRecorder"/> over any <see cref="IResourceClient{T}"/> of core/v1 Events (the Kubernetes adapter, or a
/// failing client in tests). Writes Events into the involved object's namespace ("default" for cluster-scoped objects). A repeat of the
/// same (object, reason, message) within <see cref="DedupeWindow"/> bumps the earlier event's count instead of creating
/// another, as client-go's recorder does.
/// </summary>
public sealed class EventRecorder(IResourceClient<Corev1Event> events, ILogger<EventRecorder> logger, TimeProvider? time = null,
    string component = "workspace-storage-operator") : IEventRecorder
{
    public static readonly TimeSpan DedupeWindow = TimeSpan.FromMinutes(10);

    private const int MaxRemembered = 4096;

    private readonly TimeProvider clock = time ?? TimeProvider.System;
    private readonly ConcurrentDictionary<string, Recorded> recent = new(StringComparer.Ordinal);

    public async Task RecordAsync(IKubernetesObject<V1ObjectMeta> involved, EventSeverity severity, string reason, string message, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(involved);
        var metadata = involved.Metadata;
        var @namespace = string.IsNullOrEmpty(metadata.NamespaceProperty) ? "default" : metadata.NamespaceProperty;
        var now = clock.GetUtcNow().UtcDateTime;
        message = LogRedaction.Redact(message);
        var dedupeKey = $"{metadata.Uid}|{severity}|{reason}|{message}";
        try
        {
            if (recent.TryGetValue(dedupeKey, out var earlier) && now - earlier.Last < DedupeWindow)
            {
                var count = earlier.Count + 1;
                var patch = CountPatch(count, now);
                await events.PatchAsync(new ResourceKey(@namespace, earlier.Name), ResourcePatch.Merge(patch), cancellationToken);
                recent[dedupeKey] = earlier with { Count = count, Last = now };
                return;
            }

            var created = await events.CreateAsync(new Corev1Event
            {
                // client-go's naming: the object's name and a unique suffix (the store may not support generateName).
                Metadata = new V1ObjectMeta { Name = $"{metadata.Name}.{Convert.ToHexStringLower(RandomNumberGenerator.GetBytes(8))}", NamespaceProperty = @namespace },
                InvolvedObject = new V1ObjectReference
                {
                    ApiVersion = involved.ApiVersion,
                    Kind = involved.Kind,
                    Name = metadata.Name,
                    NamespaceProperty = metadata.NamespaceProperty,
                    Uid = metadata.Uid,
                    ResourceVersion = metadata.ResourceVersion,
                },
                Type = severity.ToString(),
                Reason = reason,
                Message = message,
                Count = 1,
                FirstTimestamp = now,
                LastTimestamp = now,
                Source = new V1EventSource { Component = component },
                ReportingComponent = component,
            }, cancellationToken);
            if (recent.Count > MaxRemembered)
            {
                recent.Clear();
            }

            recent[dedupeKey] = new Recorded(created.Metadata.Name, 1, now);
        }
        catch (Exception error) when (!cancellationToken.IsCancellationRequested)
        {
            // An event is a courtesy; the status carries the same facts.
            recent.TryRemove(dedupeKey, out _);
            logger.LogDebug("Could not record event {Reason} on {Name}: {ErrorType}", reason, metadata.Name, error.GetType().Name);
        }
    }

    private sealed record Recorded(string Name, int Count, DateTime Last);

    // Written by hand: a merge patch of two fields needs no serializer (and no reflection over a dictionary).
    private static string CountPatch(int count, DateTime now)
    {
        var buffer = new System.Buffers.ArrayBufferWriter<byte>(96);
        using (var writer = new Utf8JsonWriter(buffer))
        {
            writer.WriteStartObject();
            writer.WriteNumber("count", count);
            writer.WriteString("lastTimestamp", now.ToString("yyyy-MM-dd'T'HH:mm:ss'Z'", CultureInfo.InvariantCulture));
            writer.WriteEndObject();
        }

        return System.Text.Encoding.UTF8.GetString(buffer.WrittenSpan);
    }
}
