using WorkspaceStorage.Core.Audit;
using WorkspaceStorage.Core.Model;
using WorkspaceStorage.Core.Signing;
using WorkspaceStorage.Kubernetes.Audit;
using WorkspaceStorage.Kubernetes.Runtime;
using World = WorkspaceStorage.Operator.Tests.Reconciliation.ReconcilerTests.World;

namespace WorkspaceStorage.Operator.Tests.Reconciliation;

/// <summary>
/// The operator's audit records, one test per event type, through the reconciler on the real API server with the
/// in-memory backend and a fake clock: each record's log fields (category WorkspaceStorage.Audit, EventId 1), its Event
/// (reason = type), and that no secret key is in either.
/// </summary>
public sealed class ReconcilerAuditTests
{
    private const string Ns = "team-b";
    private static CancellationToken Ct => TestContext.Current.CancellationToken;

    [Fact]
    public async Task IdentityCreated_names_the_workspace_backend_access_and_prefix()
    {
        await using var w = await World.StartAsync();
        await w.CreateAsync("a-id", new WorkspaceStorageSpec { Workspace = "ws-a-id", Access = WorkspaceAccess.ReadOnly });
        await w.ReconcileAsync("a-id");

        AssertRecorded(w, AuditEventType.IdentityCreated, new()
        {
            ["workspace"] = "ws-a-id", ["actor"] = "operator", ["backend"] = "", ["access"] = "ReadOnly", ["path"] = "shared/ws-a-id/",
            ["accessKeyId"] = null, ["expiresAt"] = null,
        }, await w.KeyAsync("a-id-s3"));

        // Converged: a second reconcile creates nothing, so it records nothing.
        await w.ReconcileAsync("a-id");
        Assert.Single(w.Audit.OfType(nameof(AuditEventType.IdentityCreated)));
    }

    [Fact]
    public async Task KeyIssued_names_the_first_key_by_its_public_id()
    {
        await using var w = await World.StartAsync();
        await w.CreateAsync("a-key", new WorkspaceStorageSpec { Workspace = "ws-a-key" });
        await w.ReconcileAsync("a-key");
        var key = await w.KeyAsync("a-key-s3");

        AssertRecorded(w, AuditEventType.KeyIssued, new()
        {
            ["workspace"] = "ws-a-key", ["actor"] = "operator", ["access"] = "ReadWrite", ["accessKeyId"] = key.AccessKeyId,
            ["reason"] = "first key, in Secret a-key-s3", ["previousAccessKeyId"] = null,
        }, key);
        Assert.Empty(w.Audit.OfType(nameof(AuditEventType.KeyRotated)));
    }

    [Fact]
    public async Task KeyRotated_names_the_new_key_the_replaced_one_and_when_the_replaced_one_expires()
    {
        await using var w = await World.StartAsync();
        var (original, rotated) = await RotateAsync(w, "a-rot");

        AssertRecorded(w, AuditEventType.KeyRotated, new()
        {
            ["workspace"] = "ws-a-rot", ["actor"] = "operator", ["accessKeyId"] = rotated.AccessKeyId, ["previousAccessKeyId"] = original.AccessKeyId,
            ["expiresAt"] = AuditEvent.FormatTime(w.Time.GetUtcNow().AddMinutes(10)), ["reason"] = "rotationInterval 1h0m0s elapsed",
        }, original, rotated);
        Assert.DoesNotContain(w.Events.Events, e => e.Reason == "CredentialsRotated"); // one rule, one name
    }

    [Fact]
    public async Task KeyRevoked_names_the_revoked_key_and_why()
    {
        await using var w = await World.StartAsync();
        var (original, rotated) = await RotateAsync(w, "a-rev");
        w.Time.Advance(TimeSpan.FromMinutes(10) + TimeSpan.FromSeconds(1));
        await w.ReconcileAsync("a-rev");

        AssertRecorded(w, AuditEventType.KeyRevoked, new()
        {
            ["workspace"] = "ws-a-rev", ["actor"] = "operator", ["accessKeyId"] = original.AccessKeyId, ["reason"] = "its grace period ended",
        }, original, rotated);
    }

    [Fact]
    public async Task IdentityDeleted_names_the_workspace_its_last_key_and_what_happened_to_the_data()
    {
        await using var w = await World.StartAsync();
        await w.CreateAsync("a-del", new WorkspaceStorageSpec { Workspace = "ws-a-del", DeletionPolicy = DeletionPolicy.Delete });
        await w.ReconcileAsync("a-del");
        var key = await w.KeyAsync("a-del-s3");
        Assert.Equal(1, w.Reconciler.Usage.Remembered);
        await w.Storages.DeleteAsync(new ResourceKey(Ns, "a-del"), Ct);
        await w.ReconcileAsync("a-del");
        Assert.Equal(0, w.Reconciler.Usage.Remembered); // the usage reader forgets a deleted workspace: no growth with churn

        AssertRecorded(w, AuditEventType.IdentityDeleted, new()
        {
            ["workspace"] = "ws-a-del", ["actor"] = "operator", ["accessKeyId"] = key.AccessKeyId, ["path"] = "shared/ws-a-del/",
            ["reason"] = "deletionPolicy Delete: data removed",
        }, key);
        Assert.False(w.Backend.Identities.ContainsKey("ws-a-del"));
    }

    /// <summary>A rotation by rotationInterval (1h, grace 10m): the key before and after.</summary>
    private static async Task<(AwsCredentials Original, AwsCredentials Rotated)> RotateAsync(World w, string name)
    {
        await w.CreateAsync(name, new WorkspaceStorageSpec
        {
            Workspace = "ws-" + name,
            Credentials = new CredentialsSpec { RotationInterval = "1h", RotationGracePeriod = "10m" },
        });
        await w.ReconcileAsync(name);
        var original = await w.KeyAsync(name + "-s3");
        w.Time.Advance(TimeSpan.FromMinutes(61));
        await w.ReconcileAsync(name);
        var rotated = await w.KeyAsync(name + "-s3");
        Assert.NotEqual(original.AccessKeyId, rotated.AccessKeyId);
        return (original, rotated);
    }

    /// <summary>
    /// Exactly one log record of <paramref name="type"/> on EventId 1 whose fields are <paramref name="expected"/> (null:
    /// the field is empty), an Event with reason <paramref name="type"/> naming the same key, and none of
    /// <paramref name="keys"/>' secrets in any record or Event.
    /// </summary>
    private static void AssertRecorded(World w, AuditEventType type, Dictionary<string, string?> expected, params AwsCredentials[] keys)
    {
        var record = Assert.Single(w.Audit.OfType(type.ToString()));
        Assert.Equal(AuditTrail.LogEventId, record.EventId);
        record.RequireFields(expected);

        var @event = Assert.Single(w.Events.Events, e => e.Reason == type.ToString());
        Assert.Contains($"workspace '{expected["workspace"]}'", @event.Message, StringComparison.Ordinal);
        if (expected.GetValueOrDefault("accessKeyId") is { } keyId)
        {
            Assert.Contains($"key {keyId}", @event.Message, StringComparison.Ordinal);
        }

        foreach (var secret in keys.Select(k => k.SecretAccessKey))
        {
            Assert.DoesNotContain(w.Audit.Records, r => r.All.Contains(secret, StringComparison.Ordinal));
            Assert.DoesNotContain(w.Events.Events, e => e.Message.Contains(secret, StringComparison.Ordinal));
        }
    }
}
