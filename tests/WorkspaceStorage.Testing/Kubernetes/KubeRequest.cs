using Microsoft.AspNetCore.Http;
using WorkspaceStorage.Kubernetes.Runtime;

namespace WorkspaceStorage.Testing.Kubernetes;

/// <summary>
/// What one API call asks for, as fault filters and request counters see it.
/// Verb is the audit verb: get, list, watch, create, update, patch, delete.
/// </summary>
public sealed record KubeRequest(string Verb, ResourceDescriptor Type, string? Namespace, string? Name, string? Subresource)
{
    public bool IsWrite => Verb is "create" or "update" or "patch" or "delete";

    /// <summary>
    /// The request a real API server would see in <paramref name="method"/> on <paramref name="path"/>: /api/v1/… or
    /// /apis/group/version/…, namespaced or not, with an optional subresource. Null for paths that name no resource
    /// (discovery, /version, /openapi, health). Types outside <see cref="KubeResources.Defaults"/> are described from
    /// the path alone.
    /// </summary>
    public static KubeRequest? Parse(string method, string path, IQueryCollection query)
    {
        ArgumentNullException.ThrowIfNull(query);
        var segments = path.Trim('/').Split('/');
        string group, version;
        string[] rest;
        if (segments is ["api", var coreVersion, .. var coreRest] && coreRest.Length > 0)
        {
            (group, version, rest) = ("", coreVersion, coreRest);
        }
        else if (segments is ["apis", var g, var v, .. var groupRest] && groupRest.Length > 0)
        {
            (group, version, rest) = (g, v, groupRest);
        }
        else
        {
            return null;
        }

        string? ns = null;
        if (rest is ["namespaces", var n, var third, ..] && !(rest.Length == 3 && third is "status" or "finalize"))
        {
            ns = n;
            rest = rest[2..];
        }

        var plural = rest[0];
        var name = rest.ElementAtOrDefault(1);
        var subresource = rest.ElementAtOrDefault(2);
        var type = KubeResources.Defaults.FirstOrDefault(t => t.Group == group && t.Version == version && t.Plural == plural)
                   ?? new ResourceDescriptor(group, version, plural, "", Namespaced: ns is not null);
        var verb = (method, name is null) switch
        {
            ("GET", true) => query["watch"] is var w && (w == "true" || w == "1") ? "watch" : "list",
            ("GET", false) => "get",
            ("POST", true) => "create",
            ("PUT", false) => "update",
            ("PATCH", false) => "patch",
            ("DELETE", false) => "delete",
            ("DELETE", true) => "deletecollection",
            _ => method.ToLowerInvariant(),
        };
        return new KubeRequest(verb, type, ns, name, subresource);
    }
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

/// <summary>The faults a test server or proxy answers with: added by tests, tried in order, used up, cleared.</summary>
public sealed class InjectedFaults
{
    private readonly List<InjectedFault> _faults = [];
    private readonly Lock _gate = new();

    public InjectedFault Add(int statusCode, Func<KubeRequest, bool>? match, int? count, TimeSpan? duration, TimeProvider clock)
    {
        ArgumentNullException.ThrowIfNull(clock);
        var fault = new InjectedFault(statusCode, match ?? (_ => true), count, duration is null ? null : clock.GetUtcNow() + duration, clock);
        lock (_gate)
        {
            _faults.RemoveAll(f => !f.IsActive);
            _faults.Add(fault);
        }

        return fault;
    }

    /// <summary>The first active fault that matches <paramref name="request"/>, counted as used; null when none does.</summary>
    public InjectedFault? Find(KubeRequest request)
    {
        lock (_gate)
        {
            return _faults.Count == 0 ? null : _faults.FirstOrDefault(f => f.TryHit(request));
        }
    }

    public void Clear()
    {
        lock (_gate)
        {
            _faults.ForEach(f => f.Dispose());
            _faults.Clear();
        }
    }
}

/// <summary>A kubeconfig document for one server and bearer token (tests write it 0600 when the token is real).</summary>
public static class KubeconfigDocument
{
    public static string Yaml(Uri server, string token, string contextName, string defaultNamespace)
    {
        ArgumentNullException.ThrowIfNull(server);
        return $"""
            apiVersion: v1
            kind: Config
            clusters:
            - name: {contextName}
              cluster:
                server: {server.ToString().TrimEnd('/')}
            users:
            - name: {contextName}
              user:
                token: {token}
            contexts:
            - name: {contextName}
              context:
                cluster: {contextName}
                user: {contextName}
                namespace: {defaultNamespace}
            current-context: {contextName}
            """;
    }
}
