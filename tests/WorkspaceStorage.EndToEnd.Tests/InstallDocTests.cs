using System.Text;
using k8s;
using k8s.Models;
using WorkspaceStorage.Core.Model;
using WorkspaceStorage.Resources;
using WorkspaceStorage.EndToEnd.Tests.Infrastructure;
using WorkspaceStorage.Testing.Hypha;
using WorkspaceStorage.Testing.Kubernetes;
using WorkspaceStorage.Testing.S3;
using WorkspaceStorage.Testing.Support;

namespace WorkspaceStorage.EndToEnd.Tests;

/// <summary>
/// docs/deploy.md's install (sections 2 to 5), pasted in order, as a reader runs it: every shell block runs with bash
/// and kubectl against a real API server of its own, every YAML block is saved where it says, in a folder holding a
/// copy of the repository's config/ and crds/. The built images run the Deployments the install creates, on a node
/// the test stands in for (<see cref="StandInNode"/>: the API server has no kubelet), with their in-cluster service
/// accounts, so config/rbac is what authorizes them. The test changes only what a reader's cluster has and this one
/// cannot: the S3 endpoint (the RGW of the tests, reached from the pods) and the bucket (one of its own); each
/// replacement must apply, so a doc that drops the text it replaces fails here.
/// </summary>
[System.Runtime.Versioning.UnsupportedOSPlatform("windows")]
public sealed class InstallDocTests : IDisposable
{
    private const string OperatorNamespace = "workspace-storage-system";
    private static readonly TimeSpan StepLimit = TimeSpan.FromMinutes(4);
    private readonly string folder = Directory.CreateTempSubdirectory("wso-install-").FullName;

    private static CancellationToken Ct => TestContext.Current.CancellationToken;

    public void Dispose()
    {
        try
        {
            Directory.Delete(folder, recursive: true);
        }
        catch (IOException)
        {
            // a container's file still held as it is removed; the temporary folder goes with the machine
        }
    }

    [Fact]
    public async Task The_install_pasted_in_order_ends_with_a_Ready_workspace_and_a_Pod_that_mounts_its_Secret_both_ways()
    {
        var podman = await Podman.RequireAsync(folder, Ct);
        var rgw = RgwTestServer.Require();
        await using var server = await RealKubeApiServer.StartAsync("kube-apiserver-install", Ct);
        var work = CopyOfTheInstall();

        // What a reader with a Hypha already has: its secrets in namespace hypha (section 2 copies the JWT secret).
        var hyphaJwt = HyphaTokenFactory.NewSecret();
        await server.KubectlOkAsync(["create", "namespace", "hypha"]);
        using var admin = server.CreateAdminClient();
        await admin.CoreV1.CreateNamespacedSecretAsync(new V1Secret
        {
            Metadata = new V1ObjectMeta { Name = "hypha-secrets" },
            StringData = new Dictionary<string, string> { ["HYPHA_JWT_SECRET"] = hyphaJwt },
        }, "hypha", cancellationToken: Ct);

        await using var node = await StandInNode.StartAsync(podman, server, OperatorNamespace, Path.Combine(folder, "node"), Ct);
        var bucket = RgwTestServer.UniqueBucketName("install");
        var replacements = new Dictionary<string, string>(StringComparer.Ordinal)
        {
            ["http://rook-ceph-rgw-store.rook-ceph.svc:80"] = node.Forward(rgw.Endpoint).ToString().TrimEnd('/'),
            ["bucket: hypha-workspaces"] = $"bucket: {bucket}",
        };
        var used = new HashSet<string>(StringComparer.Ordinal);
        var environment = new Dictionary<string, string>
        {
            ["KUBECONFIG"] = server.AdminKubeconfig,
            ["PATH"] = $"{Path.GetDirectoryName(server.Kubectl)}:/usr/bin:/bin",
            ["HOME"] = work,
            ["ADMIN_ACCESS_KEY"] = rgw.Admin.AccessKeyId,
            ["ADMIN_SECRET_KEY"] = rgw.Admin.SecretAccessKey,
        };

        var script = DocScript.FromSections(File.ReadAllText(RepositoryRoot.Combine("docs", "deploy.md")), first: 2, last: 5);
        var steps = script.Steps;
        Assert.Contains(steps, s => s.Text.Contains("kubectl apply -k config/default", StringComparison.Ordinal));
        // Blocks for the storage server's shell or for Rook are marked in the page; the marker cannot hide a step on the
        // cluster, which this test must run.
        Assert.All(script.Skipped, s => Assert.False(s.Text.Contains("kubectl", StringComparison.Ordinal),
            $"docs/deploy.md line {s.Line} is marked as not for the cluster ({s.Reason}) but runs kubectl"));
        try
        {
            foreach (var step in steps)
            {
                var text = step.Text;
                foreach (var (from, to) in replacements.Where(r => text.Contains(r.Key, StringComparison.Ordinal)))
                {
                    text = text.Replace(from, to, StringComparison.Ordinal);
                    used.Add(from);
                }

                if (step.SaveAs is { } path)
                {
                    Directory.CreateDirectory(Path.GetDirectoryName(Path.Combine(work, path))!);
                    await File.WriteAllTextAsync(Path.Combine(work, path), text, Ct);
                    continue;
                }

                var outcome = await ChildProcessRunner.RunAsync("/bin/bash", ["-euo", "pipefail", "-c", text], environment, work, StepLimit, Ct);
                if (outcome.ExitCode != 0)
                {
                    var resources = await server.KubectlAsync(["get", "wsb,wss", "-A", "-o", "wide"], cancellationToken: CancellationToken.None);
                    Assert.Fail($"docs/deploy.md {step} failed ({outcome.ExitCode}):\n{outcome.Error.Trim()}\n{outcome.Output.Trim()}\n" +
                        $"the cluster's storage resources:\n{resources.Output}{resources.Error}\nthe node's pods: {node.Problems}");
                }
            }

            Assert.Equal(replacements.Keys.Order(StringComparer.Ordinal), used.Order(StringComparer.Ordinal));

            // The end of section 4: the workspace Ready, its Secret holding a key and credential.json.
            var ready = KubernetesJson.Deserialize<WorkspaceStorageResource>(await server.KubectlOkAsync(["-n", "team-alpha", "get", "wss", "ws-alpha", "-o", "json"]));
            Assert.True(ready.Status.IsTrue(ConditionTypes.Ready), $"ws-alpha is not Ready: {ready.Status?.Conditions?.FirstOrDefault()?.Message}");
            var secret = await admin.CoreV1.ReadNamespacedSecretAsync(ready.Status!.SecretName, "team-alpha", cancellationToken: Ct);
            Assert.Equal(ready.Status.AccessKeyId, Encoding.UTF8.GetString(secret.Data["AWS_ACCESS_KEY_ID"]));
            Assert.Contains("credential.json", secret.Data.Keys);

            // Section 5: the API server took the Pod, which reads that Secret both ways.
            var pod = await admin.CoreV1.ReadNamespacedPodAsync("s3-client", "team-alpha", cancellationToken: Ct);
            var container = pod.Spec.Containers.Single();
            Assert.Contains(container.EnvFrom, e => e.SecretRef?.Name == secret.Metadata.Name);
            var volume = Assert.Single(pod.Spec.Volumes, v => v.Secret?.SecretName == secret.Metadata.Name);
            Assert.Contains(volume.Secret.Items, i => i.Key == "credential.json");
            Assert.Contains(container.VolumeMounts, m => m.Name == volume.Name);

            // Both Deployments ran from the built images with their own service accounts: config/rbac let them work.
            foreach (var deployment in new[] { "workspace-storage-operator", "workspace-storage-api" })
            {
                var status = (await admin.AppsV1.ReadNamespacedDeploymentAsync(deployment, OperatorNamespace, cancellationToken: Ct)).Status;
                Assert.True(status.AvailableReplicas == status.Replicas && status.Replicas > 0,
                    $"{deployment}: {status.AvailableReplicas} of {status.Replicas} available; the node's pods: {node.Problems}");
            }
        }
        finally
        {
            // The workspace's identity goes with it (deletionPolicy Retain keeps only the data), while the operator still runs.
            await server.KubectlAsync(["-n", "team-alpha", "delete", "wss", "ws-alpha", "--ignore-not-found", "--timeout=60s"], cancellationToken: CancellationToken.None);
        }
    }

    /// <summary>A folder with what the install's commands read from the repository's root: config/ and crds/.</summary>
    private string CopyOfTheInstall()
    {
        var work = Path.Combine(folder, "checkout");
        foreach (var top in new[] { "config", "crds" })
        {
            foreach (var file in Directory.EnumerateFiles(RepositoryRoot.Combine(top), "*", SearchOption.AllDirectories))
            {
                var target = Path.Combine(work, Path.GetRelativePath(RepositoryRoot.Path, file));
                Directory.CreateDirectory(Path.GetDirectoryName(target)!);
                File.Copy(file, target);
            }
        }

        return work;
    }
}
