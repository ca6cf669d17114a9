namespace WorkspaceStorage.Kubernetes.Runtime;

/// <summary>A probe answer: healthy or not, and what is failing (names only, no details that could hold data).</summary>
public sealed record HealthReport(bool Healthy, IReadOnlyList<string> Failing)
{
    public static HealthReport Ok { get; } = new(true, []);
}

/// <summary>
/// The state behind /healthz and /readyz (the HTTP endpoints are wired by the host).
/// Liveness: the process answers. Readiness: every registered check passes; by default a leader is ready once its
/// controllers' informers have synced, and a standby is ready as soon as it takes part in the election.
/// </summary>
public sealed class HealthState
{
    private readonly Lock gate = new();
    private readonly List<(string Name, Func<bool> Check)> readinessChecks = [];

    /// <summary>/healthz: the process is alive and answering.</summary>
    public HealthReport Liveness() => HealthReport.Ok;

    /// <summary>/readyz: every readiness check passes.</summary>
    public HealthReport Readiness()
    {
        List<(string Name, Func<bool> Check)> checks;
        lock (gate)
        {
            checks = [.. readinessChecks];
        }

        var failing = new List<string>();
        foreach (var (name, check) in checks)
        {
            bool ok;
            try
            {
                ok = check();
            }
            catch (Exception)
            {
                ok = false;
            }

            if (!ok)
            {
                failing.Add(name);
            }
        }

        return failing.Count == 0 ? HealthReport.Ok : new HealthReport(false, failing);
    }

    /// <summary>Adds a named readiness check.</summary>
    public void AddReadinessCheck(string name, Func<bool> isReady)
    {
        ArgumentException.ThrowIfNullOrWhiteSpace(name);
        ArgumentNullException.ThrowIfNull(isReady);
        lock (gate)
        {
            readinessChecks.Add((name, isReady));
        }
    }

    /// <summary>Ready when leading with synced controllers, or standing by; not ready before the election starts.</summary>
    public void AddLeaderElection(LeaderElectionRunner runner, IReadOnlyList<IRunnable> controllers)
    {
        ArgumentNullException.ThrowIfNull(runner);
        ArgumentNullException.ThrowIfNull(controllers);
        AddReadinessCheck("leader-election", () => runner.Role != LeadershipRole.NotStarted);
        foreach (var controller in controllers)
        {
            AddReadinessCheck($"controller:{controller.Name}", () => runner.Role != LeadershipRole.Leader || controller.HasSynced);
        }
    }

    /// <summary>Ready when the controllers' informers have synced (without leader election).</summary>
    public void AddControllers(IReadOnlyList<IRunnable> controllers)
    {
        ArgumentNullException.ThrowIfNull(controllers);
        foreach (var controller in controllers)
        {
            AddReadinessCheck($"controller:{controller.Name}", () => controller.HasSynced);
        }
    }
}
