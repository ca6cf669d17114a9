using System.Threading.Channels;

namespace WorkspaceStorage.Kubernetes.InMemory;

/// <summary>One open watch stream.</summary>
public sealed class WatchSubscription(ResourceType type, string? ns, LabelSelector labels, FieldSelector fields)
{
    private readonly Channel<(string EventType, byte[] Object)> _events =
        Channel.CreateUnbounded<(string, byte[])>(new UnboundedChannelOptions { SingleReader = true });

    public ChannelReader<(string EventType, byte[] Object)> Events => _events.Reader;

    /// <summary>True when the server dropped this watch as if it had crashed (the connection is reset, not ended).</summary>
    public bool Aborted { get; private set; }

    public bool Matches(StoredObject obj) =>
        (ns is null || obj.Namespace == ns) && fields.Matches(obj.Namespace, obj.Name) && labels.Matches(obj.Labels);

    public void Send(string eventType, byte[] obj) => _events.Writer.TryWrite((eventType, obj));

    public void Offer(ChangeEvent change)
    {
        if (change.Type != type || (ns is not null && change.Object.Namespace != ns) ||
            !fields.Matches(change.Object.Namespace, change.Object.Name))
        {
            return;
        }

        var nowMatches = labels.Matches(change.Object.Labels);
        var matchedBefore = change.PreviousLabels is null ? nowMatches : labels.Matches(change.PreviousLabels);
        var eventType = (matchedBefore, nowMatches) switch
        {
            (true, true) => change.EventType,
            (false, true) => change.EventType == "DELETED" ? null : "ADDED",
            (true, false) => "DELETED",
            _ => null,
        };
        if (eventType is not null)
        {
            Send(eventType, change.Object.Bytes);
        }
    }

    public void Close(bool abort)
    {
        Aborted = abort;
        _events.Writer.TryComplete();
    }
}
