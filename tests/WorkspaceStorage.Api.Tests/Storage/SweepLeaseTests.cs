using k8s.Models;
using Microsoft.Extensions.Logging.Abstractions;
using WorkspaceStorage.Api.Ttl;
using WorkspaceStorage.Testing.Kubernetes;
using Microsoft.Extensions.Time.Testing;

namespace WorkspaceStorage.Api.Tests.Storage;

/// <summary>The Kubernetes Lease that lets one replica sweep TTLs, against the real Kubernetes API server (namespace wso).</summary>
public sealed class SweepLeaseTests
{
    private static readonly TimeSpan Period = TimeSpan.FromSeconds(10);

    private static CancellationToken Ct => TestContext.Current.CancellationToken;

    [Fact]
    public async Task Only_one_replica_holds_the_lease_until_its_holder_stops_renewing()
    {
        await using var server = await KubeCluster.StartAsync(["wso"], Ct);
        using var client = server.CreateClient();
        var clock = new FakeTimeProvider(DateTimeOffset.UtcNow);
        var first = new KubernetesSweepLease(client, "wso", "ttl-sweep", "replica-1", clock, NullLogger<KubernetesSweepLease>.Instance);
        var second = new KubernetesSweepLease(client, "wso", "ttl-sweep", "replica-2", clock, NullLogger<KubernetesSweepLease>.Instance);

        Assert.True(await first.TryAcquireAsync(Period, Ct));
        Assert.False(await second.TryAcquireAsync(Period, Ct));
        clock.Advance(Period);
        Assert.True(await first.TryAcquireAsync(Period, Ct)); // renews
        clock.Advance(Period * 2);
        Assert.False(await second.TryAcquireAsync(Period, Ct)); // renewed 20 s ago, lease lasts 30 s

        clock.Advance(Period * 2); // replica-1 stopped renewing 40 s ago
        Assert.True(await second.TryAcquireAsync(Period, Ct));
        Assert.False(await first.TryAcquireAsync(Period, Ct));
        var lease = await server.GetAsync<V1Lease>("wso", "ttl-sweep");
        Assert.Equal("replica-2", lease?.Spec.HolderIdentity);
        Assert.Equal(1, lease?.Spec.LeaseTransitions);
    }

    [Fact]
    public async Task Racing_replicas_never_both_win_and_an_unreachable_API_means_no_sweep()
    {
        await using var server = await KubeCluster.StartAsync(["wso"], Ct);
        using var client = server.CreateClient();
        var clock = new FakeTimeProvider(DateTimeOffset.UtcNow);
        var leases = Enumerable.Range(1, 6)
            .Select(i => new KubernetesSweepLease(client, "wso", "race", $"replica-{i}", clock, NullLogger<KubernetesSweepLease>.Instance))
            .ToList();

        var results = await Task.WhenAll(leases.Select(l => l.TryAcquireAsync(Period, Ct).AsTask()));
        Assert.Equal(1, results.Count(r => r));

        using var fault = server.FailRequests(503, r => r.Type == KubeResources.Leases);
        Assert.False(await leases[Array.IndexOf(results, true)].TryAcquireAsync(Period, Ct));
    }
}
