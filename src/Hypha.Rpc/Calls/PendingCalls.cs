using System.Collections.Concurrent;
using System.Security.Cryptography;
using Hypha.Rpc.Protocol;
using Microsoft.Extensions.Logging;

namespace Hypha.Rpc.Calls;

/// <summary>
/// This client's own calls that wait for <c>SESSION.resolve</c> / <c>SESSION.reject</c>, and the answers that complete
/// them. A <c>SESSION.heartbeat</c> (or a chunk of the answer) moves the call's deadline forward by its timeout. An
/// answer counts only when it comes from the client the call went to.
/// </summary>
internal sealed class PendingCalls(ILogger logger)
{
    private readonly ConcurrentDictionary<string, PendingCall> calls = new(StringComparer.Ordinal);

    public int Count => calls.Count;

    /// <summary>A session id: random, without dots (the answer's method is <c>SESSION.resolve</c>).</summary>
    public static string NewSessionId() => Convert.ToHexStringLower(RandomNumberGenerator.GetBytes(12));

    /// <summary><c>SESSION.resolve|reject|heartbeat</c>: the method of an answer to one of this client's calls.</summary>
    public static (string Session, string Kind)? AnswerParts(string method)
    {
        var dot = method.IndexOf('.', StringComparison.Ordinal);
        if (dot <= 0 || method.IndexOf('.', dot + 1) >= 0)
        {
            return null;
        }

        var kind = method[(dot + 1)..];
        return kind is "resolve" or "reject" or "heartbeat" ? (method[..dot], kind) : null;
    }

    public PendingCall Add(string session, string target, string method, TimeSpan timeout)
    {
        var call = new PendingCall(target, method, timeout);
        if (!calls.TryAdd(session, call))
        {
            throw new InvalidOperationException("session id collision");
        }

        return call;
    }

    public bool TryGet(string session, out PendingCall call) => calls.TryGetValue(session, out call!);

    public void Remove(string session) => calls.TryRemove(session, out _);

    /// <summary>Extends the deadline of the call waiting under <paramref name="session"/>, if any.</summary>
    public bool Touch(string session)
    {
        if (calls.TryGetValue(session, out var call))
        {
            call.Touch();
            return true;
        }

        return false;
    }

    /// <summary>An answer (<paramref name="kind"/> from <see cref="AnswerParts"/>) arrived: touch, resolve or reject its call.</summary>
    public void Answer(string session, string kind, RpcMessage message)
    {
        if (!calls.TryGetValue(session, out var call))
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

    /// <summary>
    /// The frame <paramref name="method"/> from <paramref name="from"/> was an answer to one of our calls but could not
    /// be read: that call fails now instead of timing out. False when it was no such answer.
    /// </summary>
    public bool TryFailUnreadableAnswer(string method, string from, string problem)
    {
        if (AnswerParts(method) is not var (session, _) || !calls.TryGetValue(session, out var call) || call.Target != from)
        {
            return false;
        }

        call.Completion.TrySetException(new HyphaConnectionException($"the answer to {call.Method} could not be read: {problem}"));
        return true;
    }

    /// <summary>Fails every waiting call (the connection is gone).</summary>
    public void FailAll(Exception error)
    {
        foreach (var session in calls.Keys)
        {
            if (calls.TryRemove(session, out var call))
            {
                call.Completion.TrySetException(error);
            }
        }
    }

    private static string RemoteErrorText(IReadOnlyList<object?> args) => args.Count == 0 ? "rejected" : args[0] switch
    {
        IReadOnlyDictionary<string, object?> error when error.GetValueOrDefault("_rvalue") is string text => text,
        string text => text,
        _ => "rejected",
    };
}
