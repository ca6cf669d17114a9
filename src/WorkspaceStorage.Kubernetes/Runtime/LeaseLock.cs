using System.Net;
using k8s;
using k8s.Autorest;
using k8s.Models;

namespace WorkspaceStorage.Kubernetes.Runtime;

/// <summary>
/// One replica's hold on a <c>coordination.k8s.io/v1</c> Lease, with client-go's protocol (KubernetesClient.Aot has no
/// LeaderElector). The Lease is created when missing; otherwise it is replaced with the resourceVersion just read, so
/// of two racing writers only one wins (the other gets 409 and is told no). A Lease held by another replica is taken
/// only once its record has not changed for its duration on this replica's own monotonic clock: the holder's
/// <c>renewTime</c> comes from another node's clock and is never compared with ours.
/// </summary>
/// <remarks>Not for concurrent calls: each replica's election loop calls it one attempt at a time. Errors other than
/// 404 on read and 409 on write escape to the caller, which knows how it wants to retry.</remarks>
public sealed class LeaseLock
{
    private readonly IKubernetes kubernetes;
    private readonly TimeProvider clock;
    private volatile string? currentHolder;

    // The Lease record as last seen, and when on the monotonic clock of this replica.
    private LeaseRecord? observed;
    private long observedAt;

    public LeaseLock(IKubernetes kubernetes, string leaseNamespace, string leaseName, string identity, TimeProvider? clock = null)
    {
        this.kubernetes = kubernetes ?? throw new ArgumentNullException(nameof(kubernetes));
        ArgumentException.ThrowIfNullOrWhiteSpace(leaseNamespace);
        ArgumentException.ThrowIfNullOrWhiteSpace(leaseName);
        ArgumentException.ThrowIfNullOrWhiteSpace(identity);
        Namespace = leaseNamespace;
        Name = leaseName;
        Identity = identity;
        this.clock = clock ?? TimeProvider.System;
    }

    public string Namespace { get; }

    public string Name { get; }

    public string Identity { get; }

    /// <summary>The holder last seen in the Lease (this replica's identity after it wrote); null before the first
    /// read or while the Lease names no holder.</summary>
    public string? CurrentHolder => currentHolder;

    /// <summary>Takes the Lease when it is missing, free or expired, or renews it when this replica holds it; false
    /// when another replica holds it or won the race to write.</summary>
    /// <param name="leaseDuration">Written to the Lease (whole seconds, rounded up) for standbys to honour; also how
    /// long this replica waits on a Lease that names no duration.</param>
    public async Task<bool> TryAcquireOrRenewAsync(TimeSpan leaseDuration, CancellationToken cancellationToken)
    {
        ArgumentOutOfRangeException.ThrowIfLessThanOrEqual(leaseDuration, TimeSpan.Zero);
        var durationSeconds = (int)Math.Ceiling(leaseDuration.TotalSeconds);
        var now = clock.GetUtcNow().UtcDateTime;
        var lease = await ReadAsync(cancellationToken);
        if (lease is null)
        {
            return await CreateAsync(durationSeconds, now, cancellationToken);
        }

        var spec = lease.Spec ??= new V1LeaseSpec();
        Observe(spec);
        var ours = string.Equals(spec.HolderIdentity, Identity, StringComparison.Ordinal);
        var heldByAnother = !ours && !string.IsNullOrEmpty(spec.HolderIdentity);
        if (heldByAnother && clock.GetElapsedTime(observedAt) < TimeSpan.FromSeconds(spec.LeaseDurationSeconds ?? durationSeconds))
        {
            return false;
        }

        spec.HolderIdentity = Identity;
        spec.LeaseDurationSeconds = durationSeconds;
        spec.RenewTime = now;
        if (!ours)
        {
            spec.AcquireTime = now;
            spec.LeaseTransitions = (spec.LeaseTransitions ?? 0) + 1;
        }

        try
        {
            var written = await kubernetes.CoordinationV1.ReplaceNamespacedLeaseAsync(lease, Name, Namespace, cancellationToken: cancellationToken);
            Observe(written?.Spec ?? spec);
            return true;
        }
        catch (HttpOperationException error) when (error.Response?.StatusCode == HttpStatusCode.Conflict)
        {
            return false; // another replica wrote since our read
        }
    }

    private async Task<V1Lease?> ReadAsync(CancellationToken cancellationToken)
    {
        try
        {
            return await kubernetes.CoordinationV1.ReadNamespacedLeaseAsync(Name, Namespace, cancellationToken: cancellationToken);
        }
        catch (HttpOperationException error) when (error.Response?.StatusCode == HttpStatusCode.NotFound)
        {
            return null;
        }
    }

    private async Task<bool> CreateAsync(int durationSeconds, DateTime now, CancellationToken cancellationToken)
    {
        var spec = new V1LeaseSpec
        {
            HolderIdentity = Identity,
            LeaseDurationSeconds = durationSeconds,
            AcquireTime = now,
            RenewTime = now,
            LeaseTransitions = 0,
        };
        try
        {
            var created = await kubernetes.CoordinationV1.CreateNamespacedLeaseAsync(new V1Lease
            {
                Metadata = new V1ObjectMeta { Name = Name, NamespaceProperty = Namespace },
                Spec = spec,
            }, Namespace, cancellationToken: cancellationToken);
            Observe(created?.Spec ?? spec);
            return true;
        }
        catch (HttpOperationException error) when (error.Response?.StatusCode == HttpStatusCode.Conflict)
        {
            return false; // another replica created it first
        }
    }

    private void Observe(V1LeaseSpec spec)
    {
        var record = LeaseRecord.Of(spec);
        if (record != observed)
        {
            observed = record;
            observedAt = clock.GetTimestamp();
        }

        currentHolder = string.IsNullOrEmpty(spec.HolderIdentity) ? null : spec.HolderIdentity;
    }

    /// <summary>What client-go compares to tell a live Lease from a dead one: any change is a sign of life.</summary>
    private sealed record LeaseRecord(string? Holder, int? DurationSeconds, DateTime? AcquireTime, DateTime? RenewTime, int? Transitions)
    {
        public static LeaseRecord Of(V1LeaseSpec spec) =>
            new(spec.HolderIdentity, spec.LeaseDurationSeconds, spec.AcquireTime, spec.RenewTime, spec.LeaseTransitions);
    }
}
