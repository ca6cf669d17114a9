using Hypha.Rpc.Calls;
using Hypha.Rpc.Connection;
using Hypha.Rpc.Services;
using Hypha.Rpc.Tokens;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Logging.Abstractions;

namespace Hypha.Rpc;

/// <summary>
/// A Hypha client that keeps services registered: it connects (token from an <see cref="IHyphaTokenSource"/>),
/// registers <c>built-in</c> and every service, answers their calls concurrently, and after any loss of the
/// connection (socket drop, Hypha restart) reconnects with backoff and registers again. <see cref="Registered"/>
/// fires after each registration; <see cref="IsRegistered"/> says whether one is live now. This class is the public
/// face: the work is done by its parts in <c>Connection/</c> (<see cref="ReconnectLoop"/>, <see cref="SessionConnector"/>,
/// <see cref="ServiceRegistrar"/>, <see cref="EventSubscriptions"/>, <see cref="ClientStatus"/>).
/// </summary>
public sealed class HyphaRpcClient : IAsyncDisposable
{
    private readonly ILogger logger;
    private readonly CancellationTokenSource stopRequested = new();
    private readonly CancellationTokenSource hardStop = new();
    private readonly ClientStatus status = new();
    private readonly EventSubscriptions subscriptions;
    private readonly ReconnectLoop reconnectLoop;
    private Task supervisor = Task.CompletedTask;
    private int started;

    public HyphaRpcClient(HyphaRpcOptions options, IHyphaTokenSource tokenSource, IEnumerable<HyphaServiceDefinition> services, ILogger<HyphaRpcClient>? logger = null)
    {
        ArgumentNullException.ThrowIfNull(options);
        options.Validate();
        Options = options;
        ArgumentNullException.ThrowIfNull(tokenSource);
        var registry = new ServiceRegistry(services);
        this.logger = logger ?? NullLogger<HyphaRpcClient>.Instance;
        var dispatcher = new ServiceDispatcher(registry, options, this.logger, outcome => CallCompleted?.Invoke(outcome), hardStop.Token);
        subscriptions = new EventSubscriptions(status, this.logger, hardStop.Token);
        reconnectLoop = new ReconnectLoop(
            options,
            SessionConnector.ForServer(options, tokenSource, dispatcher, this.logger),
            new ServiceRegistrar(options, registry, dispatcher, subscriptions, this.logger),
            status,
            NotifyRegisteredAsync,
            this.logger);
    }

    /// <summary>
    /// After every successful (re)registration, in order, before <see cref="IsRegistered"/> turns true and
    /// <see cref="WaitUntilRegisteredAsync"/> returns; the token ends with that connection. Keep handlers short.
    /// </summary>
    public event Func<HyphaRegistration, CancellationToken, Task>? Registered;

    /// <summary>After every incoming call of a registered function (for metrics).</summary>
    public event Action<HyphaCallCompleted>? CallCompleted;

    public HyphaRpcOptions Options { get; }

    public HyphaClientState State => status.State;

    /// <summary>The live registration, or null while connecting or stopped.</summary>
    public HyphaRegistration? Registration => status.Registration;

    /// <summary>True while the services are registered on a live connection (what a readiness probe reports).</summary>
    public bool IsRegistered => status.Registration is not null;

    /// <summary>Why the last connection attempt failed (no secrets), or null after a success.</summary>
    public string? LastError => status.LastError;

    /// <summary>Starts connecting in the background and returns at once (Hypha may be down; the client keeps trying).</summary>
    public Task StartAsync(CancellationToken cancellationToken = default)
    {
        if (Interlocked.Exchange(ref started, 1) == 1)
        {
            throw new InvalidOperationException("the client was already started");
        }

        status.SetState(HyphaClientState.Connecting);
        supervisor = Task.Run(() => reconnectLoop.RunAsync(stopRequested.Token), CancellationToken.None);
        return Task.CompletedTask;
    }

    /// <summary>Waits until the services are registered (now or after the next reconnection).</summary>
    public Task<HyphaRegistration> WaitUntilRegisteredAsync(CancellationToken cancellationToken) => status.WaitUntilRegisteredAsync(cancellationToken);

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
            status.Session?.Abort();
        }
        finally
        {
            await hardStop.CancelAsync();
            status.SetState(HyphaClientState.Stopped);
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
        return status.Connected().CallAsync(target, method, args, kwargs, timeout, cancellationToken);
    }

    /// <summary>Calls the workspace manager's <c>services.default.FUNCTION</c>.</summary>
    public Task<object?> CallManagerAsync(
        string function,
        IReadOnlyList<object?>? args = null,
        IReadOnlyDictionary<string, object?>? kwargs = null,
        TimeSpan? timeout = null,
        CancellationToken cancellationToken = default)
    {
        var current = status.Connected();
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
    public Task<IAsyncDisposable> SubscribeAsync(string eventType, Func<HyphaEvent, CancellationToken, Task> handler, CancellationToken cancellationToken = default)
    {
        ArgumentException.ThrowIfNullOrEmpty(eventType);
        ArgumentNullException.ThrowIfNull(handler);
        return subscriptions.SubscribeAsync(eventType, handler, cancellationToken);
    }

    /// <summary>Drops the connection as a network failure would (tests of reconnection).</summary>
    internal void DropConnection() => status.Session?.Abort();

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
}
