using k8s.Models;
using WorkspaceStorage.Core.Resources;

namespace WorkspaceStorage.Core.Tests.Resources;

public sealed class CredentialRotationTests
{
    private static readonly DateTimeOffset Now = new(2026, 11, 23, 12, 0, 0, TimeSpan.Zero);

    private static ResolvedWorkspaceStorage Spec(string? interval = "720h", bool existing = false) =>
        WorkspaceStorageValidator.Validate(
            new WorkspaceStorageResource
            {
                Metadata = new V1ObjectMeta { Name = "ws-a" },
                Spec = new WorkspaceStorageSpec
                {
                    Credentials = new CredentialsSpec
                    {
                        RotationInterval = existing ? null : interval,
                        ExistingSecretRef = existing ? new ExistingSecretReference { Name = "keys" } : null,
                    },
                },
            },
            hasDefaultBackend: true).Value!;

    private static WorkspaceStorageStatus Status(DateTimeOffset? rotatedAt, string? lastRequest = null) => new()
    {
        AccessKeyId = "AKIA1",
        CredentialsRotatedAt = rotatedAt?.UtcDateTime,
        LastRotationRequest = lastRequest,
    };

    private static Dictionary<string, string> Rotate(string value) => new() { [ResourceMetadata.RotateAnnotation] = value };

    [Fact]
    public void First_key_is_not_a_rotation()
    {
        Assert.Equal(RotationTrigger.None, CredentialRotation.Evaluate(Spec(), null, Rotate("now"), Now).Trigger);
        Assert.Equal(RotationTrigger.None, CredentialRotation.Evaluate(Spec(), new WorkspaceStorageStatus(), Rotate("now"), Now).Trigger);
    }

    [Fact]
    public void Interval_rotation_falls_due_and_reports_when()
    {
        var notYet = CredentialRotation.Evaluate(Spec(), Status(Now.AddHours(-719)), null, Now);
        Assert.Equal(RotationTrigger.None, notYet.Trigger);
        Assert.Equal(Now.AddHours(1), notYet.NextCheck);

        Assert.Equal(RotationTrigger.Interval, CredentialRotation.Evaluate(Spec(), Status(Now.AddHours(-720)), null, Now).Trigger);
    }

    [Fact]
    public void Without_an_interval_only_requests_rotate()
    {
        var decision = CredentialRotation.Evaluate(Spec(interval: null), Status(Now.AddYears(-3)), null, Now);
        Assert.Equal(RotationTrigger.None, decision.Trigger);
        Assert.Null(decision.NextCheck);
    }

    [Fact]
    public void A_new_annotation_value_rotates_once()
    {
        var first = CredentialRotation.Evaluate(Spec(interval: null), Status(Now), Rotate("2026-11-23T12:00"), Now);
        Assert.Equal((RotationTrigger.Requested, "2026-11-23T12:00"), (first.Trigger, first.RequestValue));

        var again = CredentialRotation.Evaluate(Spec(interval: null), Status(Now, lastRequest: "2026-11-23T12:00"), Rotate("2026-11-23T12:00"), Now);
        Assert.False(again.RotateNow);
    }

    [Fact]
    public void One_rotation_at_a_time_so_at_most_two_keys_are_valid()
    {
        var status = Status(Now.AddYears(-1));
        status.PreviousAccessKeyId = "AKIA0";
        status.PreviousKeyRevokeAfter = Now.AddMinutes(5).UtcDateTime;

        var decision = CredentialRotation.Evaluate(Spec(), status, Rotate("again"), Now);

        Assert.False(decision.RotateNow);
        Assert.Equal(Now.AddMinutes(5), decision.NextCheck);
        Assert.False(CredentialRotation.PreviousKeyRevokeDue(status, Now));
        Assert.True(CredentialRotation.PreviousKeyRevokeDue(status, Now.AddMinutes(5)));
    }

    [Fact]
    public void Bring_your_own_keys_are_never_rotated()
    {
        Assert.False(CredentialRotation.Evaluate(Spec(existing: true), Status(Now.AddYears(-1)), Rotate("x"), Now).RotateNow);
    }

    [Fact]
    public void Key_of_unknown_age_is_rotated_when_an_interval_is_set()
    {
        Assert.Equal(RotationTrigger.Interval, CredentialRotation.Evaluate(Spec(), Status(null), null, Now).Trigger);
    }
}
