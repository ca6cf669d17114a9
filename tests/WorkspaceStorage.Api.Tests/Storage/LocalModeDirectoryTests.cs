using System.Net;
using System.Net.Http.Json;
using System.Text;
using System.Text.Json;
using Microsoft.Extensions.Logging.Abstractions;
using WorkspaceStorage.Api.Workspaces;
using WorkspaceStorage.Api.Tests.Host;
using WorkspaceStorage.Core.Credentials;
using WorkspaceStorage.Core.Signing;
using WorkspaceStorage.Core.Workspaces;
using WorkspaceStorage.Storage.S3;

namespace WorkspaceStorage.Api.Tests.Storage;

/// <summary>The directory that reads the operator's local-mode output (YAML WorkspaceStorages and Secrets).</summary>
public sealed class LocalModeDirectoryTests : IDisposable
{
    private readonly string root = Directory.CreateTempSubdirectory("wso-local-").FullName;

    private static CancellationToken Ct => TestContext.Current.CancellationToken;

    public void Dispose() => Directory.Delete(root, recursive: true);

    [Fact]
    public async Task Reads_workspaces_and_their_Secrets_and_picks_up_changes()
    {
        var clock = new ManualTimeProvider(DateTimeOffset.UtcNow);
        using var clients = new S3ClientFactory();
        using var directory = NewDirectory(clients, clock);
        var key = AccessKeyGenerator.Generate();
        WriteWorkspace("team", "ws-alpha-1", secret: "alpha-creds", isPublic: true, access: "ReadOnly");
        WriteSecret("team", "alpha-creds", key, base64: true);

        var handle = await directory.FindAsync(WorkspaceId.Parse("ws-alpha-1"), Ct);
        Assert.NotNull(handle);
        Assert.Equal(key, handle.Key);
        Assert.Equal(AccessLevel.ReadOnly, handle.Access);
        Assert.True(handle.IsPublic);
        Assert.Equal("status-bucket", handle.Location.Bucket);
        Assert.Equal(new Uri("http://public.example:9000"), handle.Location.PublicEndpoint);
        Assert.Equal(new Uri("http://127.0.0.1:1"), handle.Location.Endpoint);
        Assert.True(await directory.IsPublicAsync(WorkspaceId.Parse("ws-alpha-1"), Ct));
        Assert.DoesNotContain(key.SecretAccessKey, handle.ToString(), StringComparison.Ordinal);

        // A second workspace appears (stringData form), the first one's key rotates.
        var beta = AccessKeyGenerator.Generate();
        var rotated = AccessKeyGenerator.Generate();
        WriteWorkspace("team", "ws-beta-2", secret: "beta-creds");
        WriteSecret("team", "beta-creds", beta, base64: false);
        WriteSecret("team", "alpha-creds", rotated, base64: true);
        Assert.Null(await directory.FindAsync(WorkspaceId.Parse("ws-beta-2"), Ct)); // not re-read within the refresh interval
        clock.Now += TimeSpan.FromSeconds(2);
        Assert.Equal(beta, (await directory.FindAsync(WorkspaceId.Parse("ws-beta-2"), Ct))?.Key);
        Assert.Equal(rotated, (await directory.FindAsync(WorkspaceId.Parse("ws-alpha-1"), Ct))?.Key);
        Assert.False(await directory.IsPublicAsync(WorkspaceId.Parse("ws-beta-2"), Ct));

        // Deleted files disappear; broken ones are skipped without hiding the rest.
        File.Delete(Path.Combine(root, "workspacestorages", "team", "ws-beta-2.yaml"));
        await File.WriteAllTextAsync(Path.Combine(root, "workspacestorages", "team", "broken.yaml"), "metadata: [unclosed", Ct);
        clock.Now += TimeSpan.FromSeconds(2);
        Assert.Null(await directory.FindAsync(WorkspaceId.Parse("ws-beta-2"), Ct));
        Assert.NotNull(await directory.FindAsync(WorkspaceId.Parse("ws-alpha-1"), Ct));
    }

    [Fact]
    public async Task A_workspace_without_its_Secret_or_with_an_unknown_backend_has_no_storage()
    {
        using var clients = new S3ClientFactory();
        using var directory = NewDirectory(clients, TimeProvider.System);
        WriteWorkspace("team", "ws-nosecret-1", secret: "missing");
        WriteWorkspace("team", "ws-nobackend-1", secret: "s", backend: "elsewhere");
        WriteSecret("team", "s", AccessKeyGenerator.Generate(), base64: true);

        Assert.Null(await directory.FindAsync(WorkspaceId.Parse("ws-nosecret-1"), Ct));
        Assert.Null(await directory.FindAsync(WorkspaceId.Parse("ws-nobackend-1"), Ct));
    }

    [Fact]
    public async Task The_API_serves_workspaces_from_the_local_mode_directory_against_the_real_RGW()
    {
        await using var h = await StorageApiHarness.StartAsync();
        var provisioned = await h.AddWorkspaceAsync("local");
        WriteWorkspace("default", provisioned.Workspace.Value, secret: "local-creds", backend: "rgw", withStatus: false);
        WriteSecret("default", "local-creds", provisioned.Key, base64: true);
        var settings = new Dictionary<string, string?>
        {
            ["Storage:LocalModeDirectory"] = root,
            ["Storage:Backends:rgw:Type"] = "ceph-rgw",
            ["Storage:Backends:rgw:Endpoint"] = h.Server.Endpoint.ToString(),
            ["Storage:Backends:rgw:Region"] = h.Server.Region,
            ["Storage:Backends:rgw:Bucket"] = h.Location.Bucket,
            ["Storage:Backends:rgw:AdminAccessKeyId"] = h.Server.Admin.AccessKeyId,
            ["Storage:Backends:rgw:AdminSecretAccessKey"] = h.Server.Admin.SecretAccessKey,
        };
        await using var api = await TestApi.StartAsync(settings: settings);
        var w = provisioned.Workspace;
        var token = api.Tokens.ForWorkspace(w.Value, "rw");

        using var put = new HttpRequestMessage(HttpMethod.Put, $"/{w}/files/hello.txt") { Content = new StringContent("from local mode") };
        put.Headers.Authorization = new("Bearer", token);
        using (var response = await api.Client.SendAsync(put, Ct))
        {
            Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        }

        using var credential = new HttpRequestMessage(HttpMethod.Post, $"/{w}/services/s3-storage/generate_credential") { Content = JsonContent.Create(new { }) };
        credential.Headers.Authorization = new("Bearer", token);
        using (var response = await api.Client.SendAsync(credential, Ct))
        {
            Assert.Equal(HttpStatusCode.OK, response.StatusCode);
            var body = await response.Content.ReadFromJsonAsync<JsonElement>(Ct);
            Assert.False(string.IsNullOrEmpty(body.GetProperty("session_token").GetString()));
        }

        Assert.Equal("from local mode"u8.ToArray(), await h.ReadObjectAsync(w.Prefix + "hello.txt"));
    }

    private LocalModeWorkspaceDirectory NewDirectory(S3ClientFactory clients, TimeProvider clock)
    {
        var options = new StorageOptions();
        options.Backends["local"] = new StorageBackendSettings
        {
            Endpoint = "http://127.0.0.1:1",
            PublicEndpoint = "http://127.0.0.1:1",
            Bucket = "default-bucket",
            AdminAccessKeyId = "admin",
            AdminSecretAccessKey = "admin-secret",
        };
        return new LocalModeWorkspaceDirectory(root, new ConfiguredBackends(options, clients, NullLoggerFactory.Instance), clock,
            NullLogger<LocalModeWorkspaceDirectory>.Instance);
    }

    private void WriteWorkspace(string ns, string workspace, string secret, bool isPublic = false, string access = "ReadWrite", string? backend = null,
        bool withStatus = true)
    {
        var folder = System.IO.Directory.CreateDirectory(Path.Combine(root, "workspacestorages", ns)).FullName;
        var yaml = new StringBuilder()
            .AppendLine("apiVersion: workspacestorage.hypha.amun.ai/v1alpha1")
            .AppendLine("kind: WorkspaceStorage")
            .AppendLine("metadata:")
            .AppendLine($"  name: {workspace}")
            .AppendLine($"  namespace: {ns}");
        if (isPublic)
        {
            yaml.AppendLine("  annotations:").AppendLine($"    {LocalModeWorkspaceDirectory.PublicAnnotation}: \"true\"");
        }

        yaml.AppendLine("spec:")
            .AppendLine($"  workspace: \"{workspace}\"")
            .AppendLine($"  access: {access}")
            .AppendLine("  secret:")
            .AppendLine($"    name: {secret}");
        if (backend is not null)
        {
            yaml.AppendLine("  backendRef:").AppendLine($"    name: {backend}");
        }

        if (withStatus)
        {
            yaml.AppendLine("status:")
                .AppendLine($"  workspace: \"{workspace}\"")
                .AppendLine("  bucket: status-bucket")
                .AppendLine("  endpoint: http://public.example:9000")
                .AppendLine($"  secretName: {secret}");
        }

        File.WriteAllText(Path.Combine(folder, workspace + ".yaml"), yaml.ToString());
    }

    private void WriteSecret(string ns, string name, AwsCredentials key, bool base64)
    {
        var folder = System.IO.Directory.CreateDirectory(Path.Combine(root, "secrets", ns)).FullName;
        string Encode(string value) => base64 ? Convert.ToBase64String(Encoding.UTF8.GetBytes(value)) : value;
        var yaml = $"""
            apiVersion: v1
            kind: Secret
            metadata:
              name: {name}
              namespace: {ns}
            {(base64 ? "data" : "stringData")}:
              AWS_ACCESS_KEY_ID: "{Encode(key.AccessKeyId)}"
              AWS_SECRET_ACCESS_KEY: "{Encode(key.SecretAccessKey)}"
              S3_PREFIX: "{Encode("x/")}"
            """;
        var path = Path.Combine(folder, name + ".yaml");
        File.WriteAllText(path, yaml);
        // Make the rewrite visible even within the file system's timestamp resolution.
        File.SetLastWriteTimeUtc(path, DateTime.UtcNow.AddSeconds(Random.Shared.Next(1, 1000)));
    }
}
