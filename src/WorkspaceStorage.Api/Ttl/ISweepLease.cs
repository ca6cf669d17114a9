namespace WorkspaceStorage.Api.Ttl;

/// <summary>
/// Who may run the TTL sweep now. Across replicas only the holder sweeps (a Kubernetes Lease in a cluster); in one
/// process overlapping sweeps are excluded by the sweeper itself.
/// </summary>
public interface ISweepLease
{
    /// <summary>True when this process holds (or just took, or renewed) the lease for at least <paramref name="period"/>.</summary>
    ValueTask<bool> TryAcquireAsync(TimeSpan period, CancellationToken cancellationToken);
}

/// <summary>Outside a pod (<c>make run</c>, tests): a single process, which always holds the lease.</summary>
public sealed class ProcessSweepLease : ISweepLease
{
    public ValueTask<bool> TryAcquireAsync(TimeSpan period, CancellationToken cancellationToken) => ValueTask.FromResult(true);
}
