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
/// against the real API server and RGW: the operator image makes a WorkspaceStorage Ready, and the companion image
/// then serves that workspace's files. The image's user and ports are the Deployment's.
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

    /// <summary>
    /// The two shipped images together, as a cluster runs them: the operator image (Native AOT) makes a
    /// WorkspaceStorage Ready, then the companion image serves that workspace from the cluster (informers on the real
    /// API server) to a Hypha token: upload, download, listing and a presigned URL RGW honours, while another
    /// workspace's token and an absolute path are refused.
    /// </summary>
    [Fact]
    public async Task The_shipped_images_make_a_workspace_Ready_and_serve_its_files_to_a_Hypha_token()
    {
        var podman = await Podman.RequireAsync(folder, Ct);
        var rgw = RgwTestServer.Require();
        await using var kube = await KubeCluster.StartAsync(["team"], Ct);
        var suffix = Guid.NewGuid().ToString("N")[..8];
        var backend = "rgw-" + suffix;
        var workspace = "ws-image-" + suffix;
        await kube.SeedRgwBackendAsync(rgw, backend, RgwTestServer.UniqueBucketName("img"));
        await kube.SeedAsync(new WorkspaceStorageResource
        {
            Metadata = new V1ObjectMeta { Name = workspace, NamespaceProperty = "team" },
            Spec = new WorkspaceStorageSpec { BackendRef = new BackendReference { Name = backend } },
        });
        var kubeconfig = await ReadableKubeconfigAsync(kube);
        var health = FreeTcpPort.Next();

        await using var operatorContainer = await podman.RunAsync("workspace-storage-operator", [$"{kubeconfig}:/kube/config:ro"],
            new Dictionary<string, string> { ["KUBECONFIG"] = "/kube/config" },
            ["--health-port", Text(health), "--metrics-port", Text(FreeTcpPort.Next())], Ct);
        await operatorContainer.WaitForAsync("the operator image's /readyz", async ct => await IsOkAsync(new Uri($"http://127.0.0.1:{health}/readyz"), ct), Converge);
        var ready = await Eventually.ValueAsync(_ => kube.GetAsync<WorkspaceStorageResource>("team", workspace),
            ws => ws?.Status.IsTrue(ConditionTypes.Ready) == true, "the WorkspaceStorage Ready, made by the operator image", Converge);
        Assert.NotNull(await kube.GetAsync<V1Secret>("team", ready!.Status!.SecretName!));

        var tokens = new HyphaTokenFactory(HyphaTokenFactory.NewSecret());
        var port = FreeTcpPort.Next();
        var api = new Uri($"http://127.0.0.1:{port}/");
        await using var companion = await podman.RunAsync("workspace-storage-api", [$"{kubeconfig}:/kube/config:ro"],
            new Dictionary<string, string>
            {
                ["KUBECONFIG"] = "/kube/config",
                ["ASPNETCORE_HTTP_PORTS"] = Text(port),
                ["Api__WorkspaceSource"] = "kubernetes",
                ["Api__PublicBaseUrl"] = api.ToString(),
                ["Hypha__JwtSecret"] = tokens.Secret,
            }, [], Ct);
        await companion.WaitForAsync("the companion image's /readyz", async ct => await IsOkAsync(new Uri(api, "readyz"), ct), Converge);

        var token = tokens.ForWorkspace(workspace, "rw");
        var content = "written through the shipped companion image " + suffix;
        using (var put = Authorized(HttpMethod.Put, new Uri(api, $"{workspace}/files/docs/a.txt"), token))
        {
            put.Content = new StringContent(content);
            using var answer = await http.SendAsync(put, Ct);
            Assert.True(answer.IsSuccessStatusCode, $"PUT /files answered {(int)answer.StatusCode}: {await answer.Content.ReadAsStringAsync(Ct)}");
        }

        Assert.Equal(content, await ReadOkAsync(Authorized(HttpMethod.Get, new Uri(api, $"{workspace}/files/docs/a.txt"), token)));
        Assert.Contains("a.txt", await ReadOkAsync(Authorized(HttpMethod.Get, new Uri(api, $"{workspace}/services/s3-storage/list_files?path=docs/"), token)), StringComparison.Ordinal);

        // The presigned URL is signed with the workspace's own key and points at RGW, which checks it.
        var presigned = System.Text.Json.JsonSerializer.Deserialize<string>(await ReadOkAsync(Authorized(HttpMethod.Get,
            new Uri(api, $"{workspace}/services/s3-storage/generate_presigned_url?path=docs/a.txt"), token)))!;
        Assert.StartsWith(rgw.Endpoint.ToString().TrimEnd('/'), presigned, StringComparison.Ordinal);
        Assert.Equal(content, await http.GetStringAsync(new Uri(presigned), Ct));

        using (var foreign = await http.SendAsync(Authorized(HttpMethod.Get, new Uri(api, $"{workspace}/files/docs/a.txt"), tokens.ForWorkspace(workspace + "x", "rw")), Ct))
        {
            Assert.Equal(HttpStatusCode.Forbidden, foreign.StatusCode);
        }

        using (var absolute = await http.SendAsync(Authorized(HttpMethod.Get,
            new Uri(api, $"{workspace}/services/s3-storage/generate_presigned_url?path=/etc/passwd"), token), Ct))
        {
            Assert.Equal(HttpStatusCode.BadRequest, absolute.StatusCode);
        }
    }

    private static string Text(int port) => port.ToString(System.Globalization.CultureInfo.InvariantCulture);

    private static HttpRequestMessage Authorized(HttpMethod method, Uri uri, string token)
    {
        var request = new HttpRequestMessage(method, uri);
        request.Headers.Authorization = new System.Net.Http.Headers.AuthenticationHeaderValue("Bearer", token);
        return request;
    }

    private async Task<string> ReadOkAsync(HttpRequestMessage request)
    {
        using (request)
        {
            using var answer = await http.SendAsync(request, Ct);
            var body = await answer.Content.ReadAsStringAsync(Ct);
            Assert.True(answer.StatusCode == HttpStatusCode.OK, $"{request.Method} {request.RequestUri!.AbsolutePath} answered {(int)answer.StatusCode}: {body}");
            return body;
        }
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
