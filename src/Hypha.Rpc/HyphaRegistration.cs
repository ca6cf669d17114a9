namespace Hypha.Rpc;

/// <summary>A live registration: where the client is connected and the full ids of the services it registered there.</summary>
/// <param name="Workspace">The workspace the client joined.</param>
/// <param name="ClientId">The client's id.</param>
/// <param name="ManagerId">The workspace manager's client id (calls go to <c>*/ManagerId</c>).</param>
/// <param name="ServiceIds">Full ids (<c>WS/CLIENT:SERVICE</c>) of the registered services, built-in excluded.</param>
/// <param name="UserId">The user the token authenticated.</param>
/// <param name="Connection">1 for the first connection, counting up with every reconnection.</param>
/// <param name="RegisteredAt">When the last service was registered.</param>
public sealed record HyphaRegistration(
    string Workspace,
    string ClientId,
    string ManagerId,
    IReadOnlyList<string> ServiceIds,
    string? UserId,
    int Connection,
    DateTimeOffset RegisteredAt);

/// <summary>Where the client is in its life.</summary>
public enum HyphaClientState
{
    /// <summary>Not started yet.</summary>
    Created,

    /// <summary>Connecting, registering, or waiting to retry.</summary>
    Connecting,

    /// <summary>Connected with every service registered.</summary>
    Registered,

    /// <summary>Stopped; it will not connect again.</summary>
    Stopped,
}

/// <summary>A broadcast event Hypha delivered to a subscription (for example <c>service_added</c> in the client's workspace).</summary>
/// <param name="Type">The event type.</param>
/// <param name="Data">The event's <c>data</c>, as plain values.</param>
/// <param name="Raw">The whole message.</param>
public sealed record HyphaEvent(string Type, object? Data, IReadOnlyDictionary<string, object?> Raw);
