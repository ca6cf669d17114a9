using k8s;
using k8s.Autorest;
using WorkspaceStorage.Kubernetes.Runtime;

namespace WorkspaceStorage.Api.Ttl;

/// <summary>
/// The TTL sweep lease across replicas: a <c>coordination.k8s.io/v1</c> Lease held through the operator's
/// <see cref="LeaseLock"/>. A replica sweeps when it holds the Lease, takes it when it is free or its record has not
/// changed for <c>3 × period</c> on this replica's clock, and renews it each period. A Kubernetes API that fails,
/// cannot be reached or does not answer in time means no sweep this period. One instance per process: the lock
/// remembers when it last saw the Lease change.
/// </summary>
public sealed class KubernetesSweepLease(IKubernetes client, string leaseNamespace, string leaseName, string identity, TimeProvider clock,
    ILogger<KubernetesSweepLease> logger) : ISweepLease
{
    private static readonly TimeSpan CallTimeout = TimeSpan.FromSeconds(10);

    private readonly LeaseLock lease = new(client, leaseNamespace, leaseName, identity, clock);

    public async ValueTask<bool> TryAcquireAsync(TimeSpan period, CancellationToken cancellationToken)
    {
        using var timeout = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
        timeout.CancelAfter(CallTimeout);
        var wasHolder = lease.CurrentHolder == identity;
        try
        {
            var held = await lease.TryAcquireOrRenewAsync(period * 3, timeout.Token);
            if (held && !wasHolder)
            {
                logger.LogInformation("Took TTL sweep lease {Namespace}/{Lease} as {Identity}", leaseNamespace, leaseName, identity);
            }

            return held;
        }
        catch (HttpOperationException ex)
        {
            logger.LogWarning("TTL sweep lease {Namespace}/{Lease} unavailable: HTTP {Status}", leaseNamespace, leaseName, (int?)ex.Response?.StatusCode);
            return false;
        }
        catch (HttpRequestException ex)
        {
            logger.LogWarning("TTL sweep lease {Namespace}/{Lease} unreachable: {Error}", leaseNamespace, leaseName, ex.Message);
            return false;
        }
        catch (OperationCanceledException) when (!cancellationToken.IsCancellationRequested)
        {
            logger.LogWarning("TTL sweep lease {Namespace}/{Lease}: the Kubernetes API timed out", leaseNamespace, leaseName);
            return false;
        }
    }
}
