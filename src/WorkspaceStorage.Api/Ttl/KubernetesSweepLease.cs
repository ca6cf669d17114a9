using System.Net;
using k8s;
using k8s.Autorest;
using k8s.Models;

namespace WorkspaceStorage.Api.Ttl;

/// <summary>
/// The TTL sweep lease across replicas: a <c>coordination.k8s.io/v1</c> Lease. A replica sweeps when it holds the
/// Lease, takes it when it is free or its holder stopped renewing for <c>3 × period</c>, and renews it each period.
/// Writes carry the resourceVersion read, so two replicas racing for it cannot both win (409 for the loser).
/// </summary>
public sealed class KubernetesSweepLease(IKubernetes client, string leaseNamespace, string leaseName, string identity, TimeProvider clock,
    ILogger<KubernetesSweepLease> logger) : ISweepLease
{
    private static readonly TimeSpan CallTimeout = TimeSpan.FromSeconds(10);

    public async ValueTask<bool> TryAcquireAsync(TimeSpan period, CancellationToken cancellationToken)
    {
        using var timeout = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
        timeout.CancelAfter(CallTimeout);
        var now = clock.GetUtcNow().UtcDateTime;
        var durationSeconds = (int)Math.Max(1, Math.Ceiling(period.TotalSeconds * 3));
        try
        {
            V1Lease lease;
            try
            {
                lease = await client.CoordinationV1.ReadNamespacedLeaseAsync(leaseName, leaseNamespace, cancellationToken: timeout.Token);
            }
            catch (HttpOperationException ex) when (ex.Response.StatusCode == HttpStatusCode.NotFound)
            {
                await client.CoordinationV1.CreateNamespacedLeaseAsync(new V1Lease
                {
                    Metadata = new V1ObjectMeta { Name = leaseName, NamespaceProperty = leaseNamespace },
                    Spec = new V1LeaseSpec
                    {
                        HolderIdentity = identity,
                        LeaseDurationSeconds = durationSeconds,
                        AcquireTime = now,
                        RenewTime = now,
                        LeaseTransitions = 0,
                    },
                }, leaseNamespace, cancellationToken: timeout.Token);
                logger.LogInformation("Took TTL sweep lease {Namespace}/{Lease} as {Identity}", leaseNamespace, leaseName, identity);
                return true;
            }

            var spec = lease.Spec ??= new V1LeaseSpec();
            var mine = spec.HolderIdentity == identity;
            var expired = spec.RenewTime is not { } renewed
                || renewed.ToUniversalTime().AddSeconds(spec.LeaseDurationSeconds ?? durationSeconds) < now
                || string.IsNullOrEmpty(spec.HolderIdentity);
            if (!mine && !expired)
            {
                return false;
            }

            if (!mine)
            {
                spec.HolderIdentity = identity;
                spec.AcquireTime = now;
                spec.LeaseTransitions = (spec.LeaseTransitions ?? 0) + 1;
                logger.LogInformation("Taking over TTL sweep lease {Namespace}/{Lease} as {Identity}", leaseNamespace, leaseName, identity);
            }

            spec.RenewTime = now;
            spec.LeaseDurationSeconds = durationSeconds;
            await client.CoordinationV1.ReplaceNamespacedLeaseAsync(lease, leaseName, leaseNamespace, cancellationToken: timeout.Token);
            return true;
        }
        catch (HttpOperationException ex) when (ex.Response.StatusCode is HttpStatusCode.Conflict)
        {
            return false; // another replica wrote first
        }
        catch (HttpOperationException ex)
        {
            logger.LogWarning("TTL sweep lease {Namespace}/{Lease} unavailable: HTTP {Status}", leaseNamespace, leaseName, (int)ex.Response.StatusCode);
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
