using Hypha.Rpc.Calls;
using Hypha.Rpc.Services;
using Microsoft.Extensions.Logging;

namespace Hypha.Rpc.Connection;

/// <summary>
/// Makes a new session serve what the client offers: <c>built-in</c> first (the manager drops a client's services
/// without it), then each service, then the event subscriptions renewed. At stop it takes them away again, built-in
/// last, letting running calls answer in between.
/// </summary>
internal sealed class ServiceRegistrar(
    HyphaRpcOptions options, ServiceRegistry registry, ServiceDispatcher dispatcher, EventSubscriptions subscriptions, ILogger logger)
{
    private int connections;

    public async Task<HyphaRegistration> RegisterAsync(HyphaSession current, CancellationToken cancellationToken)
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

        await subscriptions.AttachAsync(current, cancellationToken);
        return new HyphaRegistration(
            workspace, current.Info.ClientId, current.Info.ManagerId, ids, current.Info.User.GetValueOrDefault("id") as string,
            Interlocked.Increment(ref connections), DateTimeOffset.UtcNow);
    }

    /// <summary>
    /// Unregisters the services (gone from Hypha at once), lets running calls answer, then unregisters built-in so
    /// that the client leaves the listings now rather than when Hypha notices the closed socket. Bounded by
    /// <see cref="HyphaRpcOptions.StopTimeout"/>; a failure is logged, not thrown.
    /// </summary>
    public async Task UnregisterAsync(HyphaSession current, HyphaRegistration live)
    {
        using var budget = new CancellationTokenSource(options.StopTimeout);
        foreach (var id in live.ServiceIds)
        {
            await TryUnregisterAsync(current, id, budget.Token);
        }

        await dispatcher.DrainAsync(options.StopTimeout / 2);
        await TryUnregisterAsync(current, ServiceRegistry.FullId(current.Address, BuiltInService.Id), budget.Token);
    }

    private static Task RegisterOneAsync(HyphaSession current, Dictionary<string, object?> info, CancellationToken cancellationToken) =>
        current.CallAsync(current.ManagerTarget, "services.default.register_service", [info], null, null, cancellationToken);

    private async Task TryUnregisterAsync(HyphaSession current, string serviceId, CancellationToken cancellationToken)
    {
        try
        {
            await current.CallAsync(current.ManagerTarget, "services.default.unregister_service", [serviceId], null, options.StopTimeout, cancellationToken);
        }
        catch (Exception ex) when (ex is HyphaConnectionException or HyphaRemoteException or TimeoutException or OperationCanceledException)
        {
            logger.LogWarning("Unregistering {Service} failed: {Error}", serviceId, ex.Message);
        }
    }
}
