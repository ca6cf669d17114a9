using System.Diagnostics;
using k8s;
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
/// Runs the leading work (the controllers) only while this replica holds the Lease, through a <see cref="LeaseLock"/>
/// (a standby takes the Lease only once its record has not changed for its duration on the standby's own clock; the
/// API server's resourceVersion check lets only one writer win). The leader renews every retry period. When
/// leadership is lost (no renewal within the renew deadline, or the runner is cancelled) the work is cancelled and
/// awaited; then the replica stands by and tries again, so another replica can take over once the Lease expires.
/// </summary>
public sealed class LeaderElectionRunner
{
    private readonly LeaseLock lease;
    private readonly LeaderElectionOptions options;
    private readonly Func<CancellationToken, Task> leadingWork;
    private readonly ILogger logger;
    private volatile string? currentLeader;
    private int role = (int)LeadershipRole.NotStarted;
    private long terms;

    public LeaderElectionRunner(IKubernetes kubernetes, LeaderElectionOptions options, Func<CancellationToken, Task> leadingWork, ILogger? logger = null)
    {
        this.options = options ?? throw new ArgumentNullException(nameof(options));
        this.options.Validate();
        lease = new LeaseLock(kubernetes, options.LeaseNamespace, options.LeaseName, options.Identity);
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
                    await RunOneTermAsync(cancellationToken);
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
                        await Task.Delay(backoff.Delay(failures), cancellationToken);
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
        // Standing by: try every retry period; transport errors escape to RunAsync, which backs off.
        while (!await TryAcquireOrRenewAsync(cancellationToken))
        {
            await Task.Delay(options.RetryPeriod, cancellationToken);
        }

        using var term = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
        using var work = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
        Interlocked.Increment(ref terms);
        SetRole(LeadershipRole.Leader);
        logger.LogInformation("Leader election {Lease}: {Identity} started leading", options.LeaseName, options.Identity);
        var leading = Task.Run(() => RunLeadingWorkAsync(term, work.Token), CancellationToken.None);
        try
        {
            await RenewUntilLostAsync(term.Token);
        }
        catch (OperationCanceledException) when (term.IsCancellationRequested && !cancellationToken.IsCancellationRequested)
        {
            // The leading work ended on its own: the term is over.
        }
        finally
        {
            // Stop reconciling at once: a standby may take over once the lease expires.
            await work.CancelAsync();
            var stopped = await Task.WhenAny(leading, Task.Delay(options.StopTimeout, CancellationToken.None)) == leading;
            if (!stopped)
            {
                logger.LogError("Leader election {Lease}: the leading work did not stop within {Timeout}", options.LeaseName, options.StopTimeout);
            }

            logger.LogInformation("Leader election {Lease}: {Identity} stopped leading", options.LeaseName, options.Identity);
            await term.CancelAsync();
            SetRole(cancellationToken.IsCancellationRequested ? LeadershipRole.NotStarted : LeadershipRole.Standby);
        }
    }

    /// <summary>Renews every retry period; returns once no renewal succeeded within the renew deadline.</summary>
    private async Task RenewUntilLostAsync(CancellationToken term)
    {
        var lastRenewal = Stopwatch.GetTimestamp();
        for (; ; )
        {
            await Task.Delay(options.RetryPeriod, term);
            var left = options.RenewDeadline - Stopwatch.GetElapsedTime(lastRenewal);
            var renewed = false;
            if (left > TimeSpan.Zero)
            {
                using var attempt = CancellationTokenSource.CreateLinkedTokenSource(term);
                attempt.CancelAfter(left);
                try
                {
                    renewed = await TryAcquireOrRenewAsync(attempt.Token);
                }
                catch (Exception error) when (!term.IsCancellationRequested)
                {
                    logger.LogDebug("Leader election {Lease}: {Error}", options.LeaseName, LogRedaction.Describe(error));
                }
            }

            if (renewed)
            {
                lastRenewal = Stopwatch.GetTimestamp();
            }
            else if (Stopwatch.GetElapsedTime(lastRenewal) >= options.RenewDeadline)
            {
                logger.LogWarning("Leader election {Lease}: no renewal within {Deadline}; giving up leading", options.LeaseName, options.RenewDeadline);
                return;
            }
        }
    }

    private async Task<bool> TryAcquireOrRenewAsync(CancellationToken cancellationToken)
    {
        try
        {
            return await lease.TryAcquireOrRenewAsync(options.LeaseDuration, cancellationToken);
        }
        finally
        {
            // Kept while the Lease names no holder: the last leader seen is still the best answer.
            if (lease.CurrentHolder is { } holder && !string.Equals(holder, currentLeader, StringComparison.Ordinal))
            {
                currentLeader = holder;
                logger.LogInformation("Leader election {Lease}: leader is now {Leader}", options.LeaseName, holder);
            }
        }
    }

    private async Task RunLeadingWorkAsync(CancellationTokenSource term, CancellationToken workToken)
    {
        try
        {
            await leadingWork(workToken);
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
                await term.CancelAsync();
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
