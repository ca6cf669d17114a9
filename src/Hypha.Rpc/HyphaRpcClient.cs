using System.Collections.Concurrent;
using System.Collections.Immutable;
using Hypha.Rpc.Calls;
using Hypha.Rpc.Protocol;
using Hypha.Rpc.Services;
using Hypha.Rpc.Tokens;
using Hypha.Rpc.Transport;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Logging.Abstractions;

namespace Hypha.Rpc;

/// <summary>
/// A Hypha client that keeps services registered: it connects (token from an <see cref="IHyphaTokenSource"/>),
/// registers <c>built-in</c> and every service, answers their calls concurrently, and after any loss of the
/// connection (socket drop, Hypha restart) reconnects with backoff and registers again. <see cref="Registered"/>
/// fires after each registration; <see cref="IsRegistered"/> says whether one is live now.
/// </summary>
public sealed class HyphaRpcClient : IAsyncDisposable
{
    private readonly IHyphaTokenSource tokenSource;
    private readonly ServiceRegistry registry;
    private readonly ILogger logger;
    private readonly ServiceDispatcher dispatcher;
    private readonly CancellationTokenSource stopRequested = new();
    private readonly CancellationTokenSource hardStop = new();
    private readonly ConcurrentDictionary<string, ImmutableList<Func<HyphaEvent, CancellationToken, Task>>> subscriptions = new(StringComparer.Ordinal);
    private readonly Lock stateLock = new();
    private TaskCompletionSource stateChanged = new(TaskCreationOptions.RunContinuationsAsynchronously);
    private volatile HyphaSession? session;
    private volatile HyphaRegistration? registration;
    private (string? Token, DateTimeOffset? ExpiresAt) reconnectionToken;
    private Task supervisor = Task.CompletedTask;
    private int started;
    private int connections;

    public HyphaRpcClient(HyphaRpcOptions options, IHyphaTokenSource tokenSource, IEnumerable<HyphaServiceDefinition> services, ILogger<HyphaRpcClient>? logger = null)
    {
        ArgumentNullException.ThrowIfNull(options);
        options.Validate();
        Options = options;
        this.tokenSource = tokenSource ?? throw new ArgumentNullException(nameof(tokenSource));
        registry = new ServiceRegistry(services);
        this.logger = logger ?? NullLogger<HyphaRpcClient>.Instance;
        dispatcher = new ServiceDispatcher(registry, options, this.logger, outcome => CallCompleted?.Invoke(outcome), hardStop.Token);
    }

    /// <summary>
    /// After every successful (re)registration, in order, before <see cref="IsRegistered"/> turns true and
    /// <see cref="WaitUntilRegisteredAsync"/> returns; the token ends with that connection. Keep handlers short.
    /// </summary>
    public event Func<HyphaRegistration, CancellationToken, Task>? Registered;

    /// <summary>After every incoming call of a registered function (for metrics).</summary>
    public event Action<HyphaCallCompleted>? CallCompleted;

    public HyphaRpcOptions Options { get; }

    public HyphaClientState State { get; private set; } = HyphaClientState.Created;

    /// <summary>The live registration, or null while connecting or stopped.</summary>
    public HyphaRegistration? Registration => registration;

    /// <summary>True while the services are registered on a live connection (what a readiness probe reports).</summary>
    public bool IsRegistered => registration is not null;

    /// <summary>Why the last connection attempt failed (no secrets), or null after a success.</summary>
    public string? LastError { get; private set; }

    /// <summary>Starts connecting in the background and returns at once (Hypha may be down; the client keeps trying).</summary>
    public Task StartAsync(CancellationToken cancellationToken = default)
    {
        if (Interlocked.Exchange(ref started, 1) == 1)
        {
            throw new InvalidOperationException("the client was already started");
        }

        SetState(HyphaClientState.Connecting);
        supervisor = Task.Run(SuperviseAsync, CancellationToken.None);
        return Task.CompletedTask;
    }

    /// <summary>Waits until the services are registered (now or after the next reconnection).</summary>
    public async Task<HyphaRegistration> WaitUntilRegisteredAsync(CancellationToken cancellationToken)
    {
        while (true)
        {
            Task changed;
            lock (stateLock)
            {
                if (registration is { } live)
                {
                    return live;
                }

                if (State == HyphaClientState.Stopped)
                {
                    throw new InvalidOperationException("the client is stopped");
                }

                changed = stateChanged.Task;
            }

            await changed.WaitAsync(cancellationToken);
        }
    }

    /// <summary>
    /// Unregisters the services (they disappear from Hypha at once), lets running calls answer (bounded by
    /// <see cref="HyphaRpcOptions.StopTimeout"/>), closes the connection, and stops reconnecting.
    /// </summary>
    public async Task StopAsync(CancellationToken cancellationToken = default)
    {
        if (State == HyphaClientState.Stopped)
        {
            return;
        }

        await stopRequested.CancelAsync();
        try
        {
            await supervisor.WaitAsync(Options.StopTimeout + TimeSpan.FromSeconds(10), cancellationToken);
        }
        catch (TimeoutException)
        {
            logger.LogWarning("The Hypha client did not stop within {Seconds:0} s", (Options.StopTimeout + TimeSpan.FromSeconds(10)).TotalSeconds);
            session?.Abort();
        }
        finally
        {
            await hardStop.CancelAsync();
            SetState(HyphaClientState.Stopped);
        }
    }

    public async ValueTask DisposeAsync()
    {
        await StopAsync();
        stopRequested.Dispose();
        hardStop.Dispose();
    }

    /// <summary>Calls <paramref name="method"/> on <paramref name="target"/> (<c>WS/CLIENT</c> or <c>*/MANAGER_ID</c>) and returns its answer as plain values.</summary>
    /// <exception cref="HyphaRemoteException">The target rejected the call.</exception>
    /// <exception cref="HyphaConnectionException">Not connected, or the connection closed before the answer.</exception>
    /// <exception cref="TimeoutException">No answer (nor heartbeat) within the timeout.</exception>
    public Task<object?> CallAsync(
        string target,
        string method,
        IReadOnlyList<object?>? args = null,
        IReadOnlyDictionary<string, object?>? kwargs = null,
        TimeSpan? timeout = null,
        CancellationToken cancellationToken = default)
    {
        ArgumentException.ThrowIfNullOrEmpty(target);
        ArgumentException.ThrowIfNullOrEmpty(method);
        return Connected().CallAsync(target, method, args, kwargs, timeout, cancellationToken);
    }

    /// <summary>Calls the workspace manager's <c>services.default.FUNCTION</c>.</summary>
    public Task<object?> CallManagerAsync(
        string function,
        IReadOnlyList<object?>? args = null,
        IReadOnlyDictionary<string, object?>? kwargs = null,
        TimeSpan? timeout = null,
        CancellationToken cancellationToken = default)
    {
        var current = Connected();
        return current.CallAsync(current.ManagerTarget, "services.default." + function, args, kwargs, timeout, cancellationToken);
    }

    /// <summary>The manager's <c>list_services(query)</c>, e.g. <c>{"workspace": "public", "service_id": "s3-storage"}</c>.</summary>
    public async Task<IReadOnlyList<object?>> ListServicesAsync(IReadOnlyDictionary<string, object?>? query = null, CancellationToken cancellationToken = default) =>
        await CallManagerAsync("list_services", query is null ? [] : [query], cancellationToken: cancellationToken) as IReadOnlyList<object?> ?? [];

    /// <summary>The manager's <c>unregister_service(id)</c>; a full id (<c>WS/CLIENT:SERVICE</c>) may name another client's service.</summary>
    public Task UnregisterServiceAsync(string serviceId, CancellationToken cancellationToken = default) =>
        CallManagerAsync("unregister_service", [serviceId], cancellationToken: cancellationToken);

    /// <summary>The manager's <c>generate_token(config)</c> (workspace, permission, expires_in, client_id, ...).</summary>
    public async Task<string> GenerateTokenAsync(IReadOnlyDictionary<string, object?> config, CancellationToken cancellationToken = default) =>
        await CallManagerAsync("generate_token", [config], cancellationToken: cancellationToken) as string
        ?? throw new HyphaConnectionException("generate_token returned no token");

    /// <summary>
    /// Receives broadcast events of <paramref name="eventType"/> (Hypha delivers only events of the client's own
    /// workspace). The subscription is renewed after every reconnection; dispose the result to end it.
    /// </summary>
    public async Task<IAsyncDisposable> SubscribeAsync(string eventType, Func<HyphaEvent, CancellationToken, Task> handler, CancellationToken cancellationToken = default)
    {
        ArgumentException.ThrowIfNullOrEmpty(eventType);
        ArgumentNullException.ThrowIfNull(handler);
        subscriptions.AddOrUpdate(eventType, _ => [handler], (_, list) => list.Add(handler));
        if (session is { } current)
        {
            await current.CallAsync(current.ManagerTarget, "services.default.subscribe", [eventType], null, null, cancellationToken);
        }

        return new Subscription(this, eventType, handler);
    }

    /// <summary>Drops the connection as a network failure would (tests of reconnection).</summary>
    internal void DropConnection() => session?.Abort();

    private HyphaSession Connected() =>
        session ?? throw new HyphaConnectionException(State == HyphaClientState.Stopped ? "the Hypha client is stopped" : "not connected to Hypha (reconnecting)");

    private async Task SuperviseAsync()
    {
        var backoff = new ReconnectBackoff(Options.ReconnectInitialDelay, Options.ReconnectMaxDelay);
        var stop = stopRequested.Token;
        while (!stop.IsCancellationRequested)
        {
            HyphaSession? current = null;
            try
            {
                current = await ConnectAsync(stop);
                var live = await RegisterAsync(current, stop);
                lock (stateLock)
                {
                    session = current; // the Registered handlers call Hypha through it
                }

                logger.LogInformation("Registered {Services} in {Workspace} as {ClientId} (connection {Connection})",
                    string.Join(", ", live.ServiceIds), live.Workspace, live.ClientId, live.Connection);

                // Handlers first, then "registered": readiness and WaitUntilRegisteredAsync never run ahead of what a
                // handler does on each registration (takeover unregisters the built-in there).
                await NotifyRegisteredAsync(live, current);
                lock (stateLock)
                {
                    registration = live;
                    LastError = null;
                }

                SetState(HyphaClientState.Registered);
                backoff.Reset();
                var reason = await current.Closed.WaitAsync(stop);
                logger.LogWarning("Lost the connection to Hypha: {Reason}; reconnecting", reason);
            }
            catch (OperationCanceledException) when (stop.IsCancellationRequested)
            {
                if (current is not null)
                {
                    await ShutdownAsync(current);
                }

                break;
            }
            catch (Exception ex) when (ex is HyphaConnectionException or HyphaRemoteException or TimeoutException or ArgumentException)
            {
                LastError = ex.Message;
                logger.LogWarning("Connecting to Hypha failed: {Error}", ex.Message);
            }
            catch (Exception ex)
            {
                LastError = ex.GetType().Name;
                logger.LogError(ex, "Connecting to Hypha failed unexpectedly");
            }
            finally
            {
                lock (stateLock)
                {
                    registration = null;
                    session = null;
                }

                if (current is not null)
                {
                    reconnectionToken = current.ReconnectionToken;
                    await current.DisposeAsync();
                }

                if (!stop.IsCancellationRequested)
                {
                    SetState(HyphaClientState.Connecting);
                }
            }

            try
            {
                await Task.Delay(backoff.Next(), stop);
            }
            catch (OperationCanceledException)
            {
                break;
            }
        }
    }

    /// <summary>
    /// Opens a session: with the token source's token (a refused token is invalidated and the source asked once
    /// more, which lets a root-token exchange mint a fresh one), else with Hypha's reconnection token, which outlives
    /// a short-lived fixed token.
    /// </summary>
    private async Task<HyphaSession> ConnectAsync(CancellationToken cancellationToken)
    {
        var request = new HyphaTokenRequest(Options.WebSocketUri, Options.Workspace, Options.ConnectTimeout, Options.CallTimeout);
        Exception? failure = null;
        string? refused = null;
        for (var attempt = 0; attempt < 2; attempt++)
        {
            var token = await tokenSource.GetTokenAsync(request, cancellationToken);
            if (token.Value == refused)
            {
                break;
            }

            if (!token.IsValidAt(DateTimeOffset.UtcNow, TimeSpan.Zero))
            {
                tokenSource.Invalidate(token);
                refused = token.Value;
                failure = new HyphaAuthenticationException($"the token expired at {token.ExpiresAt:O}");
                continue;
            }

            try
            {
                return await OpenAsync(new HandshakeRequest(token.Value, Options.Workspace, Options.ClientId, null), cancellationToken);
            }
            catch (HyphaAuthenticationException ex)
            {
                tokenSource.Invalidate(token);
                refused = token.Value;
                failure = ex;
            }
        }

        if (reconnectionToken is { Token: { } saved } && (reconnectionToken.ExpiresAt is not { } expiry || expiry > DateTimeOffset.UtcNow))
        {
            try
            {
                var resumed = await OpenAsync(new HandshakeRequest(null, Options.Workspace, Options.ClientId, saved), cancellationToken);
                logger.LogInformation("Reconnected with Hypha's reconnection token (the token source's token was refused: {Error})", failure?.Message);
                return resumed;
            }
            catch (HyphaAuthenticationException ex)
            {
                reconnectionToken = default;
                failure = ex;
            }
        }

        throw failure ?? new HyphaAuthenticationException("no usable token");
    }

    private async Task<HyphaSession> OpenAsync(HandshakeRequest handshake, CancellationToken cancellationToken)
    {
        var opened = await HyphaSession.ConnectAsync(Options, handshake, dispatcher, logger, cancellationToken);
        logger.LogInformation("Connected to {Uri} as {Address} (user {User}, Hypha {Version})",
            Options.WebSocketUri, opened.Address, opened.Info.User.GetValueOrDefault("id"), opened.Info.HyphaVersion);
        return opened;
    }

    /// <summary>Registers built-in first (the manager drops a client's services without it), then each service; renews event subscriptions.</summary>
    private async Task<HyphaRegistration> RegisterAsync(HyphaSession current, CancellationToken cancellationToken)
    {
        var address = current.Address;
        var workspace = current.Info.Workspace;
        await RegisterOneAsync(current, BuiltInService.RegistrationInfo(address, workspace), cancellationToken);
        var ids = new List<string>();
        foreach (var service in registry.Services)
        {
            await RegisterOneAsync(current, ServiceRegistry.RegistrationInfo(service, address, workspace), cancellationToken);
            ids.Add(ServiceRegistry.FullId(address, service.Id));
        }

        current.EventReceived += OnEvent;
        var eventTypes = subscriptions.Where(s => !s.Value.IsEmpty).Select(s => (object?)s.Key).ToList();
        if (eventTypes.Count > 0)
        {
            await current.CallAsync(current.ManagerTarget, "services.default.subscribe", [eventTypes], null, null, cancellationToken);
        }

        return new HyphaRegistration(
            workspace, current.Info.ClientId, current.Info.ManagerId, ids, current.Info.User.GetValueOrDefault("id") as string,
            Interlocked.Increment(ref connections), DateTimeOffset.UtcNow);
    }

    private static Task RegisterOneAsync(HyphaSession current, Dictionary<string, object?> info, CancellationToken cancellationToken) =>
        current.CallAsync(current.ManagerTarget, "services.default.register_service", [info], null, null, cancellationToken);

    private async Task NotifyRegisteredAsync(HyphaRegistration live, HyphaSession current)
    {
        if (Registered is not { } handlers)
        {
            return;
        }

        using var cancellation = CancellationTokenSource.CreateLinkedTokenSource(current.Lifetime, stopRequested.Token);
        foreach (var handler in handlers.GetInvocationList().Cast<Func<HyphaRegistration, CancellationToken, Task>>())
        {
            try
            {
                await handler(live, cancellation.Token);
            }
            catch (Exception ex) when (!cancellation.IsCancellationRequested)
            {
                logger.LogError(ex, "A Registered handler failed");
            }
            catch (OperationCanceledException)
            {
                return;
            }
        }
    }

    private void OnEvent(RpcMessage message)
    {
        if (message.Type is not { } type || !subscriptions.TryGetValue(type, out var handlers))
        {
            return;
        }

        var hyphaEvent = new HyphaEvent(type, message.Fields.GetValueOrDefault("data"), message.Fields);
        foreach (var handler in handlers)
        {
            _ = Task.Run(async () =>
            {
                try
                {
                    await handler(hyphaEvent, hardStop.Token);
                }
                catch (Exception ex)
                {
                    logger.LogError(ex, "A handler of the {Type} event failed", type);
                }
            });
        }
    }

    private async Task ShutdownAsync(HyphaSession current)
    {
        var live = registration;
        lock (stateLock)
        {
            registration = null;
        }

        using var budget = new CancellationTokenSource(Options.StopTimeout);
        if (live is not null)
        {
            foreach (var id in live.ServiceIds)
            {
                await TryUnregisterAsync(current, id, budget.Token);
            }

            await dispatcher.DrainAsync(Options.StopTimeout / 2);

            // Last the built-in, so that the client is gone from listings at once, not when Hypha notices the closed socket.
            await TryUnregisterAsync(current, ServiceRegistry.FullId(current.Address, BuiltInService.Id), budget.Token);
        }

        await current.CloseAsync("client stopping");
        logger.LogInformation("Unregistered and disconnected from Hypha");
    }

    private async Task TryUnregisterAsync(HyphaSession current, string serviceId, CancellationToken cancellationToken)
    {
        try
        {
            await current.CallAsync(current.ManagerTarget, "services.default.unregister_service", [serviceId], null, Options.StopTimeout, cancellationToken);
        }
        catch (Exception ex) when (ex is HyphaConnectionException or HyphaRemoteException or TimeoutException or OperationCanceledException)
        {
            logger.LogWarning("Unregistering {Service} failed: {Error}", serviceId, ex.Message);
        }
    }

    private void SetState(HyphaClientState state)
    {
        TaskCompletionSource previous;
        lock (stateLock)
        {
            State = state;
            previous = stateChanged;
            stateChanged = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        }

        previous.TrySetResult();
    }

    private async Task UnsubscribeAsync(string eventType, Func<HyphaEvent, CancellationToken, Task> handler)
    {
        var remaining = subscriptions.AddOrUpdate(eventType, _ => [], (_, list) => list.Remove(handler));
        if (remaining.IsEmpty && session is { } current)
        {
            try
            {
                await current.CallAsync(current.ManagerTarget, "services.default.unsubscribe", [eventType], null, null, CancellationToken.None);
            }
            catch (Exception ex) when (ex is HyphaConnectionException or HyphaRemoteException or TimeoutException)
            {
                logger.LogDebug("Unsubscribing from {Type} failed: {Error}", eventType, ex.Message);
            }
        }
    }

    private sealed class Subscription(HyphaRpcClient client, string eventType, Func<HyphaEvent, CancellationToken, Task> handler) : IAsyncDisposable
    {
        private int disposed;

        public async ValueTask DisposeAsync()
        {
            if (Interlocked.Exchange(ref disposed, 1) == 0)
            {
                await client.UnsubscribeAsync(eventType, handler);
            }
        }
    }
}
