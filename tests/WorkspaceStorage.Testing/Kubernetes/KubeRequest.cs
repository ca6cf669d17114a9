using WorkspaceStorage.Kubernetes.InMemory;

namespace WorkspaceStorage.Testing.Kubernetes;

/// <summary>
/// What one API call asks for, as fault filters and request counters see it.
/// Verb is the audit verb: get, list, watch, create, update, patch, delete.
/// </summary>
public sealed record KubeRequest(string Verb, ResourceType Type, string? Namespace, string? Name, string? Subresource)
{
    public bool IsWrite => Verb is "create" or "update" or "patch" or "delete";
}

/// <summary>An injected failure: matching requests get <see cref="StatusCode"/> until it is used up, expired or disposed.</summary>
public sealed class InjectedFault : IDisposable
{
    private readonly Lock _gate = new();
    private readonly Func<KubeRequest, bool> _match;
    private readonly DateTimeOffset? _until;
    private readonly TimeProvider _clock;
    private int? _remaining;
    private bool _disposed;

    internal InjectedFault(int statusCode, Func<KubeRequest, bool> match, int? count, DateTimeOffset? until, TimeProvider clock)
    {
        StatusCode = statusCode;
        _match = match;
        _remaining = count;
        _until = until;
        _clock = clock;
    }

    public int StatusCode { get; }

    /// <summary>How many requests this fault has failed so far.</summary>
    public int Hits { get; private set; }

    public bool IsActive
    {
        get
        {
            lock (_gate)
            {
                return !_disposed && _remaining is null or > 0 && (_until is null || _clock.GetUtcNow() < _until);
            }
        }
    }

    internal bool TryHit(KubeRequest request)
    {
        lock (_gate)
        {
            if (_disposed || _remaining is <= 0 || (_until is not null && _clock.GetUtcNow() >= _until) || !_match(request))
            {
                return false;
            }

            _remaining--;
            Hits++;
            return true;
        }
    }

    public void Dispose()
    {
        lock (_gate)
        {
            _disposed = true;
        }
    }
}
