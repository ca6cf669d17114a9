using System.Net;
using System.Text;
using System.Text.Json;
using Amazon.S3;
using Amazon.S3.Model;
using k8s.Models;
using WorkspaceStorage.Core.Credentials;
using WorkspaceStorage.Core.Model;
using WorkspaceStorage.Resources;
using WorkspaceStorage.Core.Signing;
using WorkspaceStorage.Testing.Kubernetes;
using WorkspaceStorage.Testing.Operator;
using WorkspaceStorage.Testing.S3;
using WorkspaceStorage.Testing.Support;

namespace WorkspaceStorage.Operator.Tests.Host;

/// <summary>
/// The operator executable as a separate process with a kubeconfig, as a user starts it out of cluster, against the
/// real API server and the real Ceph RGW, checked from outside: the objects and Secrets on the server, S3 with the
/// issued keys, probes, metrics and the log lines on standard output.
/// </summary>
public sealed class OperatorExecutableTests : IDisposable
{
    private const string Namespace = "team";
    private static readonly TimeSpan Converge = TimeSpan.FromSeconds(60);

    private readonly string folder = Directory.CreateTempSubdirectory("wso-executable-").FullName;
    private readonly HttpClient http = new(new SocketsHttpHandler { UseProxy = false }) { Timeout = TimeSpan.FromSeconds(10) };

    private static CancellationToken Ct => TestContext.Current.CancellationToken;

    public void Dispose()
    {
        http.Dispose();
        Directory.Delete(folder, recursive: true);
    }

    [Fact]
    public async Task A_WorkspaceStorage_becomes_Ready_with_a_working_key_an_edit_converges_and_deleting_it_removes_the_identity()
    {
        var rgw = RgwTestServer.Require();
        await using var kube = await KubeCluster.StartAsync([Namespace], Ct);
        var suffix = Guid.NewGuid().ToString("N")[..8];
        var bucket = RgwTestServer.UniqueBucketName("exe");
        var backend = "rgw-" + suffix;
        var name = "ws-exe-" + suffix;
        await kube.SeedRgwBackendAsync(rgw, backend, bucket);
        await kube.SeedAsync(new WorkspaceStorageResource
        {
            Metadata = new V1ObjectMeta { Name = name, NamespaceProperty = Namespace },
            Spec = new WorkspaceStorageSpec
            {
                BackendRef = new BackendReference { Name = backend },
                Access = WorkspaceAccess.ReadWrite,
                DeletionPolicy = DeletionPolicy.Delete,
            },
        });
        var kubeconfig = Path.Combine(folder, "kubeconfig");
        await kube.WriteKubeconfigAsync(kubeconfig);

        await using var process = OperatorProcess.Start(kubeconfig, ["--resync-period", "30s"]);
        var probes = await process.WaitForProbeAddressAsync(Converge);

        // Ready, with a Secret whose key works under the prefix and nowhere else.
        var ready = await ReadyAsync(kube, name, generation: 1);
        Assert.Equal(bucket, ready.Status!.Bucket);
        Assert.Equal(name + "/", ready.Status.Prefix);
        var key = await KeyAsync(kube, ready);
        Assert.Equal(key.AccessKeyId, ready.Status.AccessKeyId);
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

        // Edit: ReadWrite → ReadOnly converges; the key now reads but cannot write.
        await kube.ModifyAsync<WorkspaceStorageResource>(Namespace, name, ws => ws.Spec = ws.Spec with { Access = WorkspaceAccess.ReadOnly });
        var readOnly = await ReadyAsync(kube, name, generation: 2);
        using (var s3 = rgw.CreateAwsS3Client(await KeyAsync(kube, readOnly)))
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

        // Delete: the finalizer removes the identity, then the object and its Secret go.
        await kube.DeleteAsync<WorkspaceStorageResource>(Namespace, name);
        await Eventually.TrueAsync(async _ => await kube.GetAsync<WorkspaceStorageResource>(Namespace, name) is null
            && await kube.GetAsync<V1Secret>(Namespace, ready.Status.SecretName!) is null, "the WorkspaceStorage and its Secret gone", Converge);
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

    /// <summary>The WorkspaceStorage once Ready for <paramref name="generation"/>.</summary>
    private static async Task<WorkspaceStorageResource> ReadyAsync(KubeCluster kube, string name, long generation) =>
        (await Eventually.ValueAsync(_ => kube.GetAsync<WorkspaceStorageResource>(Namespace, name),
            ws => ws?.Metadata.Generation == generation && ws.Status?.ObservedGeneration == generation && ws.Status.IsTrue(ConditionTypes.Ready),
            $"{name} Ready at generation {generation}", Converge,
            ws => $"generation {ws?.Metadata.Generation}, observed {ws?.Status?.ObservedGeneration}, Ready {ws?.Status?.IsTrue(ConditionTypes.Ready)}"))!;

    private static async Task<AwsCredentials> KeyAsync(KubeCluster kube, WorkspaceStorageResource ready) =>
        CredentialSecretLayout.ReadCredentials((await kube.GetAsync<V1Secret>(Namespace, ready.Status!.SecretName!))?.Data)
        ?? throw new InvalidOperationException($"Secret {ready.Status.SecretName} holds no key");

    private static Task PutAsync(AmazonS3Client s3, string bucket, string key) =>
        s3.PutObjectAsync(new PutObjectRequest { BucketName = bucket, Key = key, ContentBody = "hello" }, Ct);
}
