using System.Collections.Concurrent;
using System.Diagnostics;
using System.Security.Cryptography;
using Hypha.Rpc.Calls;
using Hypha.Rpc.Protocol;
using Microsoft.Extensions.Logging;

namespace Hypha.Rpc.Services;

/// <summary>
/// Routes incoming calls to the built-in service or to a registered function, runs each handler concurrently with
/// heartbeats, and answers: the value, or a rejection (a <see cref="HyphaCallException"/>'s type and message, or a
/// generic internal error whose details stay in the log).
/// </summary>
internal sealed class ServiceDispatcher(
    ServiceRegistry registry,
    HyphaRpcOptions options,
    ILogger logger,
    Action<HyphaCallCompleted> completed,
    CancellationToken stopping) : IIncomingCallHandler
{
    private readonly BuiltInService builtIn = new(registry);
    private readonly ConcurrentDictionary<long, Task> running = new();
    private long nextCallId;

    public Task HandleAsync(IncomingCall call, CancellationToken cancellationToken)
    {
        var method = call.Message.Method!;
        if (method.StartsWith(BuiltInService.MethodPrefix, StringComparison.Ordinal))
        {
            return AnswerBuiltInAsync(call, cancellationToken);
        }

        if (Resolve(method) is not var (service, function))
        {
            return call.RejectAsync($"Exception: Method not found: {method} at {call.Session.Address}", cancellationToken);
        }

        var id = Interlocked.Increment(ref nextCallId);
        var task = RunFunctionAsync(call, service, function, cancellationToken);
        running[id] = task;
        return task.ContinueWith(_ => running.TryRemove(id, out Task? _), CancellationToken.None, TaskContinuationOptions.ExecuteSynchronously, TaskScheduler.Default);
    }

    /// <summary>Waits (bounded) for the functions still running, so they can answer before the socket closes.</summary>
    public async Task DrainAsync(TimeSpan timeout)
    {
        var tasks = running.Values.ToArray();
        if (tasks.Length > 0)
        {
            await Task.WhenAny(Task.WhenAll(tasks), Task.Delay(timeout));
        }
    }

    /// <summary>A protected service answers only callers in its own workspace (and the workspace manager).</summary>
    public static void CheckVisibility(HyphaServiceDefinition service, IncomingCall call)
    {
        if (service.Visibility != HyphaServiceVisibility.Protected)
        {
            return;
        }

        var from = call.Message.From ?? "";
        var callerWorkspace = from[..Math.Max(0, from.IndexOf('/', StringComparison.Ordinal))];
        if (callerWorkspace != call.Session.Info.Workspace && from != call.Session.ManagerTarget)
        {
            throw new HyphaCallException("PermissionError", $"Permission denied for protected service {service.Id}: the caller's workspace is {callerWorkspace}");
        }
    }

    private (HyphaServiceDefinition Service, HyphaFunction Function)? Resolve(string method)
    {
        // services.SERVICE.FUNCTION; service ids cannot contain '.', only function names can't either.
        var parts = method.Split('.');
        if (parts.Length != 3 || parts[0] != "services" || !registry.TryGet(parts[1], out var service))
        {
            return null;
        }

        var function = service.Functions.FirstOrDefault(f => f.Name == parts[2]);
        return function is null ? null : (service, function);
    }

    private async Task AnswerBuiltInAsync(IncomingCall call, CancellationToken cancellationToken)
    {
        object? value;
        try
        {
            value = builtIn.Invoke(call);
        }
        catch (HyphaCallException ex)
        {
            await call.RejectAsync($"{ex.ErrorType}: {ex.Message}", cancellationToken);
            return;
        }
        catch (MessageCacheException ex)
        {
            logger.LogWarning("message_cache call {Method} from {From} refused: {Problem}", call.Message.Method, call.Message.From, ex.Message);
            await call.RejectAsync("Exception: " + ex.Message, cancellationToken);
            return;
        }

        await call.ResolveAsync(value, cancellationToken);
    }

    private async Task RunFunctionAsync(IncomingCall call, HyphaServiceDefinition service, HyphaFunction function, CancellationToken sessionToken)
    {
        await Task.Yield();
        var started = Stopwatch.GetTimestamp();
        using var cancellation = CancellationTokenSource.CreateLinkedTokenSource(sessionToken, stopping);
        var token = cancellation.Token;
        string? errorType = null;
        try
        {
            object? result;
            try
            {
                CheckVisibility(service, call);
                var (args, kwargs) = Arguments.Split(call.Message);
                var hyphaCall = new HyphaCall(args, kwargs, call.Context);
                result = await HeartbeatPump.RunAsync(call, () => function.Handler(hyphaCall, token), options.HeartbeatMaxInterval, token);
            }
            catch (HyphaCallException ex)
            {
                errorType = ex.ErrorType;
                await TryRejectAsync(call, $"{ex.ErrorType}: {ex.Message}", token);
                return;
            }
            catch (OperationCanceledException) when (token.IsCancellationRequested)
            {
                errorType = "Cancelled";
                await TryRejectAsync(call, $"Cancelled: {function.Name} was cancelled (the client is stopping or lost its connection)", CancellationToken.None);
                return;
            }
            catch (Exception ex)
            {
                errorType = "InternalError";
                await RejectInternalAsync(call, service, function, ex, token);
                return;
            }

            try
            {
                await call.ResolveAsync(result, token);
            }
            catch (Exception ex) when (ex is HyphaConnectionException or OperationCanceledException)
            {
                errorType = "ConnectionClosed";
                logger.LogDebug("{Service}.{Function} could not answer: {Error}", service.Id, function.Name, ex.Message);
            }
            catch (Exception ex)
            {
                // The result could not be encoded (a type msgpack and JSON cannot express, or nesting too deep).
                errorType = "InternalError";
                await RejectInternalAsync(call, service, function, ex, token);
            }
        }
        finally
        {
            Report(new HyphaCallCompleted(service.Id, function.Name, errorType is null ? HyphaCallResult.Ok : HyphaCallResult.Error, errorType, Stopwatch.GetElapsedTime(started)));
        }
    }

    /// <summary>An unexpected failure: the details go to the log under a reference, the caller sees only the reference.</summary>
    private async Task RejectInternalAsync(IncomingCall call, HyphaServiceDefinition service, HyphaFunction function, Exception error, CancellationToken cancellationToken)
    {
        var reference = Convert.ToHexStringLower(RandomNumberGenerator.GetBytes(4));
        logger.LogError(error, "{Service}.{Function} called from {From} failed (reference {Reference})", service.Id, function.Name, call.Message.From, reference);
        await TryRejectAsync(call, $"InternalError: {function.Name} failed (reference {reference})", cancellationToken);
    }

    private async Task TryRejectAsync(IncomingCall call, string error, CancellationToken cancellationToken)
    {
        try
        {
            await call.RejectAsync(error, cancellationToken);
        }
        catch (Exception ex) when (ex is HyphaConnectionException or OperationCanceledException)
        {
            logger.LogDebug("Could not reject {Method}: {Error}", call.Message.Method, ex.Message);
        }
    }

    private void Report(HyphaCallCompleted outcome)
    {
        try
        {
            completed(outcome);
        }
        catch (Exception ex)
        {
            logger.LogError(ex, "The CallCompleted observer failed");
        }
    }
}

/// <summary>Splits a call's <c>args</c>: with <c>with_kwargs</c> the last element is the keyword map.</summary>
internal static class Arguments
{
    private static readonly IReadOnlyDictionary<string, object?> NoKeywords = new Dictionary<string, object?>();

    public static (IReadOnlyList<object?> Positional, IReadOnlyDictionary<string, object?> Keywords) Split(RpcMessage message)
    {
        var args = message.Args;
        if (message.WithKwargs && args.Count > 0 && args[^1] is IReadOnlyDictionary<string, object?> keywords)
        {
            return (args.Take(args.Count - 1).ToList(), keywords);
        }

        return (args, NoKeywords);
    }
}

/// <summary>Sends heartbeats to the caller while a handler runs, so a call longer than the caller's timeout completes.</summary>
internal static class HeartbeatPump
{
    public static async Task<object?> RunAsync(IncomingCall call, Func<Task<object?>> work, TimeSpan maxInterval, CancellationToken cancellationToken)
    {
        var task = work();
        if (!call.WantsHeartbeats)
        {
            return await task;
        }

        var period = Period(call.HeartbeatSeconds, maxInterval);
        while (!task.IsCompleted && !cancellationToken.IsCancellationRequested)
        {
            var delay = Task.Delay(period, cancellationToken);
            if (await Task.WhenAny(task, delay) == task || cancellationToken.IsCancellationRequested)
            {
                break;
            }

            try
            {
                await call.HeartbeatAsync(cancellationToken);
            }
            catch (Exception ex) when (ex is HyphaConnectionException or OperationCanceledException)
            {
                break;
            }
        }

        return await task;
    }

    /// <summary>A third of the caller's <c>t</c>, between 100 ms and <paramref name="maxInterval"/>.</summary>
    public static TimeSpan Period(double? callerSeconds, TimeSpan maxInterval)
    {
        if (callerSeconds is not { } t || t <= 0)
        {
            return maxInterval;
        }

        var third = TimeSpan.FromSeconds(t / 3);
        return third < TimeSpan.FromMilliseconds(100) ? TimeSpan.FromMilliseconds(100) : third > maxInterval ? maxInterval : third;
    }
}
