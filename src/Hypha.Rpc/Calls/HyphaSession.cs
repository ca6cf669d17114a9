using System.Diagnostics;
using System.Net.WebSockets;
using System.Text.Json;
using Hypha.Rpc.Protocol;
using Hypha.Rpc.Transport;
using Microsoft.Extensions.Logging;

namespace Hypha.Rpc.Calls;

/// <summary>Runs the calls that arrive on a session (the client's services and built-in).</summary>
internal interface IIncomingCallHandler
{
    Task HandleAsync(IncomingCall call, CancellationToken cancellationToken);
}

/// <summary>
/// One authenticated connection and the RPC on it: a reader that never waits for handlers, this client's calls
/// and their answers, answers to incoming calls (chunked when large), keepalive and the reconnection token.
/// It ends when the socket does; the client then opens a new session.
/// </summary>
internal sealed class HyphaSession : IAsyncDisposable
{
    private const string MessageCachePrefix = "services.built-in.message_cache.";
    private static readonly string PingFrame = """{"type":"ping"}""";
    private static readonly string RefreshTokenFrame = """{"type":"refresh_token"}""";

    private readonly HyphaSocket socket;
    private readonly HyphaRpcOptions options;
    private readonly IIncomingCallHandler? handler;
    private readonly ILogger logger;
    private readonly PendingCalls pending = new();
    private readonly CancellationTokenSource lifetime = new();
    private readonly TaskCompletionSource<string> closed = new(TaskCreationOptions.RunContinuationsAsynchronously);
    private readonly Lock tokenLock = new();
    private long lastReceived = Stopwatch.GetTimestamp();
    private string? reconnectionToken;
    private DateTimeOffset? reconnectionTokenExpiresAt;
    private Task readLoop = Task.CompletedTask;
    private Task keepaliveLoop = Task.CompletedTask;

    private HyphaSession(HyphaSocket socket, ConnectionInfo info, HyphaRpcOptions options, IIncomingCallHandler? handler, ILogger logger)
    {
        this.socket = socket;
        this.options = options;
        this.handler = handler;
        this.logger = logger;
        Info = info;
        MessageCache = new MessageCache(options.MaxChunkedMessageBytes, options.MaxPendingChunkedMessages, options.ChunkedMessageTimeout);
        StoreReconnectionToken(info.ReconnectionToken, info.ReconnectionTokenLifetime);
    }

    /// <summary>Broadcast events (binary messages whose type is not <c>method</c>), e.g. <c>service_added</c>.</summary>
    public event Action<RpcMessage>? EventReceived;

    public ConnectionInfo Info { get; }

    /// <summary>This client's address, <c>WORKSPACE/CLIENT_ID</c>.</summary>
    public string Address => $"{Info.Workspace}/{Info.ClientId}";

    public string ManagerTarget => "*/" + Info.ManagerId;

    public MessageCache MessageCache { get; }

    /// <summary>Cancelled when the session ends.</summary>
    public CancellationToken Lifetime => lifetime.Token;

    /// <summary>Completes with the reason when the connection is gone.</summary>
    public Task<string> Closed => closed.Task;

    /// <summary>The latest reconnection token Hypha gave this session, with its expiry.</summary>
    public (string? Token, DateTimeOffset? ExpiresAt) ReconnectionToken
    {
        get
        {
            lock (tokenLock)
            {
                return (reconnectionToken, reconnectionTokenExpiresAt);
            }
        }
    }

    public static async Task<HyphaSession> ConnectAsync(
        HyphaRpcOptions options, HandshakeRequest handshake, IIncomingCallHandler? handler, ILogger logger, CancellationToken cancellationToken)
    {
        var (socket, info) = await HyphaSocket.ConnectAsync(options.WebSocketUri, handshake, options.ConnectTimeout, options.SendTimeout, cancellationToken);
        var session = new HyphaSession(socket, info, options, handler, logger);
        session.readLoop = Task.Run(session.ReadLoopAsync, CancellationToken.None);
        session.keepaliveLoop = Task.Run(session.KeepaliveLoopAsync, CancellationToken.None);
        return session;
    }

    /// <summary>Calls <paramref name="method"/> on <paramref name="target"/> and waits for its answer; heartbeats from the target extend the timeout.</summary>
    public async Task<object?> CallAsync(
        string target, string method, IReadOnlyList<object?>? args, IReadOnlyDictionary<string, object?>? kwargs, TimeSpan? timeout, CancellationToken cancellationToken) =>
        await CallCoreAsync(target, method, args, kwargs, timeout, allowChunking: true, cancellationToken);

    /// <summary>Answers a call: <paramref name="value"/> as the single argument of <paramref name="method"/> on <paramref name="target"/>.</summary>
    public Task SendAnswerAsync(string target, string method, object? value, string? callerSession, CancellationToken cancellationToken) =>
        SendMessageAsync(Main(target, method), new Dictionary<string, object?>(StringComparer.Ordinal) { ["args"] = new object?[] { value } }, callerSession, allowChunking: true, cancellationToken);

    /// <summary>A call that wants no answer (heartbeats).</summary>
    public Task SendNotificationAsync(string target, string method, CancellationToken cancellationToken) =>
        SendMessageAsync(Main(target, method), null, null, allowChunking: false, cancellationToken);

    /// <summary>A chunk of an answer to our call arrived (<c>heartbeat: true</c>): the call is alive.</summary>
    public void TouchPendingCall(string session) => pending.Touch(session);

    /// <summary>Dispatches a message reassembled from chunks; its routing fields come from the <c>process</c> call's stamped context.</summary>
    public void DispatchReassembled(byte[] package, IReadOnlyDictionary<string, object?> trustedContext)
    {
        var fields = RpcFrames.Decode(package);
        foreach (var key in new[] { "from", "to", "ws", "user" })
        {
            fields[key] = trustedContext.GetValueOrDefault(key);
        }

        Dispatch(new RpcMessage(fields));
    }

    /// <summary>Closes politely: Hypha removes this client and its services when the socket closes.</summary>
    public async Task CloseAsync(string reason)
    {
        await socket.CloseOutputAsync(reason, TimeSpan.FromSeconds(5));
        if (await Task.WhenAny(readLoop, Task.Delay(TimeSpan.FromSeconds(5))) != readLoop)
        {
            socket.Abort();
        }

        await DisposeAsync();
    }

    /// <summary>Drops the connection at once, as a network failure would.</summary>
    public void Abort() => socket.Abort();

    public async ValueTask DisposeAsync()
    {
        socket.Abort();
        await readLoop;
        await keepaliveLoop;
        await socket.DisposeAsync();
    }

    public override string ToString() => $"HyphaSession({Address})";

    private async Task<object?> CallCoreAsync(
        string target, string method, IReadOnlyList<object?>? args, IReadOnlyDictionary<string, object?>? kwargs, TimeSpan? timeout, bool allowChunking, CancellationToken cancellationToken)
    {
        if (lifetime.IsCancellationRequested)
        {
            throw new HyphaConnectionException($"the connection to Hypha is closed; {method} was not sent");
        }

        target = Absolute(target);
        var wait = timeout ?? options.CallTimeout;
        var sessionId = PendingCalls.NewSessionId();
        var call = pending.Add(sessionId, target, method, wait);
        try
        {
            var arguments = new List<object?>(args ?? []);
            var extra = new Dictionary<string, object?>(StringComparer.Ordinal) { ["promise"] = "*", ["t"] = wait.TotalSeconds / 2 };
            if (kwargs is { Count: > 0 })
            {
                arguments.Add(kwargs);
                extra["with_kwargs"] = true;
            }

            extra["args"] = arguments;
            var main = Main(target, method);
            main["session"] = sessionId;
            using var linked = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken, lifetime.Token);
            await SendMessageAsync(main, extra, null, allowChunking, linked.Token);
            call.Touch(); // the timeout runs from the moment the whole message is out, as in hypha_rpc
            return await call.WaitAsync(linked.Token);
        }
        catch (OperationCanceledException) when (lifetime.IsCancellationRequested && !cancellationToken.IsCancellationRequested)
        {
            throw new HyphaConnectionException($"the connection to Hypha closed while {method} waited for its answer");
        }
        finally
        {
            pending.Remove(sessionId);
        }
    }

    private Dictionary<string, object?> Main(string target, string method) => new(StringComparer.Ordinal)
    {
        ["type"] = "method",
        ["from"] = Address,
        ["to"] = Absolute(target),
        ["method"] = method,
    };

    private string Absolute(string target) => target.Contains('/', StringComparison.Ordinal) ? target : $"{Info.Workspace}/{target}";

    private async Task SendMessageAsync(
        Dictionary<string, object?> main, Dictionary<string, object?>? extra, string? callerSession, bool allowChunking, CancellationToken cancellationToken)
    {
        var frame = RpcFrames.Encode(main, extra, options.ResultJsonOptions);
        if (!allowChunking || frame.Length <= options.ChunkSize + 1024)
        {
            await socket.SendBinaryAsync(frame, cancellationToken);
            return;
        }

        await SendChunkedAsync(frame, (string)main["to"]!, callerSession, cancellationToken);
    }

    /// <summary>
    /// Sends a large message through the receiver's <c>message_cache</c>, as hypha_rpc does: <c>create</c>,
    /// <c>append</c> per chunk, <c>process</c>. An answer uses the caller's session as key with
    /// <c>heartbeat: true</c>, so every chunk also resets the caller's timer.
    /// </summary>
    private async Task SendChunkedAsync(byte[] package, string target, string? callerSession, CancellationToken cancellationToken)
    {
        var key = callerSession ?? PendingCalls.NewSessionId();
        var heartbeat = callerSession is not null;
        var started = Stopwatch.GetTimestamp();
        await CallCoreAsync(target, MessageCachePrefix + "create", [key, heartbeat], null, null, allowChunking: false, cancellationToken);
        try
        {
            for (var offset = 0; offset < package.Length; offset += options.ChunkSize)
            {
                var chunk = package.AsSpan(offset, Math.Min(options.ChunkSize, package.Length - offset)).ToArray();
                await CallCoreAsync(target, MessageCachePrefix + "append", [key, chunk, heartbeat], null, null, allowChunking: false, cancellationToken);
            }

            await CallCoreAsync(target, MessageCachePrefix + "process", [key, heartbeat], null, null, allowChunking: false, cancellationToken);
        }
        catch (Exception) when (!lifetime.IsCancellationRequested)
        {
            try
            {
                await CallCoreAsync(target, MessageCachePrefix + "remove", [key], null, TimeSpan.FromSeconds(5), allowChunking: false, CancellationToken.None);
            }
            catch (Exception cleanup) when (cleanup is HyphaRemoteException or HyphaConnectionException or TimeoutException)
            {
                logger.LogDebug("Removing the unfinished chunked message on {Target} failed: {Error}", target, cleanup.Message);
            }

            throw;
        }

        logger.LogDebug("Sent a {Bytes} byte message to {Target} in {Chunks} chunks in {Milliseconds} ms",
            package.Length, target, (package.Length + options.ChunkSize - 1) / options.ChunkSize, Stopwatch.GetElapsedTime(started).TotalMilliseconds);
    }

    private async Task ReadLoopAsync()
    {
        var reason = "closed";
        try
        {
            while (true)
            {
                var frame = await socket.ReceiveAsync(options.MaxFrameBytes, CancellationToken.None);
                Volatile.Write(ref lastReceived, Stopwatch.GetTimestamp());
                if (frame.Kind == FrameKind.Close)
                {
                    reason = $"Hypha closed the socket ({frame.CloseStatus} {frame.CloseDescription})";
                    break;
                }

                if (frame.Kind == FrameKind.Text)
                {
                    HandleControlFrame(frame);
                }
                else
                {
                    HandleBinaryFrame(frame);
                }
            }
        }
        catch (Exception ex) when (ex is WebSocketException or IOException or OperationCanceledException or ObjectDisposedException or InvalidOperationException)
        {
            reason = $"the socket failed ({ex.GetType().Name}: {ex.Message})";
        }
        finally
        {
            pending.FailAll(new HyphaConnectionException($"the connection to Hypha closed: {reason}"));
            MessageCache.Clear();
            await lifetime.CancelAsync();
            closed.TrySetResult(reason);
        }
    }

    private void HandleControlFrame(ReceivedFrame frame)
    {
        string? type;
        JsonElement root;
        try
        {
            using var document = JsonDocument.Parse(frame.Data);
            root = document.RootElement.Clone();
            type = root.ValueKind == JsonValueKind.Object && root.TryGetProperty("type", out var t) ? t.GetString() : null;
        }
        catch (JsonException)
        {
            logger.LogWarning("Ignored a {Bytes} byte text frame that is not JSON", frame.TotalBytes);
            return;
        }

        switch (type)
        {
            case "pong":
                break;
            case "reconnection_token":
                StoreReconnectionToken(root.TryGetProperty("reconnection_token", out var rt) ? rt.GetString() : null, Info.ReconnectionTokenLifetime);
                logger.LogDebug("Hypha renewed the reconnection token of {Address}", Address);
                break;
            case "error":
                logger.LogWarning("Hypha reported an error on {Address}: {Message}",
                    Address, root.TryGetProperty("message", out var m) ? m.GetString() : null);
                break;
            default:
                logger.LogDebug("Ignored a control frame of type {Type}", type);
                break;
        }
    }

    private void HandleBinaryFrame(ReceivedFrame frame)
    {
        if (frame.Oversized)
        {
            RefuseFrame(frame, $"message too large: {frame.TotalBytes} bytes, limit {options.MaxFrameBytes}");
            return;
        }

        Dictionary<string, object?> fields;
        try
        {
            fields = RpcFrames.Decode(frame.Data);
        }
        catch (MalformedFrameException ex)
        {
            RefuseFrame(frame, "malformed message: " + ex.Message);
            return;
        }

        Dispatch(new RpcMessage(fields));
    }

    /// <summary>
    /// A frame that cannot be handled closes nothing but its own call: reject it when its routing map can still be
    /// read and the caller waits, fail our own call when it was an answer to one, log it without its payload.
    /// </summary>
    private void RefuseFrame(ReceivedFrame frame, string problem)
    {
        var main = RpcFrames.TryDecodeMain(frame.Data);
        var message = main is null ? null : new RpcMessage(main);
        logger.LogWarning("Dropped a {Bytes} byte message ({Method} from {From}): {Problem}",
            frame.TotalBytes, message?.Method ?? "unreadable", message?.From ?? "unknown", problem);
        if (message?.Method is not { } method || message.From is not { } from)
        {
            return;
        }

        if (AnswerParts(method) is var (session, _) && pending.TryGet(session, out var call) && call.Target == from)
        {
            call.Completion.TrySetException(new HyphaConnectionException($"the answer to {call.Method} could not be read: {problem}"));
            return;
        }

        if (message.Session is { } callerSession)
        {
            _ = Task.Run(async () =>
            {
                try
                {
                    await SendAnswerAsync(from, callerSession + ".reject", IncomingCall.ErrorValue("ValueError: " + problem), null, lifetime.Token);
                }
                catch (Exception ex) when (ex is HyphaConnectionException or OperationCanceledException)
                {
                    logger.LogDebug("Could not reject the dropped message: {Error}", ex.Message);
                }
            });
        }
    }

    private void Dispatch(RpcMessage message)
    {
        if (message.Type != "method")
        {
            try
            {
                EventReceived?.Invoke(message);
            }
            catch (Exception ex)
            {
                logger.LogError(ex, "An event handler for {Type} failed", message.Type);
            }

            return;
        }

        if (message.Method is not { } method)
        {
            logger.LogWarning("Ignored a method message without a method from {From}", message.From);
            return;
        }

        if (AnswerParts(method) is var (session, kind))
        {
            HandleAnswer(session, kind, message);
            return;
        }

        var call = new IncomingCall(message, this);
        if (call.IgnoredPromise)
        {
            logger.LogWarning("The call {Method} from {From} asked for answers at another address; it gets none", method, message.From);
        }

        _ = Task.Run(() => RunIncomingAsync(call));
    }

    /// <summary><c>SESSION.resolve|reject|heartbeat</c>: an answer to one of this client's calls.</summary>
    private static (string Session, string Kind)? AnswerParts(string method)
    {
        var dot = method.IndexOf('.', StringComparison.Ordinal);
        if (dot <= 0 || method.IndexOf('.', dot + 1) >= 0)
        {
            return null;
        }

        var kind = method[(dot + 1)..];
        return kind is "resolve" or "reject" or "heartbeat" ? (method[..dot], kind) : null;
    }

    private void HandleAnswer(string session, string kind, RpcMessage message)
    {
        if (!pending.TryGet(session, out var call))
        {
            logger.LogDebug("Ignored {Kind} for a call that is no longer waiting", kind);
            return;
        }

        if (message.From != call.Target)
        {
            logger.LogWarning("Ignored {Kind} for {Method} from {From}: the call went to {Target}", kind, call.Method, message.From, call.Target);
            return;
        }

        var args = message.Args;
        switch (kind)
        {
            case "heartbeat":
                call.Touch();
                break;
            case "resolve":
                call.Completion.TrySetResult(args.Count > 0 ? args[0] : null);
                break;
            default:
                call.Completion.TrySetException(new HyphaRemoteException(call.Method, RemoteErrorText(args)));
                break;
        }
    }

    private static string RemoteErrorText(IReadOnlyList<object?> args) => args.Count == 0 ? "rejected" : args[0] switch
    {
        IReadOnlyDictionary<string, object?> error when error.GetValueOrDefault("_rvalue") is string text => text,
        string text => text,
        _ => "rejected",
    };

    private async Task RunIncomingAsync(IncomingCall call)
    {
        try
        {
            if (handler is null)
            {
                await call.RejectAsync($"Method not found: {call.Message.Method} at {Address}", lifetime.Token);
                return;
            }

            await handler.HandleAsync(call, lifetime.Token);
        }
        catch (Exception ex) when (ex is HyphaConnectionException or OperationCanceledException)
        {
            logger.LogDebug("Could not answer {Method}: {Error}", call.Message.Method, ex.Message);
        }
        catch (Exception ex)
        {
            logger.LogError(ex, "Handling {Method} from {From} failed", call.Message.Method, call.Message.From);
        }
    }

    private async Task KeepaliveLoopAsync()
    {
        var lastRefresh = Stopwatch.GetTimestamp();
        try
        {
            while (!lifetime.IsCancellationRequested)
            {
                await Task.Delay(options.KeepaliveInterval, lifetime.Token);
                var silence = Stopwatch.GetElapsedTime(Volatile.Read(ref lastReceived));
                if (silence > options.DeadSocketTimeout)
                {
                    logger.LogWarning("No frame from Hypha for {Seconds:0} s on {Address}: dropping the socket", silence.TotalSeconds, Address);
                    socket.Abort();
                    return;
                }

                await socket.SendTextAsync(PingFrame, lifetime.Token);
                if (Stopwatch.GetElapsedTime(lastRefresh) >= RefreshInterval())
                {
                    await socket.SendTextAsync(RefreshTokenFrame, lifetime.Token);
                    lastRefresh = Stopwatch.GetTimestamp();
                }
            }
        }
        catch (OperationCanceledException)
        {
            // The session ended.
        }
        catch (HyphaConnectionException ex)
        {
            logger.LogDebug("Keepalive stopped on {Address}: {Error}", Address, ex.Message);
            socket.Abort();
        }
    }

    private TimeSpan RefreshInterval() =>
        Info.ReconnectionTokenLifetime is { } life && life / 2 < options.ReconnectionTokenRefreshInterval ? life / 2 : options.ReconnectionTokenRefreshInterval;

    private void StoreReconnectionToken(string? token, TimeSpan? lifetimeSpan)
    {
        if (string.IsNullOrEmpty(token))
        {
            return;
        }

        lock (tokenLock)
        {
            reconnectionToken = token;
            reconnectionTokenExpiresAt = Tokens.HyphaToken.JwtExpiry(token) ?? (lifetimeSpan is { } l ? DateTimeOffset.UtcNow + l : null);
        }
    }
}
