using System.Globalization;
using System.Net;
using System.Text;
using System.Text.Json;
using k8s;
using k8s.Models;
using WorkspaceStorage.Testing.Kubernetes;

namespace WorkspaceStorage.EndToEnd.Tests.Infrastructure;

/// <summary>
/// The node the test API server lacks: the kubelet and the deployment controller for one namespace. Each Deployment's
/// pod template runs as <c>spec.replicas</c> podman containers, each in a network namespace of its own on the bridge,
/// as a kubelet runs them: the container's command, args and env (values, fieldRef, secretKeyRef, configMapKeyRef,
/// envFrom), its emptyDir, Secret and ConfigMap volumes (a missing Secret keeps it waiting, as ContainerCreating does),
/// the pod's user, fsGroup and read-only root, and the service account's in-cluster credentials
/// (/var/run/secrets/kubernetes.io/serviceaccount and KUBERNETES_SERVICE_HOST/PORT; the host is
/// kubernetes.default.svc, which names the bridge's gateway, where a forwarder reaches the API server). When a
/// container's readiness probe answers it counts as available, and deployments/status says so, which is what
/// <c>kubectl rollout status</c> waits for. A changed template (a new generation) replaces the pods. Not emulated:
/// resource limits, liveness restarts (a container that exits is reported, not restarted), Services.
/// </summary>
[System.Runtime.Versioning.UnsupportedOSPlatform("windows")]
internal sealed class StandInNode : IAsyncDisposable
{
    private static readonly TimeSpan Pace = TimeSpan.FromSeconds(1); // how often it looks at Deployments and probes, as a kubelet's sync loop
    private const string ServiceHost = "kubernetes.default.svc";
    private readonly Podman podman;
    private readonly RealKubeApiServer server;
    private readonly k8s.Kubernetes client;
    private readonly string ns;
    private readonly string folder;
    private readonly IPAddress gateway;
    private readonly TcpForwarder apiServer;
    private readonly HttpClient http = new(new SocketsHttpHandler { UseProxy = false }) { Timeout = TimeSpan.FromSeconds(2) };
    private readonly Dictionary<string, Rollout> rollouts = new(StringComparer.Ordinal);
    private readonly List<string> problems = [];
    private readonly CancellationTokenSource stopping = new();
    private Task loop = Task.CompletedTask;

    private StandInNode(Podman podman, RealKubeApiServer server, string ns, string folder, IPAddress gateway)
    {
        this.podman = podman;
        this.server = server;
        this.ns = ns;
        this.folder = folder;
        this.gateway = gateway;
        client = server.CreateAdminClient();
        apiServer = TcpForwarder.Start(gateway, new IPEndPoint(IPAddress.Loopback, server.BaseAddress.Port));
    }

    /// <summary>The address pods reach the host's 127.0.0.1 servers at, through <see cref="Forward"/>.</summary>
    public IPAddress Gateway => gateway;

    /// <summary>What went wrong with a pod (an image not built, a container that exited, with its log), for failure messages.</summary>
    public string Problems
    {
        get
        {
            lock (problems)
            {
                return problems.Count == 0 ? "none" : string.Join("\n", problems);
            }
        }
    }

    public static async Task<StandInNode> StartAsync(Podman podman, RealKubeApiServer server, string ns, string folder, CancellationToken cancellationToken)
    {
        var gateway = await podman.BridgeGatewayAsync(cancellationToken);
        var node = new StandInNode(podman, server, ns, folder, gateway);
        node.loop = node.RunAsync();
        return node;
    }

    /// <summary>A URL pods reach <paramref name="hostUrl"/> (a server on the host's 127.0.0.1) at: a forwarder on the gateway, which the node closes.</summary>
    public Uri Forward(Uri hostUrl)
    {
        var forwarder = TcpForwarder.Start(gateway, new IPEndPoint(IPAddress.Loopback, hostUrl.Port));
        forwarders.Add(forwarder);
        return new UriBuilder(hostUrl) { Host = gateway.ToString(), Port = forwarder.Port }.Uri;
    }

    private readonly List<TcpForwarder> forwarders = [];

    private async Task RunAsync()
    {
        while (!stopping.IsCancellationRequested)
        {
            try
            {
                await SyncAsync(stopping.Token);
                await Task.Delay(Pace, stopping.Token);
            }
            catch (OperationCanceledException) when (stopping.IsCancellationRequested)
            {
                return;
            }
            catch (Exception ex) when (!stopping.IsCancellationRequested)
            {
                // Reported for the test's failure message; the next pass tries again, as a kubelet does.
                Report($"node: {ex.GetType().Name}: {ex.Message}");
                await Task.Delay(Pace, CancellationToken.None);
            }
        }
    }

    private async Task SyncAsync(CancellationToken cancellationToken)
    {
        foreach (var deployment in (await client.AppsV1.ListNamespacedDeploymentAsync(ns, cancellationToken: cancellationToken)).Items)
        {
            var name = deployment.Metadata.Name;
            var generation = deployment.Metadata.Generation ?? 0;
            if (!rollouts.TryGetValue(name, out var rollout) || rollout.Generation != generation)
            {
                if (rollout is not null)
                {
                    await rollout.StopAsync(deployment.Spec.Template.Spec.TerminationGracePeriodSeconds, cancellationToken);
                }

                rollout = new Rollout(generation, deployment.Spec.Replicas ?? 1);
                rollouts[name] = rollout;
            }

            await rollout.SyncAsync(this, deployment, cancellationToken);
            var available = rollout.Available;
            if (deployment.Status?.ObservedGeneration != generation || deployment.Status?.AvailableReplicas != available)
            {
                var status = new
                {
                    status = new
                    {
                        observedGeneration = generation,
                        replicas = rollout.Replicas,
                        updatedReplicas = rollout.Replicas,
                        readyReplicas = available,
                        availableReplicas = available,
                        unavailableReplicas = rollout.Replicas - available,
                    },
                };
                await client.AppsV1.PatchNamespacedDeploymentStatusAsync(new V1Patch(JsonSerializer.Serialize(status), V1Patch.PatchType.MergePatch),
                    name, ns, cancellationToken: cancellationToken);
            }
        }
    }

    private void Report(string problem)
    {
        lock (problems)
        {
            if (!problems.Contains(problem))
            {
                problems.Add(problem);
            }
        }
    }

    /// <summary>Starts one replica of <paramref name="deployment"/>, or returns null while what it mounts is missing.</summary>
    private async Task<Podman.Container?> StartPodAsync(V1Deployment deployment, string podName, CancellationToken cancellationToken)
    {
        var pod = deployment.Spec.Template.Spec;
        var container = pod.Containers.Single(); // the project's Deployments have one container each
        var image = Podman.BuiltImage(container.Image);
        if (image is null)
        {
            Report($"{podName}: ErrImagePull: {container.Image} is not an image make images built");
            return null;
        }

        var podFolder = Path.Combine(folder, podName);
        Directory.CreateDirectory(podFolder);
        var user = pod.SecurityContext?.RunAsUser ?? container.SecurityContext?.RunAsUser;
        var group = pod.SecurityContext?.RunAsGroup ?? container.SecurityContext?.RunAsGroup ?? user;
        var fsGroup = pod.SecurityContext?.FsGroup;

        var environment = new Dictionary<string, string>(StringComparer.Ordinal)
        {
            ["KUBERNETES_SERVICE_HOST"] = ServiceHost,
            ["KUBERNETES_SERVICE_PORT"] = apiServer.Port.ToString(CultureInfo.InvariantCulture),
        };
        foreach (var from in container.EnvFrom ?? [])
        {
            var data = from.SecretRef is { } secretRef ? await SecretDataAsync(secretRef.Name, cancellationToken)
                : await ConfigMapDataAsync(from.ConfigMapRef!.Name, cancellationToken);
            if (data is null)
            {
                return null;
            }

            foreach (var (key, value) in data)
            {
                environment[(from.Prefix ?? "") + key] = value;
            }
        }

        foreach (var env in container.Env ?? [])
        {
            var value = await EnvValueAsync(env, podName, pod, cancellationToken);
            if (value is null)
            {
                return null;
            }

            environment[env.Name] = value;
        }

        var volumes = new List<string>();
        var tmpfs = new List<string>();
        foreach (var mount in container.VolumeMounts ?? [])
        {
            var volume = pod.Volumes.Single(v => v.Name == mount.Name);
            if (volume.EmptyDir is { } emptyDir)
            {
                var size = emptyDir.SizeLimit is { } limit ? $",size={limit.ToInt64()}" : "";
                tmpfs.Add($"{mount.MountPath}:rw,mode=1777{size}");
                continue;
            }

            var files = volume.Secret is { } secret ? await SecretDataAsync(secret.SecretName, cancellationToken)
                : volume.ConfigMap is { } configMap ? await ConfigMapDataAsync(configMap.Name, cancellationToken)
                : throw new NotSupportedException($"{podName}: volume {volume.Name}: only emptyDir, secret and configMap are emulated");
            if (files is null)
            {
                return null; // ContainerCreating until the Secret exists
            }

            var items = volume.Secret?.Items ?? volume.ConfigMap?.Items;
            var mode = volume.Secret?.DefaultMode ?? volume.ConfigMap?.DefaultMode ?? Convert.ToInt32("644", 8);
            var directory = Path.Combine(podFolder, volume.Name);
            Directory.CreateDirectory(directory);
            foreach (var (path, content, itemMode) in items is null
                ? files.Select(f => (f.Key, f.Value, mode))
                : items.Select(i => (i.Path, files[i.Key], i.Mode ?? mode)))
            {
                await WriteVolumeFileAsync(Path.Combine(directory, path), content, itemMode, fsGroup, cancellationToken);
            }

            volumes.Add($"{directory}:{mount.MountPath}:ro");
        }

        if (pod.AutomountServiceAccountToken != false)
        {
            volumes.Add($"{await ServiceAccountFolderAsync(podFolder, pod.ServiceAccountName, fsGroup, cancellationToken)}:/var/run/secrets/kubernetes.io/serviceaccount:ro");
        }

        OpenToContainers(podFolder);
        return await podman.RunAsync(new Podman.ContainerRun(image)
        {
            Name = podName,
            Network = Podman.BridgeNetwork,
            Hostname = podName,
            Hosts = [$"{ServiceHost}:{gateway}"],
            User = user is null ? null : $"{user}:{group}",
            ReadOnlyRoot = container.SecurityContext?.ReadOnlyRootFilesystem == true,
            Tmpfs = tmpfs,
            Volumes = volumes,
            Environment = environment,
            Entrypoint = container.Command is { Count: > 0 } command ? [.. command] : null,
            Arguments = [.. container.Args ?? []],
        }, cancellationToken);
    }

    private async Task<string?> EnvValueAsync(V1EnvVar env, string podName, V1PodSpec pod, CancellationToken cancellationToken)
    {
        if (env.ValueFrom is null)
        {
            return env.Value ?? "";
        }

        if (env.ValueFrom.FieldRef is { } field)
        {
            return field.FieldPath switch
            {
                "metadata.name" => podName,
                "metadata.namespace" => ns,
                "spec.serviceAccountName" => pod.ServiceAccountName,
                _ => throw new NotSupportedException($"fieldRef {field.FieldPath} is not emulated"),
            };
        }

        if (env.ValueFrom.SecretKeyRef is { } secretKey)
        {
            var data = await SecretDataAsync(secretKey.Name, cancellationToken);
            return data is not null && data.TryGetValue(secretKey.Key, out var value) ? value : null;
        }

        if (env.ValueFrom.ConfigMapKeyRef is { } configMapKey)
        {
            var data = await ConfigMapDataAsync(configMapKey.Name, cancellationToken);
            return data is not null && data.TryGetValue(configMapKey.Key, out var value) ? value : null;
        }

        throw new NotSupportedException($"env {env.Name}: resourceFieldRef is not emulated");
    }

    private async Task<Dictionary<string, string>?> SecretDataAsync(string name, CancellationToken cancellationToken)
    {
        var secret = await OrNullAsync(() => client.CoreV1.ReadNamespacedSecretAsync(name, ns, cancellationToken: cancellationToken));
        return secret?.Data?.ToDictionary(d => d.Key, d => Encoding.UTF8.GetString(d.Value), StringComparer.Ordinal)
            ?? (secret is null ? null : new Dictionary<string, string>(StringComparer.Ordinal));
    }

    private async Task<Dictionary<string, string>?> ConfigMapDataAsync(string name, CancellationToken cancellationToken)
    {
        var configMap = await OrNullAsync(() => client.CoreV1.ReadNamespacedConfigMapAsync(name, ns, cancellationToken: cancellationToken));
        return configMap is null ? null : new Dictionary<string, string>(configMap.Data ?? new Dictionary<string, string>(), StringComparer.Ordinal);
    }

    private static async Task<T?> OrNullAsync<T>(Func<Task<T>> read) where T : class
    {
        try
        {
            return await read();
        }
        catch (k8s.Autorest.HttpOperationException ex) when (ex.Response.StatusCode == HttpStatusCode.NotFound)
        {
            return null;
        }
    }

    /// <summary>The service account's token, the server's CA and the namespace, as the kubelet projects them.</summary>
    private async Task<string> ServiceAccountFolderAsync(string podFolder, string account, long? fsGroup, CancellationToken cancellationToken)
    {
        var kubeconfig = server.ServiceAccountKubeconfig(ns, account);
        if (!File.Exists(kubeconfig))
        {
            throw new InvalidOperationException($"the API server gave service account {ns}/{account} no token (WSO_KUBE_SERVICE_ACCOUNTS)");
        }

        var user = YamlDocuments.Parse(await File.ReadAllTextAsync(kubeconfig, cancellationToken)).Single()["users"]![0]!["user"]!;
        var directory = Path.Combine(podFolder, "serviceaccount");
        Directory.CreateDirectory(directory);
        var readable = Convert.ToInt32("644", 8);
        await WriteVolumeFileAsync(Path.Combine(directory, "token"), user["token"]!.GetValue<string>(), readable, fsGroup, cancellationToken);
        await WriteVolumeFileAsync(Path.Combine(directory, "ca.crt"),
            await File.ReadAllTextAsync(Path.Combine(Path.GetDirectoryName(kubeconfig)!, "apiserver.crt"), cancellationToken), readable, fsGroup, cancellationToken);
        await WriteVolumeFileAsync(Path.Combine(directory, "namespace"), ns, readable, fsGroup, cancellationToken);
        return directory;
    }

    /// <summary>A volume file with its mode; with an fsGroup it belongs to that group and the group may read it, as the kubelet sets it.</summary>
    private static async Task WriteVolumeFileAsync(string path, string content, int mode, long? fsGroup, CancellationToken cancellationToken)
    {
        Directory.CreateDirectory(Path.GetDirectoryName(path)!);
        await File.WriteAllTextAsync(path, content, cancellationToken);
        if (fsGroup is { } group)
        {
            var chgrp = await Testing.Support.ChildProcessRunner.RunAsync("/bin/chgrp", [group.ToString(CultureInfo.InvariantCulture), path], null,
                "/", TimeSpan.FromSeconds(10), cancellationToken);
            if (chgrp.ExitCode != 0)
            {
                throw new InvalidOperationException($"chgrp {group} {path}: {chgrp.Error.Trim()}");
            }

            mode |= Convert.ToInt32("040", 8);
        }

        File.SetUnixFileMode(path, (UnixFileMode)mode);
    }

    /// <summary>Folders on the path to the pod's files may be entered by the container's user (temporary folders are private to root).</summary>
    private void OpenToContainers(string podFolder)
    {
        const UnixFileMode Enter = UnixFileMode.UserRead | UnixFileMode.UserWrite | UnixFileMode.UserExecute | UnixFileMode.GroupExecute | UnixFileMode.OtherExecute;
        for (var directory = podFolder; directory is not null && directory.StartsWith(folder, StringComparison.Ordinal); directory = Path.GetDirectoryName(directory))
        {
            File.SetUnixFileMode(directory, Enter);
        }

        foreach (var directory in Directory.EnumerateDirectories(podFolder, "*", SearchOption.AllDirectories))
        {
            File.SetUnixFileMode(directory, Enter);
        }
    }

    private async Task<bool> ReadyAsync(V1Container container, string address, CancellationToken cancellationToken)
    {
        if (container.ReadinessProbe?.HttpGet is not { } get)
        {
            return true;
        }

        var port = get.Port.Value is { } named && !int.TryParse(named, NumberStyles.None, CultureInfo.InvariantCulture, out _)
            ? container.Ports.Single(p => p.Name == named).ContainerPort
            : int.Parse(get.Port.Value!, CultureInfo.InvariantCulture);
        try
        {
            using var response = await http.GetAsync(new Uri($"http://{address}:{port}{get.Path}"), cancellationToken);
            return response.IsSuccessStatusCode;
        }
        catch (Exception ex) when (ex is HttpRequestException or TaskCanceledException)
        {
            return false;
        }
    }

    public async ValueTask DisposeAsync()
    {
        await stopping.CancelAsync();
        await loop;
        foreach (var rollout in rollouts.Values)
        {
            await rollout.StopAsync(2, CancellationToken.None);
        }

        foreach (var forwarder in forwarders)
        {
            forwarder.Dispose();
        }

        apiServer.Dispose();
        http.Dispose();
        client.Dispose();
        stopping.Dispose();
    }

    /// <summary>One generation of a Deployment's pods.</summary>
    private sealed class Rollout(long generation, int replicas)
    {
        private readonly Dictionary<int, (Podman.Container Container, bool Ready, bool Exited)> pods = [];

        public long Generation => generation;

        public int Replicas => replicas;

        public int Available => pods.Values.Count(p => p.Ready && !p.Exited);

        public async Task SyncAsync(StandInNode node, V1Deployment deployment, CancellationToken cancellationToken)
        {
            var container = deployment.Spec.Template.Spec.Containers.Single();
            for (var replica = 0; replica < replicas; replica++)
            {
                var podName = $"{deployment.Metadata.Name}-{generation}-{replica}";
                if (!pods.TryGetValue(replica, out var pod))
                {
                    if (await node.StartPodAsync(deployment, podName, cancellationToken) is { } started)
                    {
                        pods[replica] = (started, false, false);
                    }

                    continue;
                }

                if (pod.Exited)
                {
                    continue;
                }

                if (await pod.Container.StateAsync(cancellationToken) != "running")
                {
                    node.Report($"{podName} exited; its log:\n{await pod.Container.LogTailAsync(20, cancellationToken)}");
                    pods[replica] = pod with { Ready = false, Exited = true };
                    continue;
                }

                pods[replica] = pod with { Ready = await node.ReadyAsync(container, await pod.Container.AddressAsync(cancellationToken), cancellationToken) };
            }
        }

        public async Task StopAsync(long? graceSeconds, CancellationToken cancellationToken)
        {
            await Task.WhenAll(pods.Values.Select(p => p.Container.StopAsync(TimeSpan.FromSeconds(graceSeconds ?? 30), cancellationToken)));
            pods.Clear();
        }
    }
}
