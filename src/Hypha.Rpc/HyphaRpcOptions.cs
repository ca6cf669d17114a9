using System.Security.Cryptography;
using System.Text.Json;

namespace Hypha.Rpc;

/// <summary>Settings of a <see cref="HyphaRpcClient"/>. <see cref="Validate"/> runs at construction; errors name the setting.</summary>
public sealed record HyphaRpcOptions
{
    /// <summary>Hypha's address: http, https, ws or wss (the WebSocket endpoint <c>/ws</c> is derived from it).</summary>
    public required string ServerUrl { get; init; }

    /// <summary>The workspace to connect to (for example <c>public</c>); null connects to the token's own workspace.</summary>
    public string? Workspace { get; init; }

    /// <summary>This client's id in the workspace; it stays the same across reconnections. Default: <c>hypha-rpc-</c> and random hex.</summary>
    public string ClientId { get; init; } = "hypha-rpc-" + Convert.ToHexStringLower(RandomNumberGenerator.GetBytes(5));

    /// <summary>Opening the socket and receiving <c>connection_info</c>.</summary>
    public TimeSpan ConnectTimeout { get; init; } = TimeSpan.FromSeconds(15);

    /// <summary>Default timeout of this client's own calls (heartbeats from the other side extend it).</summary>
    public TimeSpan CallTimeout { get; init; } = TimeSpan.FromSeconds(30);

    /// <summary>How often a <c>{"type":"ping"}</c> keeps the socket alive (Hypha drops sockets idle for 600 s).</summary>
    public TimeSpan KeepaliveInterval { get; init; } = TimeSpan.FromSeconds(20);

    /// <summary>Silence (no frame at all, not even a pong) after which the socket is taken for dead and replaced.</summary>
    public TimeSpan DeadSocketTimeout { get; init; } = TimeSpan.FromSeconds(70);

    /// <summary>First delay before reconnecting; doubles per failed attempt, with jitter, up to <see cref="ReconnectMaxDelay"/>.</summary>
    public TimeSpan ReconnectInitialDelay { get; init; } = TimeSpan.FromMilliseconds(250);

    public TimeSpan ReconnectMaxDelay { get; init; } = TimeSpan.FromSeconds(3);

    /// <summary>Upper bound of the period between heartbeats of a running handler (it is also at most a third of the caller's <c>t</c>).</summary>
    public TimeSpan HeartbeatMaxInterval { get; init; } = TimeSpan.FromSeconds(10);

    /// <summary>One send on the socket; a send that takes longer marks the socket dead.</summary>
    public TimeSpan SendTimeout { get; init; } = TimeSpan.FromSeconds(30);

    /// <summary>Stopping: unregistering the services and letting running handlers answer.</summary>
    public TimeSpan StopTimeout { get; init; } = TimeSpan.FromSeconds(10);

    /// <summary>How often to ask Hypha for a fresh reconnection token (at most half its lifetime).</summary>
    public TimeSpan ReconnectionTokenRefreshInterval { get; init; } = TimeSpan.FromHours(1);

    /// <summary>Largest single WebSocket message accepted; a larger one is dropped (and its call rejected) without closing the socket.</summary>
    public int MaxFrameBytes { get; init; } = 16 * 1024 * 1024;

    /// <summary>Largest message reassembled from chunks (<c>message_cache</c>).</summary>
    public long MaxChunkedMessageBytes { get; init; } = 256L * 1024 * 1024;

    /// <summary>Chunked messages being assembled at once, over all callers.</summary>
    public int MaxPendingChunkedMessages { get; init; } = 64;

    /// <summary>A chunked message not completed within this time is discarded.</summary>
    public TimeSpan ChunkedMessageTimeout { get; init; } = TimeSpan.FromMinutes(2);

    /// <summary>Messages larger than this (plus 1 KiB) are sent in chunks of this size, as hypha_rpc does.</summary>
    public int ChunkSize { get; init; } = 256 * 1024;

    /// <summary>How results that are not plain values (records, objects) are shaped before msgpack encoding.</summary>
    public JsonSerializerOptions? ResultJsonOptions { get; init; }

    /// <summary>The WebSocket URI derived from <see cref="ServerUrl"/>.</summary>
    public Uri WebSocketUri => ToWebSocketUri(ServerUrl);

    /// <summary>Throws <see cref="ArgumentException"/> naming the first invalid setting.</summary>
    public void Validate()
    {
        _ = ToWebSocketUri(ServerUrl);
        if (Workspace is not null)
        {
            Require(Workspace.Length > 0 && Workspace.IndexOfAny(['/', ':', '@', ' ', '*']) < 0, nameof(Workspace), "must be a workspace id without '/', ':', '@', '*' or spaces");
        }

        Require(!string.IsNullOrWhiteSpace(ClientId) && ClientId.IndexOfAny(['/', ':', '@', ' ', '*']) < 0, nameof(ClientId), "must be non-empty, without '/', ':', '@', '*' or spaces");
        Positive(ConnectTimeout, nameof(ConnectTimeout));
        Positive(CallTimeout, nameof(CallTimeout));
        Positive(KeepaliveInterval, nameof(KeepaliveInterval));
        Require(DeadSocketTimeout > KeepaliveInterval, nameof(DeadSocketTimeout), "must be longer than KeepaliveInterval");
        Positive(ReconnectInitialDelay, nameof(ReconnectInitialDelay));
        Require(ReconnectMaxDelay >= ReconnectInitialDelay, nameof(ReconnectMaxDelay), "must be at least ReconnectInitialDelay");
        Positive(HeartbeatMaxInterval, nameof(HeartbeatMaxInterval));
        Positive(SendTimeout, nameof(SendTimeout));
        Positive(StopTimeout, nameof(StopTimeout));
        Positive(ReconnectionTokenRefreshInterval, nameof(ReconnectionTokenRefreshInterval));
        Positive(ChunkedMessageTimeout, nameof(ChunkedMessageTimeout));
        Require(ChunkSize >= 1024, nameof(ChunkSize), "must be at least 1024 bytes");
        Require(MaxFrameBytes >= ChunkSize + 64 * 1024, nameof(MaxFrameBytes), "must exceed ChunkSize by at least 64 KiB (a chunk and its envelope must fit)");
        Require(MaxChunkedMessageBytes >= MaxFrameBytes, nameof(MaxChunkedMessageBytes), "must be at least MaxFrameBytes");
        Require(MaxPendingChunkedMessages >= 1, nameof(MaxPendingChunkedMessages), "must be at least 1");
    }

    /// <summary>http → ws, https → wss, ws/wss kept; the path gains <c>/ws</c> unless it ends with it. No query or fragment.</summary>
    public static Uri ToWebSocketUri(string? serverUrl)
    {
        const string field = nameof(ServerUrl);
        Require(!string.IsNullOrWhiteSpace(serverUrl), field, "is required");
        Require(Uri.TryCreate(serverUrl, UriKind.Absolute, out var uri), field, $"'{serverUrl}' is not an absolute URL");
        var scheme = uri!.Scheme switch
        {
            "http" or "ws" => "ws",
            "https" or "wss" => "wss",
            _ => throw new ArgumentException($"HyphaRpcOptions.{field}: scheme '{uri.Scheme}' is not http, https, ws or wss"),
        };
        Require(string.IsNullOrEmpty(uri.Query) && string.IsNullOrEmpty(uri.Fragment), field, "must not have a query or fragment (Hypha refuses query parameters on /ws)");
        Require(string.IsNullOrEmpty(uri.UserInfo), field, "must not carry credentials");
        var path = uri.AbsolutePath.TrimEnd('/');
        if (!path.EndsWith("/ws", StringComparison.Ordinal))
        {
            path += "/ws";
        }

        return new UriBuilder(uri) { Scheme = scheme, Path = path, Port = uri.IsDefaultPort ? -1 : uri.Port }.Uri;
    }

    private static void Positive(TimeSpan value, string field) => Require(value > TimeSpan.Zero, field, "must be positive");

    private static void Require(bool condition, string field, string rule)
    {
        if (!condition)
        {
            throw new ArgumentException($"HyphaRpcOptions.{field} {rule}");
        }
    }
}
