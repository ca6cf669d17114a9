using WorkspaceStorage.Core.Credentials;
using WorkspaceStorage.Core.Model;

namespace WorkspaceStorage.Core.Tests.Credentials;

public sealed class CredentialRotationTests
{
    private static readonly DateTimeOffset Now = new(2026, 11, 23, 12, 0, 0, TimeSpan.Zero);
    private static readonly TimeSpan Grace = TimeSpan.FromMinutes(10);

    private static ValidatedWorkspaceStorage Spec(string? interval = "720h", bool existing = false, string grace = "10m") =>
        WorkspaceStorageValidator.Validate(
            "ws-a",
            new WorkspaceStorageSpec
            {
                Credentials = new CredentialsSpec
                {
                    RotationInterval = existing ? null : interval,
                    RotationGracePeriod = grace,
                    ExistingSecretRef = existing ? new ExistingSecretReference { Name = "keys" } : null,
                },
            },
            hasDefaultBackend: true).Value!;

    private static KeyState Made(DateTimeOffset? at, string? lastRequest = null) => new(null, null, at, lastRequest);

    private static KeyPlan Plan(ValidatedWorkspaceStorage spec, KeyState state, string? request = null, DateTimeOffset? now = null, string current = "AKIA1") =>
        CredentialRotation.Plan(spec, state, current, secretExists: true, holdsBroughtKey: false, request, now ?? Now);

    [Fact]
    public void The_first_key_is_issued_not_rotated()
    {
        var plan = CredentialRotation.Plan(Spec(), KeyState.None, null, secretExists: false, holdsBroughtKey: false, "now", Now);

        Assert.Equal(KeyAction.Issue, plan.Action);
        Assert.Null(plan.Reason);
        Assert.Null(plan.State.PreviousAccessKeyId);
        Assert.Equal(("now", Now), (plan.State.RotationRequest, plan.State.RotatedAt));
        Assert.Equal(Now.AddHours(720), plan.NextCheck);
    }

    [Fact]
    public void A_Secret_without_a_usable_key_gets_a_new_one_and_says_why()
    {
        var plan = CredentialRotation.Plan(Spec(), Made(Now.AddDays(-1)), null, secretExists: true, holdsBroughtKey: false, null, Now);

        Assert.Equal(KeyAction.Issue, plan.Action);
        Assert.Equal("the Secret held no usable key", plan.Reason);
    }

    [Fact]
    public void Interval_rotation_falls_due_and_reports_when()
    {
        var notYet = Plan(Spec(), Made(Now.AddHours(-719)));
        Assert.Equal(KeyAction.Keep, notYet.Action);
        Assert.Equal(Now.AddHours(1), notYet.NextCheck);

        var due = Plan(Spec(), Made(Now.AddHours(-720)));
        Assert.Equal(KeyAction.Rotate, due.Action);
        Assert.Equal(new KeyState("AKIA1", Now + Grace, Now, null), due.State);
        Assert.Equal(Now + Grace, due.NextCheck);
        Assert.Contains("rotationInterval 720h0m0s elapsed", due.Reason, StringComparison.Ordinal);
    }

    [Fact]
    public void Without_an_interval_only_requests_rotate()
    {
        var plan = Plan(Spec(interval: null), Made(Now.AddYears(-3)));
        Assert.Equal(KeyAction.Keep, plan.Action);
        Assert.Null(plan.NextCheck);
    }

    [Fact]
    public void A_new_annotation_value_rotates_once()
    {
        var first = Plan(Spec(interval: null), Made(Now), "2026-11-23T12:00");
        Assert.Equal(KeyAction.Rotate, first.Action);
        Assert.Equal("2026-11-23T12:00", first.State.RotationRequest);

        var again = Plan(Spec(interval: null), Made(Now, lastRequest: "2026-11-23T12:00"), "2026-11-23T12:00");
        Assert.Equal(KeyAction.Keep, again.Action);
    }

    [Fact]
    public void Without_a_grace_period_the_replaced_key_is_not_kept()
    {
        var plan = Plan(Spec(interval: null, grace: "0s"), Made(Now), "r1");
        Assert.Equal(KeyAction.Rotate, plan.Action);
        Assert.Null(plan.State.PreviousAccessKeyId);
    }

    /// <summary>
    /// The case the two old copies of the rule disagreed on: a second rotation requested inside the first one's grace
    /// period. It waits for the first grace period to end, then starts; no key is revoked before its own grace period
    /// ends, and the key workloads were handed by the first rotation gets a full grace period of its own.
    /// </summary>
    [Fact]
    public void A_second_rotation_inside_the_first_grace_period_waits_for_it_and_then_starts()
    {
        var spec = Spec(interval: null);
        var afterFirst = Plan(spec, Made(Now.AddDays(-1)), "r1", current: "AKIA0");
        Assert.Equal(KeyAction.Rotate, afterFirst.Action);
        var state = afterFirst.State; // what the Secret records: AKIA0 valid until Now + 10m; AKIA1 (made now) is current

        // Two minutes later, a second request: nothing is rotated or revoked yet.
        var second = Plan(spec, state, "r2", Now.AddMinutes(2));
        Assert.Equal(KeyAction.Keep, second.Action);
        Assert.Null(second.RetiredKeyId);
        Assert.Equal(state, second.State);
        Assert.Equal(Now + Grace, second.NextCheck);
        Assert.Contains("starts when key AKIA0 is revoked", second.Deferred, StringComparison.Ordinal);

        // A second before the first grace period ends: still nothing.
        Assert.Equal(KeyAction.Keep, Plan(spec, state, "r2", Now + Grace - TimeSpan.FromSeconds(1)).Action);

        // When it ends: AKIA0 is retired, and the waiting rotation starts with a full grace period for AKIA1.
        var later = Now + Grace;
        var third = Plan(spec, state, "r2", later);
        Assert.Equal(KeyAction.Rotate, third.Action);
        Assert.Equal("AKIA0", third.RetiredKeyId);
        Assert.Equal(new KeyState("AKIA1", later + Grace, later, "r2"), third.State);
        Assert.Contains("r2", third.Reason, StringComparison.Ordinal);
    }

    [Fact]
    public void An_interval_that_falls_due_inside_a_grace_period_also_waits()
    {
        var state = new KeyState("AKIA0", Now.AddMinutes(5), Now.AddHours(-721), null);
        var plan = Plan(Spec(), state);
        Assert.Equal(KeyAction.Keep, plan.Action);
        Assert.Equal(Now.AddMinutes(5), plan.NextCheck);
        Assert.NotNull(plan.Deferred);
    }

    [Fact]
    public void An_ended_grace_period_retires_the_previous_key()
    {
        var plan = Plan(Spec(interval: null), new KeyState("AKIA0", Now, Now.AddMinutes(-10), "r1"), "r1");
        Assert.Equal(KeyAction.Keep, plan.Action);
        Assert.Equal("AKIA0", plan.RetiredKeyId);
        Assert.Equal(new KeyState(null, null, Now.AddMinutes(-10), "r1"), plan.State);
        Assert.Null(plan.NextCheck);
    }

    [Fact]
    public void Bring_your_own_keys_are_never_rotated_and_are_adopted_when_they_change()
    {
        var keep = CredentialRotation.Plan(Spec(existing: true), Made(Now.AddYears(-1)), "AKIA1", secretExists: true, holdsBroughtKey: true, "x", Now);
        Assert.Equal(KeyAction.Keep, keep.Action);
        Assert.Null(keep.NextCheck);

        var adopt = CredentialRotation.Plan(Spec(existing: true), Made(Now.AddYears(-1)), "AKIA1", secretExists: true, holdsBroughtKey: false, "x", Now);
        Assert.Equal(KeyAction.Adopt, adopt.Action);
        Assert.Equal(new KeyState(null, null, Now, null), adopt.State);
    }

    [Fact]
    public void Key_of_unknown_age_is_rotated_when_an_interval_is_set()
    {
        Assert.Equal(KeyAction.Rotate, Plan(Spec(), Made(null)).Action);
    }

    [Fact]
    public void The_Secret_annotations_round_trip_the_key_state()
    {
        var state = new KeyState("AKIA0", Now.AddMinutes(10), Now, "r1");
        var annotations = CredentialSecretAnnotations.For(new Dictionary<string, byte[]>(), "ws-a", state);
        Assert.Equal(state, CredentialSecretAnnotations.Read(annotations));
        Assert.Equal(KeyState.None, CredentialSecretAnnotations.Read(null));

        // A previous key without a readable revocation time is not trusted to be kept.
        annotations[CredentialSecretAnnotations.PreviousKeyRevokeAfter] = "soon";
        Assert.Null(CredentialSecretAnnotations.Read(annotations).PreviousAccessKeyId);
    }
}
