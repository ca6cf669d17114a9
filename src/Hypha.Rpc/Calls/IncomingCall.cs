using Hypha.Rpc.Protocol;
using Hypha.Rpc.Services;

namespace Hypha.Rpc.Calls;

/// <summary>
/// A method call that arrived, and how to answer it. The caller chooses the answer's address: <c>promise: "*"</c>
/// means <c>SESSION.resolve|reject|heartbeat</c> on the caller; the long form names the callbacks. A call without
/// <c>session</c> (or without a promise) wants no answer. Answers go only back to the caller: a promise that points
/// anywhere else is ignored, so no caller can make this client call a third party.
/// </summary>
internal sealed class IncomingCall
{
    private readonly HyphaSession session;
    private readonly Callback? resolve;
    private readonly Callback? reject;
    private readonly Callback? heartbeat;

    public IncomingCall(RpcMessage message, HyphaSession session)
    {
        Message = message;
        this.session = session;
        var from = message.From;
        if (message.Session is not { } sessionId || from is null || message.Promise is null)
        {
            return;
        }

        if (message.Promise is "*")
        {
            resolve = new Callback(from, sessionId + ".resolve");
            reject = new Callback(from, sessionId + ".reject");
            heartbeat = new Callback(from, sessionId + ".heartbeat");
            HeartbeatSeconds = message.HeartbeatSeconds;
        }
        else if (message.Promise is IReadOnlyDictionary<string, object?> promise)
        {
            resolve = Callback.From(promise.GetValueOrDefault("resolve"), from);
            reject = Callback.From(promise.GetValueOrDefault("reject"), from);
            if (RpcMessage.Number(promise.GetValueOrDefault("interval")) is { } interval)
            {
                heartbeat = Callback.From(promise.GetValueOrDefault("heartbeat"), from);
                HeartbeatSeconds = interval;
            }
        }

        IgnoredPromise = message.Promise is not "*" && (resolve is null || reject is null);
    }

    public RpcMessage Message { get; }

    /// <summary>The session the call arrived on (its address, its message cache).</summary>
    public HyphaSession Session => session;

    /// <summary>The caller waits for an answer.</summary>
    public bool WantsAnswer => resolve is not null && reject is not null;

    /// <summary>The call carried a long-form promise this client refused to follow (it did not point back at the caller).</summary>
    public bool IgnoredPromise { get; }

    public bool WantsHeartbeats => heartbeat is not null;

    /// <summary>The caller's heartbeat period (<c>t</c> or the promise's <c>interval</c>), seconds.</summary>
    public double? HeartbeatSeconds { get; }

    /// <summary>The context Hypha stamped on the message (ws, from, to, user).</summary>
    public HyphaCallContext Context
    {
        get
        {
            var raw = new Dictionary<string, object?>(StringComparer.Ordinal)
            {
                ["ws"] = Message.Fields.GetValueOrDefault("ws"),
                ["from"] = Message.From,
                ["to"] = Message.To,
                ["user"] = Message.Fields.GetValueOrDefault("user"),
            };
            return new HyphaCallContext(Message.Ws, Message.From, Message.To, HyphaUser.FromValue(raw["user"]), raw);
        }
    }

    /// <summary>Where the answers go (target, method); null when the caller wants none.</summary>
    internal (string Target, string Method)? ResolveAddress => resolve is null ? null : (resolve.Target, resolve.Method);

    internal (string Target, string Method)? RejectAddress => reject is null ? null : (reject.Target, reject.Method);

    internal (string Target, string Method)? HeartbeatAddress => heartbeat is null ? null : (heartbeat.Target, heartbeat.Method);

    public Task ResolveAsync(object? value, CancellationToken cancellationToken) =>
        resolve is null ? Task.CompletedTask : session.SendAnswerAsync(resolve.Target, resolve.Method, value, Message.Session, cancellationToken);

    /// <summary>Rejects with Hypha's error shape; <paramref name="error"/> is what the caller sees (<c>Type: message</c>).</summary>
    public Task RejectAsync(string error, CancellationToken cancellationToken) =>
        reject is null
            ? Task.CompletedTask
            : session.SendAnswerAsync(reject.Target, reject.Method, ErrorValue(error), Message.Session, cancellationToken);

    public Task HeartbeatAsync(CancellationToken cancellationToken) =>
        heartbeat is null ? Task.CompletedTask : session.SendNotificationAsync(heartbeat.Target, heartbeat.Method, cancellationToken);

    public static Dictionary<string, object?> ErrorValue(string error) => new(StringComparer.Ordinal)
    {
        ["_rtype"] = "error",
        ["_rvalue"] = error,
        ["_rtrace"] = "",
    };

    /// <summary>An answer's address: a target client and the method to call there.</summary>
    private sealed record Callback(string Target, string Method)
    {
        /// <summary>Reads a <c>{_rtype: "method", _rtarget, _rmethod}</c> descriptor; null unless it points back at <paramref name="caller"/>.</summary>
        public static Callback? From(object? descriptor, string caller)
        {
            if (descriptor is not IReadOnlyDictionary<string, object?> map
                || map.GetValueOrDefault("_rtarget") is not string target
                || map.GetValueOrDefault("_rmethod") is not string method
                || method.Length == 0)
            {
                return null;
            }

            if (!target.Contains('/', StringComparison.Ordinal))
            {
                // A target without a workspace is in the caller's workspace.
                target = caller[..(caller.IndexOf('/', StringComparison.Ordinal) + 1)] + target;
            }

            return target == caller ? new Callback(target, method) : null;
        }
    }
}
