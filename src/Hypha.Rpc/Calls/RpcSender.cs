using Hypha.Rpc.Protocol;
using Hypha.Rpc.Transport;
using Microsoft.Extensions.Logging;

namespace Hypha.Rpc.Calls;

/// <summary>
/// Everything this client sends on a session as RPC: its own calls (waiting in <see cref="PendingCalls"/> for their
/// answers), answers to incoming calls, and notifications. A message over one chunk goes through the receiver's
/// <c>message_cache</c> (<see cref="ChunkedSender"/>).
/// </summary>
internal sealed class RpcSender
{
    private readonly IFrameSink socket;
    private readonly ConnectionInfo info;
    private readonly HyphaRpcOptions options;
    private readonly PendingCalls pending;
    private readonly ChunkedSender chunks;
    private readonly CancellationToken sessionLifetime;

    public RpcSender(IFrameSink socket, ConnectionInfo info, HyphaRpcOptions options, PendingCalls pending, ILogger logger, CancellationToken sessionLifetime)
    {
        this.socket = socket;
        this.info = info;
        this.options = options;
        this.pending = pending;
        this.sessionLifetime = sessionLifetime;
        chunks = new ChunkedSender(this, options.ChunkSize, logger, sessionLifetime);
    }

    /// <summary>Calls <paramref name="method"/> on <paramref name="target"/> and waits for its answer; heartbeats from the target extend the timeout.</summary>
    public Task<object?> CallAsync(
        string target, string method, IReadOnlyList<object?>? args, IReadOnlyDictionary<string, object?>? kwargs, TimeSpan? timeout, CancellationToken cancellationToken) =>
        CallCoreAsync(target, method, args, kwargs, timeout, allowChunking: true, cancellationToken);

    /// <summary>A call sent whole whatever its size: the steps of a chunked message, which must not be chunked again.</summary>
    public Task<object?> CallUnchunkedAsync(string target, string method, IReadOnlyList<object?> args, TimeSpan? timeout, CancellationToken cancellationToken) =>
        CallCoreAsync(target, method, args, null, timeout, allowChunking: false, cancellationToken);

    /// <summary>Answers a call: <paramref name="value"/> as the single argument of <paramref name="method"/> on <paramref name="target"/>.</summary>
    public Task SendAnswerAsync(string target, string method, object? value, string? callerSession, CancellationToken cancellationToken) =>
        SendMessageAsync(Main(target, method), new Dictionary<string, object?>(StringComparer.Ordinal) { ["args"] = new object?[] { value } }, callerSession, allowChunking: true, cancellationToken);

    /// <summary>A call that wants no answer (heartbeats).</summary>
    public Task SendNotificationAsync(string target, string method, CancellationToken cancellationToken) =>
        SendMessageAsync(Main(target, method), null, null, allowChunking: false, cancellationToken);

    private async Task<object?> CallCoreAsync(
        string target, string method, IReadOnlyList<object?>? args, IReadOnlyDictionary<string, object?>? kwargs, TimeSpan? timeout, bool allowChunking, CancellationToken cancellationToken)
    {
        if (sessionLifetime.IsCancellationRequested)
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
            using var linked = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken, sessionLifetime);
            await SendMessageAsync(main, extra, null, allowChunking, linked.Token);
            call.Touch(); // the timeout runs from the moment the whole message is out, as in hypha_rpc
            return await call.WaitAsync(linked.Token);
        }
        catch (OperationCanceledException) when (sessionLifetime.IsCancellationRequested && !cancellationToken.IsCancellationRequested)
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
        ["from"] = info.Address,
        ["to"] = Absolute(target),
        ["method"] = method,
    };

    private string Absolute(string target) => target.Contains('/', StringComparison.Ordinal) ? target : $"{info.Workspace}/{target}";

    private async Task SendMessageAsync(
        Dictionary<string, object?> main, Dictionary<string, object?>? extra, string? callerSession, bool allowChunking, CancellationToken cancellationToken)
    {
        var frame = RpcFrames.Encode(main, extra, options.ResultJsonOptions);
        if (!allowChunking || frame.Length <= options.ChunkSize + 1024)
        {
            await socket.SendBinaryAsync(frame, cancellationToken);
            return;
        }

        await chunks.SendAsync(frame, (string)main["to"]!, callerSession, cancellationToken);
    }
}
