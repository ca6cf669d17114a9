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
/// One authenticated connection and the RPC on it, put together from its parts: the <see cref="FrameReader"/>, the
/// <see cref="RpcSender"/> with its <see cref="PendingCalls"/>, the <see cref="MessageRouter"/>, the
/// <see cref="ControlFrames"/> and the <see cref="Keepalive"/>. This class owns their lifetime: it ends when the
/// socket does, failing every waiting call; the client then opens a new session.
/// </summary>
internal sealed class HyphaSession : IAsyncDisposable
{
    private readonly HyphaSocket socket;
    private readonly CancellationTokenSource lifetime = new();
    private readonly TaskCompletionSource<string> closed = new(TaskCreationOptions.RunContinuationsAsynchronously);
    private readonly PendingCalls pending;
    private readonly RpcSender sender;
    private readonly MessageRouter router;
    private readonly ControlFrames control;
    private readonly Keepalive keepalive;
    private readonly FrameReader reader;
    private Task readLoop = Task.CompletedTask;
    private Task keepaliveLoop = Task.CompletedTask;

    private HyphaSession(HyphaSocket socket, ConnectionInfo info, HyphaRpcOptions options, IIncomingCallHandler? handler, ILogger logger)
    {
        this.socket = socket;
        Info = info;
        MessageCache = new MessageCache(options.MaxChunkedMessageBytes, options.MaxPendingChunkedMessages, options.ChunkedMessageTimeout);
        pending = new PendingCalls(logger);
        sender = new RpcSender(socket, info, options, pending, logger, lifetime.Token);
        router = new MessageRouter(this, sender, pending, handler, logger);
        control = new ControlFrames(info, logger);
        keepalive = new Keepalive(socket, info, options, logger);
        reader = new FrameReader(socket, options.MaxFrameBytes, control, router, keepalive);
    }

    /// <summary>Broadcast events (binary messages whose type is not <c>method</c>), e.g. <c>service_added</c>.</summary>
    public event Action<RpcMessage>? EventReceived
    {
        add => router.EventReceived += value;
        remove => router.EventReceived -= value;
    }

    public ConnectionInfo Info { get; }

    /// <summary>This client's address, <c>WORKSPACE/CLIENT_ID</c>.</summary>
    public string Address => Info.Address;

    public string ManagerTarget => Info.ManagerTarget;

    public MessageCache MessageCache { get; }

    /// <summary>Cancelled when the session ends.</summary>
    public CancellationToken Lifetime => lifetime.Token;

    /// <summary>Completes with the reason when the connection is gone.</summary>
    public Task<string> Closed => closed.Task;

    /// <summary>The latest reconnection token Hypha gave this session, with its expiry.</summary>
    public (string? Token, DateTimeOffset? ExpiresAt) ReconnectionToken => control.ReconnectionToken;

    public static async Task<HyphaSession> ConnectAsync(
        HyphaRpcOptions options, HandshakeRequest handshake, IIncomingCallHandler? handler, ILogger logger, CancellationToken cancellationToken)
    {
        var (socket, info) = await HyphaSocket.ConnectAsync(options.WebSocketUri, handshake, options.ConnectTimeout, options.SendTimeout, cancellationToken);
        var session = new HyphaSession(socket, info, options, handler, logger);
        session.readLoop = Task.Run(session.ReadLoopAsync, CancellationToken.None);
        session.keepaliveLoop = Task.Run(() => session.keepalive.RunAsync(session.lifetime.Token), CancellationToken.None);
        return session;
    }

    /// <inheritdoc cref="RpcSender.CallAsync"/>
    public Task<object?> CallAsync(
        string target, string method, IReadOnlyList<object?>? args, IReadOnlyDictionary<string, object?>? kwargs, TimeSpan? timeout, CancellationToken cancellationToken) =>
        sender.CallAsync(target, method, args, kwargs, timeout, cancellationToken);

    /// <inheritdoc cref="RpcSender.SendAnswerAsync"/>
    public Task SendAnswerAsync(string target, string method, object? value, string? callerSession, CancellationToken cancellationToken) =>
        sender.SendAnswerAsync(target, method, value, callerSession, cancellationToken);

    /// <inheritdoc cref="RpcSender.SendNotificationAsync"/>
    public Task SendNotificationAsync(string target, string method, CancellationToken cancellationToken) =>
        sender.SendNotificationAsync(target, method, cancellationToken);

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

        router.Dispatch(new RpcMessage(fields));
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

    private async Task ReadLoopAsync()
    {
        var reason = "closed";
        try
        {
            reason = await reader.ReadUntilClosedAsync();
        }
        finally
        {
            pending.FailAll(new HyphaConnectionException($"the connection to Hypha closed: {reason}"));
            MessageCache.Clear();
            await lifetime.CancelAsync();
            closed.TrySetResult(reason);
        }
    }
}
