using k8s;
using k8s.LeaderElection;
using k8s.LeaderElection.ResourceLock;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Logging.Abstractions;
using WorkspaceStorage.Core.Resilience;

namespace WorkspaceStorage.Kubernetes.Runtime;

/// <summary>Settings of a <see cref="LeaderElectionRunner"/>.</summary>
public sealed record LeaderElectionOptions
{
    public string LeaseName { get; init; } = "workspace-storage-operator";

    public string LeaseNamespace { get; init; } = "default";

    /// <summary>This replica's name in the Lease (pod name, by default host name plus a random suffix).</summary>
    public string Identity { get; init; } = DefaultIdentity();

    /// <summary>How long a standby waits after the last renewal it saw before taking over.</summary>
    public TimeSpan LeaseDuration { get; init; } = TimeSpan.FromSeconds(15);

    /// <summary>How long the leader keeps trying to renew before it gives up leading. Must be below
    /// <see cref="LeaseDuration"/>: the gap is the time the old leader has to stop before a standby may start, so the
    /// controllers' <see cref="WorkQueueOptions.ShutdownTimeout"/> (after which in-flight reconciles are cancelled)
    /// must be shorter than <c>LeaseDuration − RenewDeadline</c>.</summary>
    public TimeSpan RenewDeadline { get; init; } = TimeSpan.FromSeconds(10);

    /// <summary>Pause between attempts to acquire or renew.</summary>
    public TimeSpan RetryPeriod { get; init; } = TimeSpan.FromSeconds(2);

    /// <summary>How long the leading work may take to stop once leadership ends before the runner goes on without it.</summary>
    public TimeSpan StopTimeout { get; init; } = TimeSpan.FromSeconds(30);

    private static string DefaultIdentity()
    {
        var host = Environment.MachineName;
        var shortHost = host[..Math.Min(host.Length, 50)];
        return $"{shortHost}-{Guid.NewGuid().ToString("N")[..8]}";
    }

    internal void Validate()
    {
        ArgumentException.ThrowIfNullOrWhiteSpace(LeaseName);
        ArgumentException.ThrowIfNullOrWhiteSpace(LeaseNamespace);
        ArgumentException.ThrowIfNullOrWhiteSpace(Identity);
        if (RetryPeriod <= TimeSpan.Zero || RenewDeadline <= RetryPeriod || LeaseDuration <= RenewDeadline)
        {
            throw new ArgumentException("Leader election needs 0 < RetryPeriod < RenewDeadline < LeaseDuration.", nameof(LeaseDuration));
        }

        if (LeaseDuration.Ticks % TimeSpan.TicksPerSecond != 0)
        {
            // The Lease stores whole seconds; a fraction would silently shorten the lease standbys honour.
            throw new ArgumentException("LeaseDuration must be a whole number of seconds (the Lease stores seconds).", nameof(LeaseDuration));
        }
    }
}

/// <summary>Where a replica stands in the election.</summary>
public enum LeadershipRole
{
    /// <summary>Not yet taking part (or stopped).</summary>
    NotStarted,

    /// <summary>Taking part and waiting to lead; healthy and ready.</summary>
    Standby,

    /// <summary>Holding the Lease; the leading work runs.</summary>
    Leader,
}

/// <summary>
/// Runs the leading work (the controllers) only while this replica holds the Lease, through KubernetesClient's
/// <see cref="LeaderElector"/> and <see cref="LeaseLock"/>. When leadership is lost (renewal failed past the renew
/// deadline, or the runner is cancelled) the work is cancelled and awaited; then the replica stands by and tries
/// again, so another replica can take over once the Lease expires.
/// </summary>
public sealed class LeaderElectionRunner
{
    private readonly IKubernetes kubernetes;
    private readonly LeaderElectionOptions options;
    private readonly Func<CancellationToken, Task> leadingWork;
    private readonly ILogger logger;
    private volatile string? currentLeader;
    private int role = (int)LeadershipRole.NotStarted;
    private long terms;

    public LeaderElectionRunner(IKubernetes kubernetes, LeaderElectionOptions options, Func<CancellationToken, Task> leadingWork, ILogger? logger = null)
    {
        this.kubernetes = kubernetes ?? throw new ArgumentNullException(nameof(kubernetes));
        this.options = options ?? throw new ArgumentNullException(nameof(options));
        this.options.Validate();
        this.leadingWork = leadingWork ?? throw new ArgumentNullException(nameof(leadingWork));
        this.logger = logger ?? NullLogger.Instance;
    }

    public string Identity => options.Identity;

    public LeadershipRole Role => (LeadershipRole)Volatile.Read(ref role);

    public bool IsLeader => Role == LeadershipRole.Leader;

    /// <summary>The holder this replica last saw in the Lease.</summary>
    public string? CurrentLeader => currentLeader;

    /// <summary>How many times this replica started leading.</summary>
    public long Terms => Interlocked.Read(ref terms);

    /// <summary>Raised (on the election loop) when this replica starts or stops leading.</summary>
    public event Action<LeadershipRole>? RoleChanged;

    /// <summary>Takes part in the election until cancelled; the leading work runs only during a term.</summary>
    public async Task RunAsync(CancellationToken cancellationToken)
    {
        SetRole(LeadershipRole.Standby);
        var failures = 0;
        var backoff = new ExponentialBackoff(options.RetryPeriod, options.LeaseDuration);
        try
        {
            while (!cancellationToken.IsCancellationRequested)
            {
                try
                {
                    await RunOneTermAsync(cancellationToken).ConfigureAwait(false);
                    failures = 0;
                }
                catch (OperationCanceledException) when (cancellationToken.IsCancellationRequested)
                {
                    return;
                }
                catch (Exception error)
                {
                    // LeaderElector lets transport errors escape while acquiring; stand by and try again.
                    failures++;
                    logger.LogWarning("Leader election {Lease}: {Error}; retrying", options.LeaseName, LogRedaction.Describe(error));
                    try
                    {
                        await Task.Delay(backoff.Delay(failures), cancellationToken).ConfigureAwait(false);
                    }
                    catch (OperationCanceledException)
                    {
                        return;
                    }
                }
            }
        }
        finally
        {
            SetRole(LeadershipRole.NotStarted);
        }
    }

    private async Task RunOneTermAsync(CancellationToken cancellationToken)
    {
        var leaseLock = new LeaseLock(kubernetes, options.LeaseNamespace, options.LeaseName, options.Identity);
        using var elector = new LeaderElector(new LeaderElectionConfig(leaseLock)
        {
            LeaseDuration = options.LeaseDuration,
            RenewDeadline = options.RenewDeadline,
            RetryPeriod = options.RetryPeriod,
        });

        // The term's token also stops the elector's background renew loop once the term is over.
        using var term = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
        using var work = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
        Task? leading = null;

        elector.OnNewLeader += leader =>
        {
            currentLeader = leader;
            logger.LogInformation("Leader election {Lease}: leader is now {Leader}", options.LeaseName, leader);
        };
        elector.OnError += error => logger.LogDebug("Leader election {Lease}: {Error}", options.LeaseName, LogRedaction.Describe(error));
        elector.OnStartedLeading += () =>
        {
            Interlocked.Increment(ref terms);
            currentLeader = options.Identity;
            SetRole(LeadershipRole.Leader);
            logger.LogInformation("Leader election {Lease}: {Identity} started leading", options.LeaseName, options.Identity);
            leading = Task.Run(() => RunLeadingWorkAsync(term, work.Token), CancellationToken.None);
        };
        elector.OnStoppedLeading += () =>
        {
            // Stop reconciling at once: a standby may take over once the lease expires.
            work.Cancel();
        };

        try
        {
            await elector.RunUntilLeadershipLostAsync(term.Token).ConfigureAwait(false);
        }
        finally
        {
            await work.CancelAsync().ConfigureAwait(false);
            if (leading is not null)
            {
                var stopped = await Task.WhenAny(leading, Task.Delay(options.StopTimeout, CancellationToken.None)).ConfigureAwait(false) == leading;
                if (!stopped)
                {
                    logger.LogError("Leader election {Lease}: the leading work did not stop within {Timeout}", options.LeaseName, options.StopTimeout);
                }

                logger.LogInformation("Leader election {Lease}: {Identity} stopped leading", options.LeaseName, options.Identity);
            }

            await term.CancelAsync().ConfigureAwait(false);
            SetRole(cancellationToken.IsCancellationRequested ? LeadershipRole.NotStarted : LeadershipRole.Standby);
        }
    }

    private async Task RunLeadingWorkAsync(CancellationTokenSource term, CancellationToken workToken)
    {
        try
        {
            await leadingWork(workToken).ConfigureAwait(false);
        }
        catch (OperationCanceledException) when (workToken.IsCancellationRequested)
        {
            // Leadership ended.
        }
        catch (Exception error)
        {
            logger.LogError("Leader election {Lease}: the leading work failed with {Error}", options.LeaseName, LogRedaction.Describe(error));
        }
        finally
        {
            if (!workToken.IsCancellationRequested)
            {
                // The work ended on its own while leading: end the term rather than hold the Lease idle.
                logger.LogWarning("Leader election {Lease}: the leading work ended while leading; giving up the term", options.LeaseName);
                await term.CancelAsync().ConfigureAwait(false);
            }
        }
    }

    private void SetRole(LeadershipRole next)
    {
        var previous = (LeadershipRole)Interlocked.Exchange(ref role, (int)next);
        if (previous != next)
        {
            RoleChanged?.Invoke(next);
        }
    }
}
