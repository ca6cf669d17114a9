using WorkspaceStorage.Testing.Support;
using k8s;
using k8s.Models;
using WorkspaceStorage.Kubernetes.Runtime;
using WorkspaceStorage.Testing.Kubernetes;

namespace WorkspaceStorage.Kubernetes.Tests.RealApiServer;

/// <summary>The operator's Lease election on real Leases: the real API server's resourceVersion conflicts decide who leads.</summary>
public sealed class LeaderElectionTests
{
    private sealed class Candidate : IDisposable
    {
        private readonly k8s.Kubernetes _client;
        private readonly CancellationTokenSource _stop;
        private int _started;
        private int _stopped;

        public Candidate(KubeCluster server, string identity, CancellationToken testToken)
        {
            Identity = identity;
            _client = server.CreateClient();
            _stop = CancellationTokenSource.CreateLinkedTokenSource(testToken);
            Elector = new LeaderElectionRunner(_client, new LeaderElectionOptions
            {
                LeaseNamespace = "kube-system",
                LeaseName = "wso-operator",
                Identity = identity,
                LeaseDuration = TimeSpan.FromSeconds(3),
                RenewDeadline = TimeSpan.FromSeconds(2),
                RetryPeriod = TimeSpan.FromMilliseconds(200),
                StopTimeout = TimeSpan.FromSeconds(5),
            }, async token =>
            {
                Interlocked.Increment(ref _started);
                try
                {
                    await Task.Delay(System.Threading.Timeout.InfiniteTimeSpan, token);
                }
                finally
                {
                    Interlocked.Increment(ref _stopped);
                }
            });
            Run = Elector.RunAsync(_stop.Token);
        }

        public string Identity { get; }
        public LeaderElectionRunner Elector { get; }
        public Task Run { get; }
        public bool Leading => Elector.IsLeader;
        public int TimesStarted => Volatile.Read(ref _started);
        public int TimesStopped => Volatile.Read(ref _stopped);

        public async Task StopAsync()
        {
            await _stop.CancelAsync();
            await Run;
        }

        public void Dispose()
        {
            _stop.Cancel();
            _stop.Dispose();
            _client.Dispose();
        }
    }

    [Fact]
    public async Task Only_one_elector_leads_and_the_other_takes_over_when_it_stops()
    {
        var ct = Timeout(40);
        await using var server = await KubeCluster.StartAsync(cancellationToken: ct);
        using var a = new Candidate(server, "operator-a", ct);
        using var b = new Candidate(server, "operator-b", ct);

        await Eventually.TrueAsync(() => a.Leading || b.Leading, "one of the two to lead", cancellationToken: ct);
        var (leader, follower) = a.Leading ? (a, b) : (b, a);

        // Over several renewals (and many attempts by the follower) leadership stays put. The fence is five more
        // lease updates (renewals: the follower only reads a lease someone else holds); no transition may happen
        // before it, however slowly the machine runs.
        var updates = server.RequestCount("update", "leases");
        await Eventually.TrueAsync(() => server.RequestCount("update", "leases") >= updates + 5, "five more lease renewals",
            observe: () => $"{server.RequestCount("update", "leases") - updates} renewals", cancellationToken: ct);
        Assert.True(leader.Leading);
        Assert.Equal((1, 0), (leader.TimesStarted, leader.TimesStopped));
        Assert.Equal(0, follower.TimesStarted);
        Assert.Equal(leader.Identity, (await server.GetAsync<V1Lease>("kube-system", "wso-operator"))!.Spec.HolderIdentity);

        await leader.StopAsync();
        await Eventually.TrueAsync(() => follower.Leading, "the follower to take over", cancellationToken: ct);
        Assert.Equal(follower.Identity, (await server.GetAsync<V1Lease>("kube-system", "wso-operator"))!.Spec.HolderIdentity);
    }

    [Fact]
    public async Task Lease_writes_with_a_stale_resourceVersion_conflict()
    {
        var ct = Timeout();
        await using var server = await KubeCluster.StartAsync(cancellationToken: ct);
        using var client = server.CreateClient();
        var lease = await client.CoordinationV1.CreateNamespacedLeaseAsync(
            new V1Lease { Metadata = new V1ObjectMeta { Name = "l" }, Spec = new V1LeaseSpec { HolderIdentity = "a" } }, "default", cancellationToken: ct);
        var copy = await client.CoordinationV1.ReadNamespacedLeaseAsync("l", "default", cancellationToken: ct);

        lease.Spec.HolderIdentity = "b";
        await client.CoordinationV1.ReplaceNamespacedLeaseAsync(lease, "l", "default", cancellationToken: ct);
        copy.Spec.HolderIdentity = "c";
        var (code, reason, _) = await FailureOf(() => client.CoordinationV1.ReplaceNamespacedLeaseAsync(copy, "l", "default", cancellationToken: ct));
        Assert.Equal(System.Net.HttpStatusCode.Conflict, code);
        Assert.Equal("Conflict", reason);
        Assert.Equal("b", (await server.GetAsync<V1Lease>("default", "l"))!.Spec.HolderIdentity);
    }

    private static CancellationToken Timeout(int seconds = 20)
    {
        var cts = CancellationTokenSource.CreateLinkedTokenSource(TestContext.Current.CancellationToken);
        cts.CancelAfter(TimeSpan.FromSeconds(seconds));
        return cts.Token;
    }

    /// <summary>Runs a call that must fail and returns the HTTP status plus the Status reason the server sent.</summary>
    private static async Task<(System.Net.HttpStatusCode Code, string? Reason, string Body)> FailureOf(Func<Task> call)
    {
        var error = await Assert.ThrowsAsync<k8s.Autorest.HttpOperationException>(call);
        var status = KubernetesJson.Deserialize<V1Status>(error.Response.Content);
        Assert.Equal("Status", status.Kind);
        Assert.Equal((int)error.Response.StatusCode, status.Code);
        return (error.Response.StatusCode, status.Reason, error.Response.Content);
    }
}
