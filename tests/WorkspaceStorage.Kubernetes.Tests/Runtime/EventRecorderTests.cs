using k8s.Models;
using WorkspaceStorage.Kubernetes.Runtime;
using WorkspaceStorage.Testing.Kubernetes;
using WorkspaceStorage.Testing.Support;

namespace WorkspaceStorage.Kubernetes.Tests.Runtime;

/// <summary>The one event recorder, through the real KubernetesClient adapter against the in-process API server.</summary>
public sealed class EventRecorderTests
{
    private static CancellationToken Ct => TestContext.Current.CancellationToken;

    [Fact]
    public async Task Events_name_the_object_repeats_are_counted_on_one_event_and_messages_are_redacted()
    {
        await using var kube = await KubeHarness.StartAsync();
        var widget = await kube.Widgets().CreateAsync(Widget.Create(kube.Namespace, "w"), Ct);
        var recorder = new EventRecorder(new KubernetesResourceClient<Corev1Event>(kube.Client, ResourceDescriptor.Events), new LogCapture<EventRecorder>());

        await recorder.RecordAsync(widget, EventSeverity.Warning, "BackendUnavailable", "backend down; secretKey=wJalrXUtnFEMI/K7MDENG", Ct);
        await recorder.RecordAsync(widget, EventSeverity.Warning, "BackendUnavailable", "backend down; secretKey=wJalrXUtnFEMI/K7MDENG", Ct);
        await recorder.RecordAsync(widget, EventSeverity.Normal, "Ready", "storage ready", Ct);

        var events = await kube.Server.ObjectsAsync<Corev1Event>(kube.Namespace);
        Assert.Equal(2, events.Count);
        var warning = Assert.Single(events, e => e.Reason == "BackendUnavailable");
        Assert.Equal(2, warning.Count);
        Assert.Equal("Warning", warning.Type);
        Assert.Equal("w", warning.InvolvedObject.Name);
        Assert.Equal("Widget", warning.InvolvedObject.Kind);
        Assert.Equal(widget.Metadata.Uid, warning.InvolvedObject.Uid);
        Assert.DoesNotContain("wJalrXUtnFEMI", warning.Message, StringComparison.Ordinal);
        Assert.Equal("Normal", Assert.Single(events, e => e.Reason == "Ready").Type);
    }

    [Fact]
    public async Task A_failing_event_call_does_not_throw()
    {
        await using var kube = await KubeHarness.StartAsync();
        var widget = await kube.Widgets().CreateAsync(Widget.Create(kube.Namespace, "w"), Ct);
        var logger = new LogCapture<EventRecorder>();
        var recorder = new EventRecorder(new KubernetesResourceClient<Corev1Event>(kube.Client, ResourceDescriptor.Events), logger);
        using var fault = kube.Server.FailRequests(500, request => request.Type == KubeResources.CoreEvents);

        await recorder.RecordAsync(widget, EventSeverity.Normal, "Ready", "ok", Ct);

        Assert.Contains("Could not record event Ready", logger.All, StringComparison.Ordinal);
    }
}
