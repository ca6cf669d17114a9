using System.Collections.Concurrent;
using System.Net;
using System.Net.Http.Headers;
using System.Net.Http.Json;
using System.Text.Json;
using k8s;
using k8s.Models;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;
using WorkspaceStorage.Api.Tests.Host;
using WorkspaceStorage.Api.Workspaces;
using WorkspaceStorage.Core.Audit;
using WorkspaceStorage.Core.Credentials;
using WorkspaceStorage.Core.Signing;
using WorkspaceStorage.Core.Workspaces;
using WorkspaceStorage.Kubernetes.Audit;
using WorkspaceStorage.Kubernetes.Runtime;
using WorkspaceStorage.Resources;
using WorkspaceStorage.Storage.Backends;
using WorkspaceStorage.Testing.Support;

namespace WorkspaceStorage.Api.Tests.Audit;

/// <summary>
/// The companion's audit records through its real HTTP routes (no storage server needed: presigning is local and the
/// temporary credentials come from a fake issuer): TemporaryCredentialIssued and PresignedUrlIssued with their fields,
/// the Event of the first (written in the background, one per minute per caller and access), none for the second, and
/// no secret key, session token or Hypha token in any of them.
/// </summary>
public sealed class CompanionAuditTests : IAsyncDisposable
{
    private static readonly WorkspaceId Workspace = WorkspaceId.Parse("ws-audit");
    private static readonly DateTimeOffset Expiration = new(2030, 1, 2, 3, 4, 5, TimeSpan.Zero);
    private static CancellationToken Ct => TestContext.Current.CancellationToken;

    private readonly AuditLog audit = new();
    private readonly ListRecorder events = new();
    private readonly AwsCredentials workspaceKey = AccessKeyGenerator.Generate();
    private readonly AwsCredentials temporary = new("TEMPAUDITKEY0000001", "temporary-secret-" + Guid.NewGuid().ToString("N"), "session-token-" + Guid.NewGuid().ToString("N"));
    private TestApi? api;

    private sealed class ListRecorder : IEventRecorder
    {
        public ConcurrentQueue<(string Object, string Reason, string Message)> Events { get; } = new();

        public Task RecordAsync(IKubernetesObject<V1ObjectMeta> regarding, EventSeverity severity, string reason, string message, CancellationToken cancellationToken)
        {
            Events.Enqueue((regarding.Metadata.Name, reason, message));
            return Task.CompletedTask;
        }
    }

    private sealed class FixedIssuer(AwsCredentials credentials) : ITemporaryCredentialIssuer
    {
        public Task<TemporaryCredentials> IssueAsync(WorkspaceId workspace, AccessLevel access, TimeSpan lifetime, CancellationToken cancellationToken) =>
            Task.FromResult(new TemporaryCredentials(credentials, Expiration));
    }

    [Theory]
    [InlineData("rw", "ReadWrite")]
    [InlineData("r", "ReadOnly")]
    public async Task TemporaryCredentialIssued_names_who_which_workspace_access_key_id_and_expiry(string permission, string access)
    {
        var token = await StartAsync(permission);
        var answer = await CallOkAsync("generate_credential", token);
        Assert.Equal(temporary.SecretAccessKey, answer.GetProperty("secret_access_key").GetString()); // the caller gets it; the trail must not

        var record = Assert.Single(audit.OfType(nameof(AuditEventType.TemporaryCredentialIssued)));
        Assert.Equal(AuditTrail.LogEventId, record.EventId);
        record.RequireFields(new Dictionary<string, string?>
        {
            ["workspace"] = "ws-audit", ["actor"] = "user", ["user"] = "github|12345", ["client"] = "ws-audit/client-1", ["backend"] = "ceph",
            ["access"] = access, ["accessKeyId"] = temporary.AccessKeyId, ["expiresAt"] = "2030-01-02T03:04:05Z", ["path"] = "ws-audit/",
        });
        var @event = await EventAsync(nameof(AuditEventType.TemporaryCredentialIssued));
        Assert.Equal("audit-ws", @event.Object);
        Assert.Contains("by user github|12345 (client ws-audit/client-1)", @event.Message, StringComparison.Ordinal);
        Assert.Contains($"access {access}; key {temporary.AccessKeyId}; expires 2030-01-02T03:04:05Z", @event.Message, StringComparison.Ordinal);
        AssertNoSecret(token);
    }

    [Theory]
    [InlineData("get_object", "GET", "ReadOnly")]
    [InlineData("put_object", "PUT", "ReadWrite")]
    public async Task PresignedUrlIssued_names_the_object_method_and_expiry_in_a_log_record_and_makes_no_Event(string clientMethod, string method, string access)
    {
        var token = await StartAsync("rw");
        var before = DateTimeOffset.UtcNow;
        var url = (await CallOkAsync("generate_presigned_url", token, new { path = "dir/file.txt", client_method = clientMethod, expiration = 600 })).GetString()!;

        var record = Assert.Single(audit.OfType(nameof(AuditEventType.PresignedUrlIssued)));
        record.RequireFields(new Dictionary<string, string?>
        {
            ["workspace"] = "ws-audit", ["actor"] = "user", ["user"] = "github|12345", ["client"] = "ws-audit/client-1",
            ["access"] = access, ["accessKeyId"] = workspaceKey.AccessKeyId, ["method"] = method, ["path"] = "ws-audit/dir/file.txt",
        });
        var expires = DateTimeOffset.Parse(record["expiresAt"]!, System.Globalization.CultureInfo.InvariantCulture);
        Assert.InRange(expires, before.AddSeconds(599), DateTimeOffset.UtcNow.AddSeconds(601));

        // The URL's signature is a bearer credential too: the record names the object, not the URL.
        var signature = new Uri(url).Query.Split('&').Single(p => p.Contains("X-Amz-Signature=", StringComparison.Ordinal)).Split('=')[1];
        Assert.DoesNotContain(audit.Records, r => r.All.Contains(signature, StringComparison.Ordinal));

        // An Event that was going to be written would be under way by now; a later credential's Event arrives, the presign's never.
        await CallOkAsync("generate_credential", token);
        await EventAsync(nameof(AuditEventType.TemporaryCredentialIssued));
        Assert.DoesNotContain(events.Events, e => e.Reason == nameof(AuditEventType.PresignedUrlIssued));
        AssertNoSecret(token);
    }

    [Fact]
    public async Task A_download_redirect_is_a_presigned_URL_handed_out_and_is_recorded_without_the_URL()
    {
        var token = await StartAsync("r", new Dictionary<string, string?> { ["Storage:FileDownloadMode"] = "Redirect" });
        using var client = new HttpClient(new SocketsHttpHandler { UseProxy = false, AllowAutoRedirect = false }) { BaseAddress = api!.BaseAddress };
        using var request = new HttpRequestMessage(HttpMethod.Get, $"/{Workspace}/files/dir/report.pdf");
        request.Headers.Authorization = new AuthenticationHeaderValue("Bearer", token);
        using var response = await client.SendAsync(request, Ct);
        Assert.Equal(HttpStatusCode.TemporaryRedirect, response.StatusCode);

        var record = Assert.Single(audit.OfType(nameof(AuditEventType.PresignedUrlIssued)));
        record.RequireFields(new Dictionary<string, string?>
        {
            ["workspace"] = "ws-audit", ["user"] = "github|12345", ["access"] = "ReadOnly", ["accessKeyId"] = workspaceKey.AccessKeyId,
            ["method"] = "GET", ["path"] = "ws-audit/dir/report.pdf", ["reason"] = "file download redirect",
        });
        var signature = response.Headers.Location!.Query.Split('&').Single(p => p.Contains("X-Amz-Signature=", StringComparison.Ordinal)).Split('=')[1];
        Assert.DoesNotContain(audit.Records, r => r.All.Contains(signature, StringComparison.Ordinal));
        AssertNoSecret(token);
    }

    [Fact]
    public async Task A_busy_caller_gets_every_log_record_but_one_Event_a_minute_per_access()
    {
        var rw = await StartAsync("rw");
        for (var i = 0; i < 5; i++)
        {
            await CallOkAsync("generate_credential", rw);
        }

        await EventAsync(nameof(AuditEventType.TemporaryCredentialIssued));
        // Another access level is another key: its Event comes, and the first caller's four repeats still have none.
        await CallOkAsync("generate_credential", api!.Tokens.ForWorkspace(Workspace.Value, "r"));
        await Eventually.TrueAsync(() => events.Events.Count(e => e.Message.Contains("access ReadOnly", StringComparison.Ordinal)) == 1,
            "the read-only caller's Event", cancellationToken: Ct);

        Assert.Equal(6, audit.OfType(nameof(AuditEventType.TemporaryCredentialIssued)).Count);
        Assert.Equal(1, events.Events.Count(e => e.Message.Contains("access ReadWrite", StringComparison.Ordinal)));
    }

    public async ValueTask DisposeAsync()
    {
        if (api is not null)
        {
            await api.DisposeAsync();
        }
    }

    /// <summary>The API with one workspace served by WorkspaceStorage audit-ws; returns a token with <paramref name="permission"/> on it.</summary>
    private async Task<string> StartAsync(string permission, IReadOnlyDictionary<string, string?>? settings = null)
    {
        var directory = new InMemoryWorkspaceDirectory();
        var location = new S3Location(new Uri("http://s3.internal:9000"), new Uri("https://s3.example.org"), "eu-west-1", "shared");
        var resource = new WorkspaceStorageResource
        {
            Metadata = new V1ObjectMeta { Name = "audit-ws", NamespaceProperty = "team-a", Uid = Guid.NewGuid().ToString() },
            Spec = new() { Workspace = Workspace.Value, BackendRef = new() { Name = "ceph" } },
        };
        directory.Put(new WorkspaceStorageHandle(Workspace, location, workspaceKey, AccessLevel.ReadWrite, false, new FixedIssuer(temporary), Resource: resource));
        api = await TestApi.StartAsync(configure: b =>
        {
            b.Services.AddSingleton<IWorkspaceStorageDirectory>(directory);
            b.Services.AddSingleton<IEventRecorder>(events);
            b.Logging.AddProvider(audit);
        }, settings: new Dictionary<string, string?>(settings ?? new Dictionary<string, string?>()) { ["Logging:LogLevel:WorkspaceStorage.Audit"] = "Information" });
        return api.Tokens.ForWorkspace(Workspace.Value, permission);
    }

    private async Task<JsonElement> CallOkAsync(string method, string token, object? arguments = null)
    {
        using var request = new HttpRequestMessage(HttpMethod.Post, $"/{Workspace}/services/s3-storage/{method}")
        {
            Content = JsonContent.Create(arguments ?? new Dictionary<string, object>()),
        };
        request.Headers.Authorization = new AuthenticationHeaderValue("Bearer", token);
        using var response = await api!.Client.SendAsync(request, Ct);
        var body = await response.Content.ReadAsStringAsync(Ct);
        Assert.True(response.StatusCode == HttpStatusCode.OK, $"{method}: {(int)response.StatusCode} {body}");
        return JsonDocument.Parse(body).RootElement.Clone();
    }

    /// <summary>Waits for the background Event (never a fixed sleep).</summary>
    private Task<(string Object, string Reason, string Message)> EventAsync(string reason) =>
        Eventually.ValueAsync(() => events.Events.FirstOrDefault(e => e.Reason == reason), e => e.Reason is not null, $"an Event {reason}",
            describe: _ => string.Join('\n', events.Events.Select(e => $"{e.Reason}: {e.Message}")));

    private void AssertNoSecret(string hyphaToken)
    {
        foreach (var secret in new[] { workspaceKey.SecretAccessKey, temporary.SecretAccessKey, temporary.SessionToken!, hyphaToken })
        {
            Assert.DoesNotContain(audit.Records, r => r.All.Contains(secret, StringComparison.Ordinal));
            Assert.DoesNotContain(events.Events, e => e.Message.Contains(secret, StringComparison.Ordinal));
        }
    }
}
