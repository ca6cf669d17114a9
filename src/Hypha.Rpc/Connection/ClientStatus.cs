using Hypha.Rpc.Calls;

namespace Hypha.Rpc.Connection;

/// <summary>
/// Where a <see cref="HyphaRpcClient"/> is now: its state, the live session and registration, the last connection
/// error; and the wait for the next registration. One lock keeps them consistent with each other.
/// </summary>
internal sealed class ClientStatus
{
    private readonly Lock stateLock = new();
    private TaskCompletionSource stateChanged = new(TaskCreationOptions.RunContinuationsAsynchronously);
    private volatile HyphaSession? session;
    private volatile HyphaRegistration? registration;

    public HyphaClientState State { get; private set; } = HyphaClientState.Created;

    /// <summary>The session this client calls through, or null while connecting or stopped.</summary>
    public HyphaSession? Session => session;

    public HyphaRegistration? Registration => registration;

    /// <summary>Why the last connection attempt failed (no secrets), or null after a success.</summary>
    public string? LastError { get; set; }

    /// <summary>The live session, or why there is none.</summary>
    public HyphaSession Connected() =>
        session ?? throw new HyphaConnectionException(State == HyphaClientState.Stopped ? "the Hypha client is stopped" : "not connected to Hypha (reconnecting)");

    /// <summary>The services are registered on <paramref name="current"/>: calls may go through it (before <see cref="MarkRegistered"/>).</summary>
    public void Publish(HyphaSession current)
    {
        lock (stateLock)
        {
            session = current;
        }
    }

    public void MarkRegistered(HyphaRegistration live)
    {
        lock (stateLock)
        {
            registration = live;
            LastError = null;
        }
    }

    /// <summary>Stopping: the registration ends now (it is returned to be unregistered); the session stays for that.</summary>
    public HyphaRegistration? TakeRegistration()
    {
        var live = registration;
        lock (stateLock)
        {
            registration = null;
        }

        return live;
    }

    /// <summary>The session is gone.</summary>
    public void Clear()
    {
        lock (stateLock)
        {
            registration = null;
            session = null;
        }
    }

    public void SetState(HyphaClientState state)
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
}
