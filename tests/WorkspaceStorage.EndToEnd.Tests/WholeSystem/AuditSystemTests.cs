using System.Net;
using System.Net.Http.Json;
using System.Text.Json;
using k8s.Models;
using WorkspaceStorage.Core.Audit;
using WorkspaceStorage.Core.Credentials;
using WorkspaceStorage.Core.Model;
using WorkspaceStorage.Core.Workspaces;
using WorkspaceStorage.Resources;
using WorkspaceStorage.Testing.Support;

namespace WorkspaceStorage.EndToEnd.Tests.WholeSystem;

/// <summary>
/// The audit trail of one workspace's whole life, with the real operator, the real companion, the real API server and
/// RGW: identity created, first key, a rotation, the old key revoked, temporary credentials and a presigned URL handed
/// to a Hypha user, the identity deleted. Every type appears as a log record on WorkspaceStorage.Audit (and, but for
/// presigned URLs, as an Event with the type as reason), and none of the secrets of that life (both long-lived secret
/// keys, the temporary secret key and session token, the Hypha token and the JWT secret that signs it) is in any of them.
/// </summary>
public sealed class AuditSystemTests
{
    private const string Ns = "team-audit";
    private const string Name = "audited";

    private static CancellationToken Ct => TestContext.Current.CancellationToken;

    [Fact]
    public async Task Every_audit_record_of_a_workspaces_life_is_logged_and_evented_and_none_carries_a_secret()
    {
        await using var cluster = await LocalCluster.StartAsync([Ns], Ct);
        await using var companion = await CompanionHost.StartAsync(cluster, new Dictionary<string, string?>(), null, Ct);
        var workspace = WorkspaceId.Parse("ws-audit-" + Guid.NewGuid().ToString("N")[..8]);
        var secrets = new List<string> { companion.Tokens.Secret };

        await cluster.Kube.SeedAsync(new WorkspaceStorageResource
        {
            Metadata = new V1ObjectMeta { Name = Name, NamespaceProperty = Ns },
            Spec = new WorkspaceStorageSpec
            {
                Workspace = workspace.Value,
                BackendRef = new BackendReference { Name = cluster.BackendName },
                DeletionPolicy = DeletionPolicy.Delete,
                Credentials = new CredentialsSpec { RotationGracePeriod = "3s" },
            },
        });
        await ReadyAsync(cluster);
        var first = await KeyAsync(cluster);
        secrets.Add(first.SecretAccessKey);

        // A rotation on request; the old key is revoked once its 3 s grace period ends.
        await cluster.Kube.ModifyAsync<WorkspaceStorageResource>(Ns, Name, ws =>
        {
            ws.Metadata.Annotations ??= new Dictionary<string, string>();
            ws.Metadata.Annotations[ResourceMetadata.RotateAnnotation] = "audit-1";
        });
        var rotated = await Eventually.ValueAsync(_ => KeyAsync(cluster), k => k.AccessKeyId != first.AccessKeyId, "the rotated key");
        secrets.Add(rotated.SecretAccessKey);
        await EventAsync(cluster, nameof(AuditEventType.KeyRevoked), first.AccessKeyId);

        // A Hypha user: temporary credentials (once the companion serves the workspace) and a presigned URL.
        var token = companion.Tokens.ForWorkspace(workspace.Value, "rw");
        secrets.Add(token);
        var credential = await Eventually.ValueAsync(_ => CallAsync(companion, workspace, token, "generate_credential", null), c => c is not null,
            "temporary credentials from the companion");
        secrets.Add(credential!.Value.GetProperty("secret_access_key").GetString()!);
        secrets.Add(credential.Value.GetProperty("session_token").GetString()!);
        var url = await CallAsync(companion, workspace, token, "generate_presigned_url", new { path = "report.csv", client_method = "put_object" });
        var signature = new Uri(url!.Value.GetString()!).Query.Split('&').Single(p => p.StartsWith("X-Amz-Signature=", StringComparison.Ordinal))[16..];
        secrets.Add(signature);
        // Multipart part URLs are presigned URLs handed out too: one record for the upload, no URL in it.
        var multipart = await CallAsync(companion, workspace, token, "put_file_start_multipart", new { file_path = "big.bin", part_count = 2 });
        foreach (var part in multipart!.Value.GetProperty("parts").EnumerateArray())
        {
            secrets.Add(new Uri(part.GetProperty("url").GetString()!).Query.Split('&').Single(p => p.StartsWith("X-Amz-Signature=", StringComparison.Ordinal))[16..]);
        }

        await EventAsync(cluster, nameof(AuditEventType.TemporaryCredentialIssued), "github|12345");
        await cluster.Kube.DeleteAsync<WorkspaceStorageResource>(Ns, Name);
        await EventAsync(cluster, nameof(AuditEventType.IdentityDeleted), workspace.Value);

        var events = (await cluster.Kube.ObjectsAsync<Corev1Event>(Ns)).Where(e => e.InvolvedObject.Name == Name).ToList();
        var operatorAudit = AuditLines(cluster.Operator!.Logs);
        var companionAudit = AuditLines(companion.Logs);
        foreach (var type in Enum.GetValues<AuditEventType>())
        {
            var log = type is AuditEventType.TemporaryCredentialIssued or AuditEventType.PresignedUrlIssued ? companionAudit : operatorAudit;
            Assert.True(log.Any(l => l.Contains($"type={type} ", StringComparison.Ordinal) && l.Contains($"workspace={workspace} ", StringComparison.Ordinal)),
                $"no {type} audit log record for {workspace} among:\n{string.Join('\n', log)}");
            Assert.Equal(type != AuditEventType.PresignedUrlIssued, events.Any(e => e.Reason == type.ToString()));
        }

        Assert.Contains(companionAudit, l => l.Contains("type=PresignedUrlIssued ", StringComparison.Ordinal)
            && l.Contains($"path={workspace}/big.bin ", StringComparison.Ordinal) && l.Contains("reason=multipart upload, 2 part URLs", StringComparison.Ordinal));
        var everything = operatorAudit.Concat(companionAudit).Concat(events.Select(e => $"{e.Reason}: {e.Message}")).ToList();
        foreach (var secret in secrets)
        {
            Assert.False(string.IsNullOrEmpty(secret));
            var leak = everything.FirstOrDefault(l => l.Contains(secret, StringComparison.Ordinal));
            Assert.True(leak is null, $"a secret ({secret.Length} characters) is in an audit record: {leak?.Replace(secret, "<SECRET>", StringComparison.Ordinal)}");
        }
    }

    private static IReadOnlyList<string> AuditLines(LogCapture logs) =>
        [.. logs.Lines.Where(l => l.Contains(" WorkspaceStorage.Audit: ", StringComparison.Ordinal))];

    private static Task ReadyAsync(LocalCluster cluster) =>
        Eventually.ValueAsync(_ => cluster.Kube.GetAsync<WorkspaceStorageResource>(Ns, Name), ws => ws?.Status.IsTrue(ConditionTypes.Ready) == true,
            "the WorkspaceStorage Ready", TimeSpan.FromSeconds(90));

    private static async Task<Core.Signing.AwsCredentials> KeyAsync(LocalCluster cluster) =>
        CredentialSecretLayout.ReadCredentials((await cluster.Kube.GetAsync<V1Secret>(Ns, Name + "-s3"))!.Data)!;

    /// <summary>Waits for an Event on the WorkspaceStorage with <paramref name="reason"/> whose message contains <paramref name="text"/>.</summary>
    private static Task EventAsync(LocalCluster cluster, string reason, string text) =>
        Eventually.ValueAsync(_ => cluster.Kube.ObjectsAsync<Corev1Event>(Ns),
            events => events.Any(e => e.Reason == reason && e.InvolvedObject.Name == Name && e.Message.Contains(text, StringComparison.Ordinal)),
            $"an Event {reason} naming {text}", TimeSpan.FromSeconds(60),
            events => string.Join('\n', events.Select(e => $"{e.Reason}: {e.Message}")));

    /// <summary>The JSON answer of a 200, or null for anything else (the companion may not serve the workspace yet).</summary>
    private static async Task<JsonElement?> CallAsync(CompanionHost companion, WorkspaceId workspace, string token, string method, object? arguments)
    {
        using var request = new HttpRequestMessage(HttpMethod.Post, $"/{workspace}/services/s3-storage/{method}")
        {
            Content = JsonContent.Create(arguments ?? new Dictionary<string, object>()),
        };
        request.Headers.Authorization = new("Bearer", token);
        using var response = await companion.Http.SendAsync(request, Ct);
        return response.StatusCode == HttpStatusCode.OK
            ? JsonDocument.Parse(await response.Content.ReadAsStringAsync(Ct)).RootElement.Clone()
            : null;
    }
}
