using Hypha.Rpc;

namespace WorkspaceStorage.Api.HyphaRpc;

/// <summary>
/// Takeover mode: with Hypha's own s3-storage still registered in the same workspace, <c>get_service</c> would pick
/// one of the two at random. Once the companion's registration is live, this unregisters every other
/// <c>WS/CLIENT:SERVICE</c> of the same service id whose client is not a companion replica (client id not starting with
/// <see cref="HyphaRegistrationOptions.ClientIdPrefix"/>), after each (re)registration, on Hypha's
/// <c>service_added</c> events, and every <see cref="HyphaRegistrationOptions.TakeoverRecheck"/>, since a Hypha
/// restart brings the built-in back.
/// </summary>
public sealed class BuiltInTakeover(HyphaRpcClient client, HyphaRegistrationOptions options, ILogger<BuiltInTakeover> logger) : IAsyncDisposable
{
    private readonly CancellationTokenSource stopping = new();
    private readonly SemaphoreSlim sweeping = new(1, 1);
    private Task? recheck;
    private IAsyncDisposable? subscription;

    /// <summary>Built-in registrations this process removed.</summary>
    public int Removed => Volatile.Read(ref removed);

    private int removed;

    public void Start() => recheck = Task.Run(RecheckLoopAsync);

    public async Task OnRegisteredAsync(HyphaRegistration registration, CancellationToken cancellationToken)
    {
        subscription ??= await client.SubscribeAsync("service_added", (_, ct) => SweepAsync(ct), cancellationToken);
        await SweepConnectedAsync(cancellationToken); // IsRegistered turns true only after this handler
    }

    public async ValueTask DisposeAsync()
    {
        await stopping.CancelAsync();
        if (recheck is not null)
        {
            await recheck;
        }

        if (subscription is not null)
        {
            await subscription.DisposeAsync();
        }

        stopping.Dispose();
        sweeping.Dispose();
    }

    /// <summary>One pass: list this service id in the workspace and unregister the registrations that are not companions.</summary>
    public async Task SweepAsync(CancellationToken cancellationToken)
    {
        if (client.IsRegistered)
        {
            await SweepConnectedAsync(cancellationToken);
        }
    }

    private async Task SweepConnectedAsync(CancellationToken cancellationToken)
    {
        await sweeping.WaitAsync(cancellationToken);
        try
        {
            var services = await client.ListServicesAsync(new Dictionary<string, object?>
            {
                ["workspace"] = options.Workspace,
                ["service_id"] = options.ServiceId,
                ["client_id"] = "*",
                ["visibility"] = "*",
                ["type"] = "*",
            }, cancellationToken);
            foreach (var id in services.OfType<IReadOnlyDictionary<string, object?>>().Select(s => s.GetValueOrDefault("id") as string))
            {
                if (id is not null && IsForeign(id))
                {
                    await client.UnregisterServiceAsync(id, cancellationToken);
                    Interlocked.Increment(ref removed);
                    logger.LogInformation("Takeover: unregistered {ServiceId}, which is not a companion replica", id);
                }
            }
        }
        catch (Exception ex) when (ex is HyphaConnectionException or HyphaRemoteException or TimeoutException)
        {
            logger.LogWarning("Takeover sweep failed (next in {Recheck}): {Error}", options.TakeoverRecheck, ex.Message);
        }
        finally
        {
            sweeping.Release();
        }
    }

    /// <summary>A registration of our service id by a client that is not a companion replica: <c>WS/CLIENT:SERVICE</c>.</summary>
    internal bool IsForeign(string fullId)
    {
        var slash = fullId.IndexOf('/', StringComparison.Ordinal);
        var colon = fullId.LastIndexOf(':');
        if (slash < 0 || colon < slash)
        {
            return false;
        }

        var workspace = fullId[..slash];
        var clientId = fullId[(slash + 1)..colon];
        var serviceId = fullId[(colon + 1)..];
        // A service id may carry an app suffix ("s3-storage@app"); the built-in registers the bare id.
        return workspace == options.Workspace
            && (serviceId == options.ServiceId || serviceId.StartsWith(options.ServiceId + "@", StringComparison.Ordinal))
            && !clientId.StartsWith(options.ClientIdPrefix, StringComparison.Ordinal);
    }

    private async Task RecheckLoopAsync()
    {
        using var timer = new PeriodicTimer(options.TakeoverRecheck);
        try
        {
            while (await timer.WaitForNextTickAsync(stopping.Token))
            {
                await SweepAsync(stopping.Token);
            }
        }
        catch (OperationCanceledException) when (stopping.IsCancellationRequested)
        {
            // shutting down
        }
    }
}
