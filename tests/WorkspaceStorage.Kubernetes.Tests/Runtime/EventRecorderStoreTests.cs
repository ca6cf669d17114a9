using k8s.Models;
using Microsoft.Extensions.Logging.Abstractions;
using WorkspaceStorage.Core.Resources;
using WorkspaceStorage.Kubernetes.Runtime;
using WorkspaceStorage.Kubernetes.InMemory;

namespace WorkspaceStorage.Kubernetes.Tests.Runtime;

public sealed class EventRecorderStoreTests
{
    private static CancellationToken Ct => TestContext.Current.CancellationToken;

    private static WorkspaceStorageResource Subject(string uid = "uid-1") =>
        new() { Metadata = new V1ObjectMeta { Name = "data", NamespaceProperty = "team-a", Uid = uid } };

    [Fact]
    public async Task A_repeated_event_bumps_the_count_instead_of_adding_another()
    {
        var events = new InMemoryResourceStore<Corev1Event>(ResourceDescriptor.Events);
        var recorder = new EventRecorder(events, NullLogger<EventRecorder>.Instance);

        await recorder.RecordAsync(Subject(), EventSeverity.Warning, "BackendUnavailable", "connection refused", Ct);
        await recorder.RecordAsync(Subject(), EventSeverity.Warning, "BackendUnavailable", "connection refused", Ct);
        await recorder.RecordAsync(Subject(), EventSeverity.Warning, "BackendUnavailable", "connection refused", Ct);
        await recorder.RecordAsync(Subject(), EventSeverity.Normal, "Provisioned", "ready", Ct);

        var stored = (await events.ListAsync("team-a", null, Ct)).Items;
        Assert.Equal(2, stored.Count);
        var warning = Assert.Single(stored, e => e.Reason == "BackendUnavailable");
        Assert.Equal(3, warning.Count);
        Assert.Equal("Warning", warning.Type);
        Assert.Equal("data", warning.InvolvedObject.Name);
        Assert.Equal("uid-1", warning.InvolvedObject.Uid);
    }

    [Fact]
    public async Task Secrets_in_a_message_are_redacted_and_a_failing_store_does_not_throw()
    {
        var events = new InMemoryResourceStore<Corev1Event>(ResourceDescriptor.Events);
        var recorder = new EventRecorder(events, NullLogger<EventRecorder>.Instance);
        await recorder.RecordAsync(Subject(), EventSeverity.Warning, "Oops", "failed: aws_secret_access_key=wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY", Ct);
        var stored = Assert.Single((await events.ListAsync("team-a", null, Ct)).Items);
        Assert.DoesNotContain("wJalrXUtnFEMI", stored.Message, StringComparison.Ordinal);

        var broken = new EventRecorder(new ThrowingEvents(), NullLogger<EventRecorder>.Instance);
        await broken.RecordAsync(Subject("uid-2"), EventSeverity.Normal, "Provisioned", "ready", Ct);
    }

    private sealed class ThrowingEvents : IResourceClient<Corev1Event>
    {
        public ResourceDescriptor Resource => ResourceDescriptor.Events;

        public Task<Corev1Event?> GetAsync(ResourceKey key, CancellationToken cancellationToken) => throw new ResourceClientException("503", 503);

        public Task<ResourceList<Corev1Event>> ListAsync(string? @namespace, string? labelSelector, CancellationToken cancellationToken) => throw new ResourceClientException("503", 503);

        public Task<Corev1Event> CreateAsync(Corev1Event resource, CancellationToken cancellationToken) => throw new ResourceClientException("503", 503);

        public Task<Corev1Event> ReplaceAsync(Corev1Event resource, CancellationToken cancellationToken) => throw new ResourceClientException("503", 503);

        public Task<Corev1Event> ReplaceStatusAsync(Corev1Event resource, CancellationToken cancellationToken) => throw new ResourceClientException("503", 503);

        public Task<Corev1Event> PatchAsync(ResourceKey key, ResourcePatch patch, CancellationToken cancellationToken) => throw new ResourceClientException("503", 503);

        public Task<bool> DeleteAsync(ResourceKey key, CancellationToken cancellationToken) => throw new ResourceClientException("503", 503);
    }
}
