using System.Net;
using WorkspaceStorage.Testing.Support;
using k8s.Models;
using Microsoft.Extensions.Logging.Abstractions;
using WorkspaceStorage.Core.Credentials;
using WorkspaceStorage.Core.Model;
using WorkspaceStorage.Resources;
using WorkspaceStorage.Core.Workspaces;
using WorkspaceStorage.Operator.Configuration;
using WorkspaceStorage.Operator.Hosting;
using WorkspaceStorage.Kubernetes.Runtime;
using WorkspaceStorage.Storage.Backends;
using WorkspaceStorage.Testing.S3;
using WorkspaceStorage.Testing.Kubernetes;

namespace WorkspaceStorage.Operator.Tests.Scenarios;

/// <summary>
/// The command line's default backend (no StorageBackend object in the cluster) on the real API server: a
/// WorkspaceStorage without backendRef becomes Ready, with a Secret whose key writes under its prefix.
/// </summary>
public sealed class DefaultBackendScenarios
{
    private static CancellationToken Ct => TestContext.Current.CancellationToken;

    [Fact]
    public async Task The_default_backend_provisions_a_workspace_without_backendRef()
    {
        var rgw = RgwTestServer.Require();
        await using var kube = await KubeCluster.StartAsync(["default"], Ct);
        using var kubernetes = kube.CreateClient();
        var stores = OperatorStores.FromKubernetes(kubernetes);
        var bucket = RgwTestServer.UniqueBucketName("mem");
        var defaults = new DefaultBackendOptions(StorageBackendType.CephRgw, rgw.Endpoint.ToString(), rgw.Endpoint.ToString(), rgw.Region, bucket, rgw.Admin, PathStyle: true,
            ClaimCeiling.Any("--allow-claims-from-any-namespace"));
        using var host = new OperatorHost(stores, new OperatorHostOptions { DefaultBackend = defaults, BackendRetry = ScenarioHarness.FastRetry },
            NullLoggerFactory.Instance);
        using var stop = CancellationTokenSource.CreateLinkedTokenSource(Ct);
        var run = Task.Run(() => host.RunAsync(stop.Token), Ct);
        var workspace = WorkspaceId.Parse($"ws-mem{Guid.NewGuid().ToString("N")[..10]}");
        try
        {
            await stores.WorkspaceStorages.CreateAsync(new WorkspaceStorageResource
            {
                Metadata = new V1ObjectMeta { Name = "local", NamespaceProperty = "default" },
                Spec = new WorkspaceStorageSpec { Workspace = workspace.Value },
            }, Ct);

            var ready = await Eventually.ValueAsync(ct => stores.WorkspaceStorages.GetAsync(new ResourceKey("default", "local"), ct),
                r => r?.Status?.IsTrue(ConditionTypes.Ready) ?? false, "default/local Ready", describe: ScenarioHarness.DescribeConditions);

            Assert.Equal("", ready!.Status!.Backend);
            Assert.Equal(bucket, ready.Status.Bucket);
            var key = CredentialSecretLayout.ReadCredentials((await stores.Secrets.GetAsync(new ResourceKey("default", "local-s3"), Ct))!.Data)!;
            using var client = rgw.CreateAwsS3Client(key);
            var put = await client.PutObjectAsync(new Amazon.S3.Model.PutObjectRequest { BucketName = bucket, Key = workspace.Prefix + "x.txt", ContentBody = "x" }, Ct);
            Assert.Equal(HttpStatusCode.OK, put.HttpStatusCode);
        }
        finally
        {
            await stop.CancelAsync();
            await run.ConfigureAwait(ConfigureAwaitOptions.SuppressThrowing | ConfigureAwaitOptions.ContinueOnCapturedContext);
            var backend = (await host.Resolver.ResolveAsync(null, CancellationToken.None)).Backend;
            await backend.DeleteWorkspaceAsync(workspace, DataDeletion.Delete, CancellationToken.None);
        }
    }
}
