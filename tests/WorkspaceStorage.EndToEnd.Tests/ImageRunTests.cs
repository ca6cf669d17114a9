using System.Net;
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
/// The images scripts/build-images.sh builds (make test builds them first), run with podman as the Deployments run
/// them (UID 65532 from the image, read-only root filesystem, /tmp a tmpfs, no capabilities), on the host's network
/// against the real API server and RGW: the operator image makes a WorkspaceStorage Ready and serves /readyz; the
/// companion image serves /readyz once its informers synced. The image's user and ports are the Deployment's.
/// </summary>
[System.Runtime.Versioning.UnsupportedOSPlatform("windows")] // podman and Unix file modes
public sealed class ImageRunTests : IDisposable
{
    private static readonly TimeSpan Converge = TimeSpan.FromSeconds(90);
    private readonly string folder = Directory.CreateTempSubdirectory("wso-image-").FullName;
    private readonly HttpClient http = new(new SocketsHttpHandler { UseProxy = false }) { Timeout = TimeSpan.FromSeconds(5) };

    private static CancellationToken Ct => TestContext.Current.CancellationToken;

    public static TheoryData<string, string, string> Images => new()
    {
        // image, kustomize directory, Deployment file
        { "workspace-storage-operator", "manager", "manager.yaml" },
        { "workspace-storage-api", "api", "api.yaml" },
    };

    public void Dispose()
    {
        http.Dispose();
        try
        {
            Directory.Delete(folder, recursive: true);
        }
        catch (IOException)
        {
            // podman may still be releasing a removed container's storage (measured in CI run 23: "Directory not
            // empty"); the temporary folder goes with the machine, and the test's outcome does not depend on it.
        }
    }

    [Theory]
    [MemberData(nameof(Images))]
    public async Task The_image_runs_as_the_Deployments_user_serves_its_ports_and_is_the_tag_kustomize_deploys(string image, string configDirectory, string deploymentFile)
    {
        var podman = await Podman.RequireAsync(folder, Ct);
        var config = (await podman.InspectAsync(image, Ct))["Config"]!;
        var pod = ContainerImageTests.PodSpec(configDirectory, deploymentFile);
        var container = pod["containers"]![0]!;

        Assert.Equal($"{pod["securityContext"]!["runAsUser"]}:{pod["securityContext"]!["runAsGroup"] ?? pod["securityContext"]!["runAsUser"]}",
            config["User"]!.GetValue<string>());
        var exposed = config["ExposedPorts"]!.AsObject().Select(p => p.Key).Order(StringComparer.Ordinal);
        var declared = container["ports"]!.AsArray().Select(p => $"{p!["containerPort"]}/tcp").Order(StringComparer.Ordinal);
        Assert.Equal(declared, exposed);
        Assert.Equal(Podman.Version, config["Labels"]!["org.opencontainers.image.version"]!.GetValue<string>());
        Assert.Contains("libssl3=", config["Labels"]!["ai.amun.hypha.base-packages"]!.GetValue<string>(), StringComparison.Ordinal);

        var kustomization = YamlDocuments.Parse(File.ReadAllText(RepositoryRoot.Combine("config", configDirectory, "kustomization.yaml"))).Single();
        var entry = kustomization["images"]!.AsArray().Single()!;
        Assert.Equal(image, entry["newName"]!.GetValue<string>());
        Assert.Equal(Podman.Version, entry["newTag"]!.GetValue<string>());
    }

    [Fact]
    public async Task The_operator_image_makes_a_WorkspaceStorage_Ready_and_serves_readyz()
    {
        var podman = await Podman.RequireAsync(folder, Ct);
        var rgw = RgwTestServer.Require();
        await using var kube = await KubeCluster.StartAsync(["team"], Ct);
        var suffix = Guid.NewGuid().ToString("N")[..8];
        var backend = "rgw-" + suffix;
        await kube.SeedRgwBackendAsync(rgw, backend, RgwTestServer.UniqueBucketName("img"));
        await kube.SeedAsync(new WorkspaceStorageResource
        {
            Metadata = new V1ObjectMeta { Name = "ws-image-" + suffix, NamespaceProperty = "team" },
            Spec = new WorkspaceStorageSpec { BackendRef = new BackendReference { Name = backend } },
        });
        var kubeconfig = await ReadableKubeconfigAsync(kube);
        var health = FreeTcpPort.Next();

        await using var container = await podman.RunAsync("workspace-storage-operator", [$"{kubeconfig}:/kube/config:ro"],
            new Dictionary<string, string> { ["KUBECONFIG"] = "/kube/config" },
            ["--health-port", health.ToString(System.Globalization.CultureInfo.InvariantCulture), "--metrics-port", FreeTcpPort.Next().ToString(System.Globalization.CultureInfo.InvariantCulture)], Ct);

        await container.WaitForAsync("the operator image's /readyz", async ct => await IsOkAsync(new Uri($"http://127.0.0.1:{health}/readyz"), ct), Converge);
        var ready = await Eventually.ValueAsync(_ => kube.GetAsync<WorkspaceStorageResource>("team", "ws-image-" + suffix),
            ws => ws?.Status.IsTrue(ConditionTypes.Ready) == true, "the WorkspaceStorage Ready, made by the operator image", Converge);
        Assert.NotNull(await kube.GetAsync<V1Secret>("team", ready!.Status!.SecretName!));
    }

    [Fact]
    public async Task The_companion_image_serves_readyz_once_its_informers_synced()
    {
        var podman = await Podman.RequireAsync(folder, Ct);
        await using var kube = await KubeCluster.StartAsync(null, Ct);
        var kubeconfig = await ReadableKubeconfigAsync(kube);
        var port = FreeTcpPort.Next();

        await using var container = await podman.RunAsync("workspace-storage-api", [$"{kubeconfig}:/kube/config:ro"],
            new Dictionary<string, string>
            {
                ["KUBECONFIG"] = "/kube/config",
                ["ASPNETCORE_HTTP_PORTS"] = port.ToString(System.Globalization.CultureInfo.InvariantCulture),
                ["Api__WorkspaceSource"] = "kubernetes",
                ["Api__PublicBaseUrl"] = $"http://127.0.0.1:{port}/",
                ["Hypha__JwtSecret"] = HyphaTokenFactory.NewSecret(),
            }, [], Ct);

        await container.WaitForAsync("the companion image's /readyz", async ct => await IsOkAsync(new Uri($"http://127.0.0.1:{port}/readyz"), ct), Converge);
    }

    /// <summary>The cluster's kubeconfig where the image's user (65532) can read it: temporary folders are private to root.</summary>
    private async Task<string> ReadableKubeconfigAsync(KubeCluster kube)
    {
        var path = Path.Combine(folder, "kubeconfig");
        await kube.WriteKubeconfigAsync(path);
        File.SetUnixFileMode(folder, UnixFileMode.UserRead | UnixFileMode.UserWrite | UnixFileMode.UserExecute | UnixFileMode.GroupExecute | UnixFileMode.OtherExecute);
        File.SetUnixFileMode(path, UnixFileMode.UserRead | UnixFileMode.UserWrite | UnixFileMode.GroupRead | UnixFileMode.OtherRead);
        return path;
    }

    private async Task<bool> IsOkAsync(Uri uri, CancellationToken cancellationToken)
    {
        try
        {
            using var response = await http.GetAsync(uri, cancellationToken);
            return response.StatusCode == HttpStatusCode.OK;
        }
        catch (Exception ex) when (ex is HttpRequestException or TaskCanceledException)
        {
            return false;
        }
    }
}
