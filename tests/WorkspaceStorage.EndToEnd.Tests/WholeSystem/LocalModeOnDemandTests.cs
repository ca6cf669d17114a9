using System.Net;
using System.Text.Json;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using WorkspaceStorage.Api.Hosting;
using WorkspaceStorage.Api.OnDemand;
using WorkspaceStorage.Core.Workspaces;
using WorkspaceStorage.EndToEnd.Tests.Infrastructure;
using WorkspaceStorage.Testing.Hypha;
using WorkspaceStorage.Testing.S3;
using WorkspaceStorage.Testing.Support;

namespace WorkspaceStorage.EndToEnd.Tests.WholeSystem;

/// <summary>
/// On-demand provisioning without a cluster, as `make run` used it before it ran a real API server (now only the local
/// mode's own path, Api:LocalManifestDir): the companion writes a manifest into the operator's local-mode manifest
/// directory, the operator (local mode, in this process) provisions it on the real RGW, and the call is answered;
/// removing the workspace removes the manifest, and the operator the identity.
/// </summary>
public sealed class LocalModeOnDemandTests
{
    private static CancellationToken Ct => TestContext.Current.CancellationToken;

    [Fact]
    public async Task A_first_call_writes_a_manifest_the_local_operator_provisions_and_clean_up_removes_it_and_the_identity()
    {
        var rgw = RgwTestServer.Require();
        var root = Directory.CreateTempSubdirectory("wso-local-ondemand-").FullName;
        var manifests = Directory.CreateDirectory(Path.Combine(root, "manifests")).FullName;
        var output = Path.Combine(root, "out");
        var bucket = RgwTestServer.UniqueBucketName("local");
        var adminFile = Path.Combine(root, "admin-secret");
        await File.WriteAllTextAsync(adminFile, rgw.Admin.SecretAccessKey, Ct);
        await File.WriteAllTextAsync(Path.Combine(manifests, "backend.yaml"), $"""
            apiVersion: v1
            kind: Secret
            metadata: {"{"} name: local-admin, namespace: wso-system {"}"}
            stringData:
              AWS_ACCESS_KEY_ID: {rgw.Admin.AccessKeyId}
              AWS_SECRET_ACCESS_KEY: {rgw.Admin.SecretAccessKey}
            ---
            apiVersion: workspacestorage.hypha.amun.ai/v1alpha1
            kind: StorageBackend
            metadata: {"{"} name: local-rgw {"}"}
            spec:
              type: ceph-rgw
              endpoint: {rgw.Endpoint}
              region: {rgw.Region}
              bucket: {bucket}
              pathStyle: true
              adminCredentialsSecretRef: {"{"} name: local-admin, namespace: wso-system {"}"}
            """, Ct);
        await using var operatorProcess = await InProcessOperator.StartLocalAsync(manifests, output, Ct);
        var secret = HyphaTokenFactory.NewSecret();
        var app = ApiApplication.Build([], builder =>
        {
            builder.WebHost.UseUrls("http://127.0.0.1:0");
            builder.Configuration.AddInMemoryCollection(new Dictionary<string, string?>
            {
                ["Hypha:JwtSecret"] = secret,
                ["Api:PublicBaseUrl"] = "http://127.0.0.1:8080/",
                ["Api:WorkspaceSource"] = "local",
                ["Api:LocalOutputDir"] = output,
                ["Api:LocalManifestDir"] = manifests,
                ["Storage:Backends:local-rgw:Type"] = "ceph-rgw",
                ["Storage:Backends:local-rgw:Endpoint"] = rgw.Endpoint.ToString(),
                ["Storage:Backends:local-rgw:Region"] = rgw.Region,
                ["Storage:Backends:local-rgw:Bucket"] = bucket,
                ["Storage:Backends:local-rgw:AdminAccessKeyId"] = rgw.Admin.AccessKeyId,
                ["Storage:Backends:local-rgw:AdminSecretAccessKeyFile"] = adminFile,
                ["OnDemand:Enabled"] = "true",
                ["OnDemand:Namespace"] = "default",
                ["OnDemand:AllowedWorkspaces:0"] = "ws-user-*",
                ["OnDemand:Template:BackendRef"] = "local-rgw",
                ["OnDemand:Template:DeletionPolicy"] = "Delete",
            });
        });
        await app.StartAsync(Ct);
        try
        {
            using var http = new HttpClient(new SocketsHttpHandler { UseProxy = false }) { BaseAddress = new Uri(app.Urls.Single()), Timeout = TimeSpan.FromSeconds(90) };
            var workspace = WorkspaceId.Parse($"ws-user-local|{Guid.NewGuid().ToString("N")[..8]}");
            using var request = new HttpRequestMessage(HttpMethod.Get, "/public/services/s3-storage/generate_credential");
            request.Headers.Authorization = new("Bearer", new HyphaTokenFactory(secret).ForWorkspace(workspace.Value, "rw"));
            using var response = await http.SendAsync(request, Ct);
            var body = await response.Content.ReadAsStringAsync(Ct);
            Assert.True(response.StatusCode == HttpStatusCode.OK, $"{(int)response.StatusCode} {body}");
            Assert.Equal(workspace.Prefix, JsonDocument.Parse(body).RootElement.GetProperty("prefix").GetString());

            var manifest = Path.Combine(manifests, LocalManifestOnDemandStore.Folder, Core.Resources.OnDemandWorkspaceStorage.ObjectName(workspace) + ".yaml");
            Assert.True(File.Exists(manifest), "the on-demand manifest is in the operator's manifest directory");
            using var inventory = new RgwInventory(rgw);
            Assert.True(await inventory.HasIdentityAsync(workspace, Ct));

            await app.Services.GetRequiredService<OnDemandCleanup>().WorkspaceGoneAsync(workspace, "test", Ct);
            Assert.False(File.Exists(manifest));
            await Eventually.WaitAsync("the local operator to remove the identity", TimeSpan.FromSeconds(60), async ct =>
            {
                var has = await inventory.HasIdentityAsync(workspace, ct);
                return (!has, has ? "identity still present" : "gone");
            }, Ct);
        }
        finally
        {
            await app.StopAsync(CancellationToken.None);
            await app.DisposeAsync();
            Directory.Delete(root, recursive: true);
        }
    }
}
