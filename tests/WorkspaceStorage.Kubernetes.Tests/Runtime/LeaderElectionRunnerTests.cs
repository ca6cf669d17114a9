using System.Collections.Concurrent;
using System.Diagnostics;
using WorkspaceStorage.Kubernetes.Runtime;
using WorkspaceStorage.Testing.Kubernetes;
using WorkspaceStorage.Testing.Support;

namespace WorkspaceStorage.Kubernetes.Tests.Runtime;

public sealed class LeaderElectionRunnerTests
{
    private static CancellationToken Ct => TestContext.Current.CancellationToken;

    private static readonly TimeSpan LeaseDuration = TimeSpan.FromSeconds(2);

    private static LeaderElectionOptions Options(string identity, string lease) => new()
    {
        Identity = identity,
        LeaseName = lease,
        LeaseNamespace = "operators",
        LeaseDuration = LeaseDuration,
        RenewDeadline = TimeSpan.FromMilliseconds(1500),
        RetryPeriod = TimeSpan.FromMilliseconds(250),
        StopTimeout = TimeSpan.FromSeconds(5),
    };

    /// <summary>Stands in for the controllers: counts how many replicas do leader work at the same moment.</summary>
    private sealed class SharedWork
    {
        private int active;
        private int maxActive;

        public ConcurrentQueue<string> Starts { get; } = new();

        public int MaxActive => Volatile.Read(ref maxActive);

        public int Active => Volatile.Read(ref active);

        public Func<CancellationToken, Task> For(string identity) => async token =>
        {
            var now = Interlocked.Increment(ref active);
            int seen;
            while ((seen = Volatile.Read(ref maxActive)) < now && Interlocked.CompareExchange(ref maxActive, now, seen) != seen)
            {
            }

            Starts.Enqueue(identity);
            try
            {
                await Task.Delay(Timeout.InfiniteTimeSpan, token); // leader work runs until leadership ends: what is tested
            }
            finally
            {
                Interlocked.Decrement(ref active);
            }
        };
    }

    [Fact]
    public async Task One_of_two_replicas_leads_and_the_standby_takes_over_within_the_lease_duration_after_the_leader_dies()
    {
        await using var kube = await KubeHarness.StartAsync();
        using var clientA = kube.Server.CreateClient();
        using var clientB = kube.Server.CreateClient();
        var work = new SharedWork();
        var lease = "lease-" + Guid.NewGuid().ToString("N")[..6];
        var a = new LeaderElectionRunner(clientA, Options("replica-a", lease), work.For("replica-a"));
        var b = new LeaderElectionRunner(clientB, Options("replica-b", lease), work.For("replica-b"));
        using var stopA = new CancellationTokenSource();
        using var stopB = new CancellationTokenSource();
        var runA = a.RunAsync(stopA.Token);
        var runB = b.RunAsync(stopB.Token);

        await Eventually.TrueAsync(() => a.IsLeader || b.IsLeader, "someone leads");
        // Several renewals (the fence: three more lease updates, however long they take): the leader holds on.
        var updates = kube.Server.RequestCount("update", KubeResources.Leases);
        await Eventually.TrueAsync(() => kube.Server.RequestCount("update", KubeResources.Leases) >= updates + 3, "three more lease renewals",
            observe: () => kube.Server.RequestCount("update", KubeResources.Leases) - updates);
        Assert.True(a.IsLeader ^ b.IsLeader, "exactly one leader");
        var (leader, standby, stopLeader, runLeader) = a.IsLeader ? (a, b, stopA, runA) : (b, a, stopB, runB);
        Assert.Equal(LeadershipRole.Standby, standby.Role);
        Assert.Equal(1, work.Active);
        Assert.Equal(leader.Identity, standby.CurrentLeader);
        var lease1 = await kube.Server.GetAsync<k8s.Models.V1Lease>("operators", lease);
        Assert.Equal(leader.Identity, lease1?.Spec?.HolderIdentity);

        // Kill the leader: its work stops at once, the standby takes over once the lease expires (how soon follows from
        // LeaseDuration and RetryPeriod; no wall-clock bound here, which a loaded machine would break).
        await stopLeader.CancelAsync();
        await runLeader.WaitAsync(TimeSpan.FromSeconds(5), Ct);
        Assert.Equal(LeadershipRole.NotStarted, leader.Role);
        await Eventually.TrueAsync(() => standby.IsLeader, "the standby takes over");
        await Eventually.TrueAsync(() => work.Active == 1, "the new leader works");
        Assert.Equal([leader.Identity, standby.Identity], work.Starts.ToArray());
        Assert.Equal(1, work.MaxActive);

        await (a == standby ? stopA : stopB).CancelAsync();
        await (a == standby ? runA : runB).WaitAsync(TimeSpan.FromSeconds(5), Ct);
        Assert.Equal(0, work.Active);
        Assert.Equal(1, work.MaxActive);
    }

    [Fact]
    public async Task A_leader_that_cannot_renew_stops_its_work_before_the_lease_could_pass_to_another_and_leads_again_later()
    {
        await using var kube = await KubeHarness.StartAsync();
        using var client = kube.Server.CreateClient();
        var work = new SharedWork();
        // A lease far longer than the renew deadline: "stopped before the lease could pass" is then the renew deadline
        // at work (1.5 s) against a 20 s lease, a margin no loaded machine eats, instead of 1.5 s against 2 s.
        var longLease = TimeSpan.FromSeconds(20);
        var runner = new LeaderElectionRunner(client, Options("only", "lease-" + Guid.NewGuid().ToString("N")[..6]) with { LeaseDuration = longLease },
            work.For("only"));
        using var stop = new CancellationTokenSource();
        var run = runner.RunAsync(stop.Token);
        await Eventually.TrueAsync(() => runner.IsLeader && work.Active == 1, "leading");

        var outage = Stopwatch.StartNew();
        using (kube.Server.FailRequests(503, request => request.Type == KubeResources.Leases))
        {
            await Eventually.TrueAsync(() => work.Active == 0, "work stopped while renewals fail");
            Assert.True(outage.Elapsed < longLease, $"work stopped after {outage.Elapsed}, the lease lasts {longLease}");
            Assert.Equal(LeadershipRole.Standby, runner.Role);
        }

        await Eventually.TrueAsync(() => runner.IsLeader && work.Active == 1, "leading again after the outage");
        Assert.Equal(2, runner.Terms);
        await stop.CancelAsync();
        await run.WaitAsync(TimeSpan.FromSeconds(5), Ct);
    }

    /// <summary>Reconciles slowly and forever, noting which replica reconciles when.</summary>
    private sealed class BusyReconciler(string replica, ConcurrentDictionary<string, int> active, Action overlap) : IReconciler<Widget>
    {
        public int Count;

        public async Task<ReconcileResult> ReconcileAsync(ReconcileRequest<Widget> request, CancellationToken cancellationToken)
        {
            active.AddOrUpdate(replica, 1, (_, n) => n + 1);
            try
            {
                if (active.Any(entry => entry.Key != replica && entry.Value > 0))
                {
                    overlap();
                }

                Interlocked.Increment(ref Count);
                await Task.Delay(100, cancellationToken); // a slow reconcile, so a failover lands mid-reconcile: what is tested
                return ReconcileResult.RequeueAfter(TimeSpan.FromMilliseconds(50));
            }
            finally
            {
                active.AddOrUpdate(replica, 0, (_, n) => n - 1);
            }
        }
    }

    [Fact]
    public async Task Two_replicas_running_real_controllers_never_reconcile_at_the_same_time_across_a_failover()
    {
        await using var kube = await KubeHarness.StartAsync();
        for (var i = 0; i < 6; i++)
        {
            await kube.Widgets().CreateAsync(Widget.Create(kube.Namespace, $"w{i}"), Ct);
        }

        var active = new ConcurrentDictionary<string, int>();
        var overlaps = 0;
        var lease = "lease-" + Guid.NewGuid().ToString("N")[..6];
        using var clientA = kube.Server.CreateClient();
        using var clientB = kube.Server.CreateClient();

        (LeaderElectionRunner Runner, BusyReconciler Reconciler) Replica(string name, k8s.Kubernetes client)
        {
            var reconciler = new BusyReconciler(name, active, () => Interlocked.Increment(ref overlaps));
            var widgets = new KubernetesResourceClient<Widget>(client, Widget.Descriptor);
            var controller = new Controller<Widget>("widgets", new Informer<Widget>(widgets, "widgets", new InformerOptions { Namespace = kube.Namespace }), reconciler, new ControllerOptions
            {
                Queue = new WorkQueueOptions { Workers = 4, ShutdownTimeout = TimeSpan.FromMilliseconds(400) },
            });
            return (new LeaderElectionRunner(client, Options(name, lease), controller.RunAsync), reconciler);
        }

        var a = Replica("replica-a", clientA);
        var b = Replica("replica-b", clientB);
        using var stopA = new CancellationTokenSource();
        using var stopB = new CancellationTokenSource();
        var runA = a.Runner.RunAsync(stopA.Token);
        var runB = b.Runner.RunAsync(stopB.Token);

        await Eventually.TrueAsync(() => Volatile.Read(ref a.Reconciler.Count) + Volatile.Read(ref b.Reconciler.Count) >= 12, "the leader reconciles");
        var (leader, standby, stopLeader, runLeader, runStandby, stopStandby) = a.Runner.IsLeader ? (a, b, stopA, runA, runB, stopB) : (b, a, stopB, runB, runA, stopA);
        Assert.Equal(0, Volatile.Read(ref standby.Reconciler.Count));

        await stopLeader.CancelAsync(); // mid-reconcile: four workers are busy
        await runLeader.WaitAsync(TimeSpan.FromSeconds(5), Ct);
        await Eventually.TrueAsync(() => Volatile.Read(ref standby.Reconciler.Count) >= 12, "the standby took over and reconciles", TimeSpan.FromSeconds(10));

        await stopStandby.CancelAsync();
        await runStandby.WaitAsync(TimeSpan.FromSeconds(5), Ct);
        Assert.Equal(0, overlaps);
    }

    [Fact]
    public void Durations_out_of_order_are_refused()
    {
        using var client = new k8s.Kubernetes(new k8s.KubernetesClientConfiguration { Host = "http://127.0.0.1:1" });
        var bad = Options("x", "l") with { RenewDeadline = TimeSpan.FromSeconds(5) };

        Assert.Throws<ArgumentException>(() => new LeaderElectionRunner(client, bad, _ => Task.CompletedTask));
    }

    [Fact]
    public async Task Readiness_reports_standby_as_ready_and_a_leader_only_once_its_controllers_synced()
    {
        await using var kube = await KubeHarness.StartAsync();
        using var client = kube.Server.CreateClient();
        var synced = false;
        var controller = new FakeRunnable(() => synced);
        var runner = new LeaderElectionRunner(client, Options("solo", "lease-" + Guid.NewGuid().ToString("N")[..6]), token => Task.Delay(Timeout.InfiniteTimeSpan, token)); // work until leadership ends
        var health = new HealthState();
        health.AddLeaderElection(runner, [controller]);

        Assert.True(health.Liveness().Healthy);
        Assert.Equal(["leader-election"], health.Readiness().Failing);

        using var stop = new CancellationTokenSource();
        var run = runner.RunAsync(stop.Token);
        await Eventually.TrueAsync(() => runner.IsLeader, "leading");
        Assert.Equal(["controller:fake"], health.Readiness().Failing);

        synced = true;
        Assert.True(health.Readiness().Healthy);

        await stop.CancelAsync();
        await run.WaitAsync(TimeSpan.FromSeconds(5), Ct);
    }

    private sealed class FakeRunnable(Func<bool> synced) : IRunnable
    {
        public string Name => "fake";

        public bool HasSynced => synced();

        public Task RunAsync(CancellationToken cancellationToken) => Task.CompletedTask;
    }
}
