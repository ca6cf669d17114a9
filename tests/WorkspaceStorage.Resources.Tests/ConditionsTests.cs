using k8s.Models;
using WorkspaceStorage.Core.Model;

namespace WorkspaceStorage.Resources.Tests;

public sealed class ConditionsTests
{
    private static readonly DateTimeOffset T0 = new(2026, 11, 23, 10, 0, 0, 123, TimeSpan.Zero);

    [Fact]
    public void Ready_removes_reconciling_and_stalled_and_records_the_generation()
    {
        var status = new WorkspaceStorageStatus();
        status.MarkReconciling(1, ConditionReasons.Progressing, "creating identity", T0);
        status.MarkStalled(1, ConditionReasons.BackendUnavailable, "down", T0);

        Assert.True(status.MarkReady(2, ConditionReasons.Reconciled, "ready", T0.AddMinutes(1)));

        var ready = Assert.Single(status.Conditions);
        Assert.Equal((ConditionTypes.Ready, "True", ConditionReasons.Reconciled, "ready", 2L), (ready.Type, ready.Status, ready.Reason, ready.Message, ready.ObservedGeneration!.Value));
        Assert.Equal(2, status.ObservedGeneration);
        Assert.True(status.IsTrue(ConditionTypes.Ready));
    }

    [Fact]
    public void Reconciling_makes_ready_unknown_without_touching_observed_generation()
    {
        var status = new WorkspaceStorageStatus();
        status.MarkReady(1, ConditionReasons.Reconciled, "ready", T0);

        status.MarkReconciling(2, ConditionReasons.RotatingCredentials, "rotating", T0.AddMinutes(1));

        Assert.Equal("True", status.Find(ConditionTypes.Reconciling)!.Status);
        Assert.Equal("Unknown", status.Find(ConditionTypes.Ready)!.Status);
        Assert.Equal(ConditionReasons.RotatingCredentials, status.Find(ConditionTypes.Ready)!.Reason);
        Assert.Null(status.Find(ConditionTypes.Stalled));
        Assert.Equal(1, status.ObservedGeneration);
    }

    [Fact]
    public void Stalled_forces_ready_false_and_clears_reconciling()
    {
        var status = new WorkspaceStorageStatus();
        status.MarkReconciling(3, ConditionReasons.Progressing, "working", T0);

        status.MarkStalled(3, ConditionReasons.InvalidSpec, "spec.workspace: must contain a hyphen", T0);

        Assert.Equal("True", status.Find(ConditionTypes.Stalled)!.Status);
        Assert.Equal("False", status.Find(ConditionTypes.Ready)!.Status);
        Assert.Equal("spec.workspace: must contain a hyphen", status.Find(ConditionTypes.Ready)!.Message);
        Assert.Null(status.Find(ConditionTypes.Reconciling));
        Assert.Equal(3, status.ObservedGeneration);
    }

    [Fact]
    public void Transition_time_changes_only_when_the_status_changes()
    {
        var status = new WorkspaceStorageStatus();
        status.MarkReady(1, ConditionReasons.Reconciled, "ready", T0);
        var first = status.Find(ConditionTypes.Ready)!.LastTransitionTime;

        status.MarkReady(2, ConditionReasons.Reconciled, "ready again", T0.AddHours(1));
        Assert.Equal(first, status.Find(ConditionTypes.Ready)!.LastTransitionTime);
        Assert.Equal("ready again", status.Find(ConditionTypes.Ready)!.Message);

        status.MarkStalled(2, ConditionReasons.BackendRejected, "no", T0.AddHours(2));
        Assert.Equal(T0.AddHours(2).UtcDateTime.AddTicks(-T0.UtcDateTime.Ticks % TimeSpan.TicksPerSecond), status.Find(ConditionTypes.Ready)!.LastTransitionTime);
    }

    [Fact]
    public void Marking_the_same_state_twice_reports_no_change_so_no_status_write_happens()
    {
        var status = new WorkspaceStorageStatus();
        Assert.True(status.MarkReady(4, ConditionReasons.Reconciled, "ready", T0));
        Assert.False(status.MarkReady(4, ConditionReasons.Reconciled, "ready", T0.AddMinutes(5)));
        Assert.True(status.MarkStalled(4, ConditionReasons.InvalidSpec, "x", T0));
        Assert.False(status.MarkStalled(4, ConditionReasons.InvalidSpec, "x", T0.AddMinutes(1)));
        Assert.True(status.MarkStalled(5, ConditionReasons.InvalidSpec, "x", T0.AddMinutes(1)));
    }

    [Fact]
    public void Times_are_whole_seconds_in_utc_as_the_api_server_stores_them()
    {
        var status = new WorkspaceStorageStatus();
        status.MarkReady(1, ConditionReasons.Reconciled, "ready", new DateTimeOffset(2026, 1, 1, 12, 0, 0, 999, TimeSpan.FromHours(2)));
        var time = status.Find(ConditionTypes.Ready)!.LastTransitionTime;
        Assert.Equal(new DateTime(2026, 1, 1, 10, 0, 0, DateTimeKind.Utc), time);
        Assert.Equal(DateTimeKind.Utc, time.Kind);
    }

    [Fact]
    public void Set_rejects_a_status_kubectl_wait_would_not_understand()
    {
        var status = new StorageBackendStatus();
        Assert.Throws<ArgumentOutOfRangeException>(() => status.Set(ConditionTypes.Ready, "true", "Reason", "m", 1, T0));
        Assert.Throws<ArgumentException>(() => status.Set(ConditionTypes.Ready, "True", "", "m", 1, T0));
    }

    [Fact]
    public void Works_on_a_status_read_with_existing_conditions()
    {
        var status = new StorageBackendStatus
        {
            Conditions = [new V1Condition { Type = "Ready", Status = "False", Reason = "Old", Message = "old", LastTransitionTime = T0.UtcDateTime }],
        };

        Assert.True(status.MarkReady(7, ConditionReasons.Reconciled, "ok", T0.AddDays(1)));
        Assert.Single(status.Conditions);
        Assert.Equal(7, status.ObservedGeneration);
    }

    [Fact]
    public void Overlong_messages_are_cut_to_what_the_api_server_accepts()
    {
        var status = new WorkspaceStorageStatus();
        status.MarkStalled(1, ConditionReasons.InvalidSpec, new string('x', 40000), T0);
        Assert.Equal(Conditions.MaxMessageLength, status.Find(ConditionTypes.Ready)!.Message.Length);
        Assert.EndsWith("...", status.Find(ConditionTypes.Stalled)!.Message, StringComparison.Ordinal);
    }
}
