using System.Net;
using System.Text;
using System.Text.Json;
using System.Text.Json.Nodes;
using Amazon.S3;
using Amazon.S3.Model;
using WorkspaceStorage.Core.Signing;
using WorkspaceStorage.Operator.LocalMode;
using WorkspaceStorage.Operator.Tests.LocalMode;
using WorkspaceStorage.Testing.Kubernetes;
using WorkspaceStorage.Testing.Operator;
using WorkspaceStorage.Testing.Support;
using WorkspaceStorage.Testing.S3;

namespace WorkspaceStorage.Operator.Tests.Host;

/// <summary>
/// The operator executable in local mode (--local-dir; `make run` used it before it ran a real API server) against the
/// real Ceph RGW, checked from outside (files, S3 with the issued keys, probes, metrics, logs).
/// </summary>
public sealed class LocalModeEndToEndTests : IDisposable
{
    private static readonly TimeSpan Converge = TimeSpan.FromSeconds(60);

    private readonly TempDirectory manifests = new("e2e-manifests");
    private readonly TempDirectory output = new("e2e-output");
    private readonly HttpClient http = new(new SocketsHttpHandler { UseProxy = false }) { Timeout = TimeSpan.FromSeconds(10) };

    private static CancellationToken Ct => TestContext.Current.CancellationToken;

    public void Dispose()
    {
        http.Dispose();
        manifests.Dispose();
        output.Dispose();
    }

    [Fact]
    public async Task Manifests_become_ready_workspaces_with_working_keys_edits_converge_and_deleting_a_manifest_removes_the_identity()
    {
        var rgw = RgwTestServer.Require();
        var suffix = Guid.NewGuid().ToString("N")[..8];
        var bucket = RgwTestServer.UniqueBucketName("local");
        var backend = "rgw-" + suffix;
        var name = "ws-e2e-" + suffix;
        var storageFile = manifests.Combine("storage.yaml");
        await File.WriteAllTextAsync(manifests.Combine("backend.yaml"), $"""
            apiVersion: v1
            kind: Secret
            metadata: {"{"}name: rgw-admin, namespace: wso-system{"}"}
            stringData:
              AWS_ACCESS_KEY_ID: {rgw.Admin.AccessKeyId}
              AWS_SECRET_ACCESS_KEY: {rgw.Admin.SecretAccessKey}
            ---
            apiVersion: workspacestorage.hypha.amun.ai/v1alpha1
            kind: StorageBackend
            metadata: {"{"}name: {backend}{"}"}
            spec:
              type: ceph-rgw
              endpoint: {rgw.Endpoint}
              region: {rgw.Region}
              bucket: {bucket}
              pathStyle: true
              adminCredentialsSecretRef: {"{"}name: rgw-admin, namespace: wso-system{"}"}

            """, Ct);
        await File.WriteAllTextAsync(storageFile, StorageManifest(name, backend, "ReadWrite"), Ct);

        await using var process = OperatorProcess.StartWith(["--local-dir", manifests.Path, "--output-dir", output.Path, "--health-addr", "127.0.0.1:0",
            "--resync-period", "30s", "--local-rescan-period", "1s"]);
        var probes = await process.WaitForProbeAddressAsync(TimeSpan.FromSeconds(60));
        var statusFile = output.Combine(LocalOutputDirectory.WorkspaceStoragesFolder, "default", name + ".yaml");
        var secretFile = output.Combine(LocalOutputDirectory.SecretsFolder, "default", name + "-s3.yaml");

        // Ready, with a Secret file whose key works under the prefix and nowhere else.
        await Eventually.TrueAsync(() => IsReady(statusFile, generation: 1), "Ready status in " + statusFile, Converge);
        var status = ReadYaml(statusFile)["status"]!;
        Assert.Equal(bucket, status["bucket"]?.ToString());
        Assert.Equal(name + "/", status["prefix"]?.ToString());
        var key = ReadKey(secretFile);
        Assert.Equal(key.AccessKeyId, status["accessKeyId"]?.ToString());
        Assert.Equal(UnixFileMode.UserRead | UnixFileMode.UserWrite, OperatingSystem.IsWindows() ? UnixFileMode.None : File.GetUnixFileMode(secretFile));
        using (var s3 = rgw.CreateAwsS3Client(key))
        {
            await PutAsync(s3, bucket, $"{name}/hello.txt");
            var denied = await Assert.ThrowsAsync<AmazonS3Exception>(() => PutAsync(s3, bucket, $"{name}x/escape.txt"));
            Assert.Equal(HttpStatusCode.Forbidden, denied.StatusCode);
        }

        // Probes and metrics.
        Assert.Equal(HttpStatusCode.OK, (await http.GetAsync(new Uri(probes, "/healthz"), Ct)).StatusCode);
        await Eventually.TrueAsync(async _ => (await http.GetAsync(new Uri(probes, "/readyz"), Ct)).StatusCode == HttpStatusCode.OK, "/readyz 200", Converge);
        var metrics = await http.GetStringAsync(new Uri(probes, "/metrics"), Ct);
        foreach (var series in (string[])[
            "controller_runtime_reconcile_total{controller=\"workspacestorage\",result=",
            "workspace_storage_reconcile_duration_seconds_count{controller=\"workspacestorage\",result=",
            "workqueue_depth{name=\"workspacestorage\"}",
            "workspace_storage_backend_calls_total{backend=\"ceph-rgw\",operation=",
            "workspace_storage_backend_call_errors_total",
            "workspace_storage_managed_workspaces{condition=\"Ready\"} 1",
        ])
        {
            Assert.Contains(series, metrics, StringComparison.Ordinal);
        }

        // Edit: ReadWrite → ReadOnly converges; the same key now reads but cannot write.
        await File.WriteAllTextAsync(storageFile, StorageManifest(name, backend, "ReadOnly"), Ct);
        await Eventually.TrueAsync(() => IsReady(statusFile, generation: 2), "Ready at generation 2 after the edit", Converge);
        using (var s3 = rgw.CreateAwsS3Client(ReadKey(secretFile)))
        {
            await Eventually.TrueAsync(async _ =>
            {
                try
                {
                    await PutAsync(s3, bucket, $"{name}/after-readonly.txt");
                    return false;
                }
                catch (AmazonS3Exception e) when (e.StatusCode == HttpStatusCode.Forbidden)
                {
                    return true;
                }
            }, "writes refused after ReadOnly", Converge);
            using var read = await s3.GetObjectAsync(bucket, $"{name}/hello.txt", Ct);
            Assert.Equal(HttpStatusCode.OK, read.HttpStatusCode);
        }

        // Delete the manifest: the finalizer removes the identity, then the files go.
        File.Delete(storageFile);
        await Eventually.TrueAsync(() => !File.Exists(statusFile) && !File.Exists(secretFile), "status and Secret files removed", Converge);
        using (var s3 = rgw.CreateAwsS3Client(key))
        {
            var gone = await Assert.ThrowsAsync<AmazonS3Exception>(() => s3.GetObjectAsync(bucket, $"{name}/hello.txt", Ct));
            Assert.Equal(HttpStatusCode.Forbidden, gone.StatusCode);
        }

        Assert.Equal(0, await process.StopAsync());

        // Every stdout line is one JSON object, and no key reached the logs.
        Assert.NotEmpty(process.StandardOutput);
        foreach (var line in process.StandardOutput)
        {
            using var json = JsonDocument.Parse(line);
            Assert.True(json.RootElement.TryGetProperty("LogLevel", out _), line);
        }

        var logs = process.AllOutput;
        Assert.Contains(key.AccessKeyId, logs, StringComparison.Ordinal); // key ids are names, logged on purpose
        Assert.DoesNotContain(key.SecretAccessKey, logs, StringComparison.Ordinal);
        Assert.DoesNotContain(rgw.Admin.SecretAccessKey, logs, StringComparison.Ordinal);
        Assert.DoesNotContain(Convert.ToBase64String(Encoding.UTF8.GetBytes(key.SecretAccessKey)), logs, StringComparison.Ordinal);
    }

    private static string StorageManifest(string name, string backend, string access) => $"""
        apiVersion: workspacestorage.hypha.amun.ai/v1alpha1
        kind: WorkspaceStorage
        metadata:
          name: {name}
          namespace: default
        spec:
          backendRef:
            name: {backend}
          access: {access}
          deletionPolicy: Delete

        """;

    private static JsonObject ReadYaml(string file) => YamlJson.ParseDocuments(File.ReadAllText(file)).Single();

    private static bool IsReady(string file, long generation)
    {
        if (!File.Exists(file))
        {
            return false;
        }

        try
        {
            var resource = ReadYaml(file);
            var conditions = resource["status"]?["conditions"] as JsonArray ?? [];
            return resource["metadata"]?["generation"]?.GetValue<long>() == generation
                && resource["status"]?["observedGeneration"]?.GetValue<long>() == generation
                && conditions.Any(c => c?["type"]?.ToString() == "Ready" && c["status"]?.ToString() == "True");
        }
        catch (IOException)
        {
            return false;
        }
    }

    private static AwsCredentials ReadKey(string secretFile)
    {
        var data = ReadYaml(secretFile)["data"]!;
        string Value(string field) => Encoding.UTF8.GetString(Convert.FromBase64String(data[field]!.ToString()));
        return new AwsCredentials(Value("AWS_ACCESS_KEY_ID"), Value("AWS_SECRET_ACCESS_KEY"));
    }

    private static Task PutAsync(AmazonS3Client s3, string bucket, string key) =>
        s3.PutObjectAsync(new PutObjectRequest { BucketName = bucket, Key = key, ContentBody = "hello" }, Ct);

}
