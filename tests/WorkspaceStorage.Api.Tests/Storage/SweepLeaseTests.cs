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
        Assert.False(await second.TryAcquireAsync(Period, Ct)); // first sees that renewal now: its 30 s start here

        clock.Advance(Period * 2);
        Assert.False(await second.TryAcquireAsync(Period, Ct)); // unchanged for 20 s on replica-2's clock
        clock.Advance(Period);
        Assert.True(await second.TryAcquireAsync(Period, Ct)); // unchanged for 30 s
        Assert.False(await first.TryAcquireAsync(Period, Ct));
        var lease = await server.GetAsync<V1Lease>("wso", "ttl-sweep");
        Assert.Equal("replica-2", lease?.Spec.HolderIdentity);
        Assert.Equal(1, lease?.Spec.LeaseTransitions);
    }

    /// <summary>
    /// Replicas' wall clocks disagree: the holder's renewTime, read on another node, says nothing about whether it is
    /// alive. Only a change of the Lease record does, timed on the observer's own clock.
    /// </summary>
    [Theory]
    [InlineData(-60)]
    [InlineData(60)]
    public async Task A_holder_with_a_skewed_clock_keeps_the_lease_while_it_renews_and_loses_it_a_lease_duration_after_it_stops(int skewMinutes)
    {
        await using var server = await KubeCluster.StartAsync(["wso"], Ct);
        using var client = server.CreateClient();
        var holderClock = new FakeTimeProvider(DateTimeOffset.UtcNow.AddMinutes(skewMinutes));
        var observerClock = new FakeTimeProvider(DateTimeOffset.UtcNow);
        var holder = new KubernetesSweepLease(client, "wso", "skewed", "holder", holderClock, NullLogger<KubernetesSweepLease>.Instance);
        var observer = new KubernetesSweepLease(client, "wso", "skewed", "observer", observerClock, NullLogger<KubernetesSweepLease>.Instance);
        Assert.True(await holder.TryAcquireAsync(Period, Ct));

        // Renewing every period, for longer than the lease lasts: its renewTime is an hour off the observer's clock.
        for (var round = 0; round < 5; round++)
        {
            Assert.False(await observer.TryAcquireAsync(Period, Ct), $"taken over while renewed (round {round})");
            holderClock.Advance(Period);
            observerClock.Advance(Period);
            Assert.True(await holder.TryAcquireAsync(Period, Ct));
        }

        // The holder stops: the observer saw the last renewal now, and takes over once it stayed unchanged for 30 s.
        Assert.False(await observer.TryAcquireAsync(Period, Ct));
        observerClock.Advance(Period * 3 - TimeSpan.FromSeconds(1));
        Assert.False(await observer.TryAcquireAsync(Period, Ct));
        observerClock.Advance(TimeSpan.FromSeconds(1));
        Assert.True(await observer.TryAcquireAsync(Period, Ct));
        Assert.False(await holder.TryAcquireAsync(Period, Ct));
        var lease = await server.GetAsync<V1Lease>("wso", "skewed");
        Assert.Equal("observer", lease?.Spec.HolderIdentity);
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
