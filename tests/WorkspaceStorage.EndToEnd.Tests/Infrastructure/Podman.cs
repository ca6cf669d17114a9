using System.Text.Json.Nodes;
using System.Text.RegularExpressions;
using WorkspaceStorage.Testing.Support;

namespace WorkspaceStorage.EndToEnd.Tests.Infrastructure;

/// <summary>
/// Debian's podman running the OCI layouts scripts/build-images.sh wrote under out/images, with a storage of the test's
/// own (vfs, under its folder: nothing is left in the system's). The flags are the ones this kind of machine needs:
/// runc (crun refuses its hybrid cgroups), cgroupfs, and ulimits within the hard limits. Without podman or the images
/// the test is skipped saying how to get them; under make test (WSO_TEST_IMAGES_REQUIRED=1) it fails instead.
/// </summary>
internal sealed partial class Podman
{
    private static readonly TimeSpan CommandLimit = TimeSpan.FromMinutes(2);
    private readonly string storage;

    private Podman(string storage) => this.storage = storage;

    /// <summary>The images' tag: the release in Directory.Build.props, as build-images.sh tags them.</summary>
    public static string Version { get; } = VersionPrefix().Match(File.ReadAllText(RepositoryRoot.Combine("Directory.Build.props"))).Groups[1].Value;

    private static string Layout(string image) => RepositoryRoot.Combine("out", "images", image);

    public static async Task<Podman> RequireAsync(string folder, CancellationToken cancellationToken)
    {
        const string Hint = "scripts/build-images.sh builds the images (make test does), scripts/apt-install-missing.sh podman runc installs podman";
        if (!File.Exists("/usr/bin/podman"))
        {
            Unavailable($"no /usr/bin/podman; {Hint}");
        }

        foreach (var image in new[] { "workspace-storage-operator", "workspace-storage-api" })
        {
            if (!File.Exists(Path.Combine(Layout(image), "index.json")))
            {
                Unavailable($"no image {Layout(image)}; {Hint}");
            }
        }

        var podman = new Podman(Path.Combine(folder, "podman"));
        var version = await podman.RunAsync(["version", "--format", "{{.Client.Version}}"], null, cancellationToken);
        if (version.ExitCode != 0)
        {
            Unavailable($"podman does not run here: {version.Error.Trim()}");
        }

        return podman;
    }

    private static void Unavailable(string why)
    {
        if (Environment.GetEnvironmentVariable("WSO_TEST_IMAGES_REQUIRED") == "1")
        {
            throw new InvalidOperationException($"{why}; make test requires the images");
        }

        Assert.Skip(why);
    }

    /// <summary>The image's <c>podman image inspect</c> (its Config: User, ExposedPorts, Labels, Env…).</summary>
    public async Task<JsonNode> InspectAsync(string image, CancellationToken cancellationToken)
    {
        var pulled = await OkAsync(["pull", "-q", Reference(image)], null, cancellationToken);
        var inspected = await OkAsync(["image", "inspect", pulled.Trim()], null, cancellationToken);
        return JsonNode.Parse(inspected)!.AsArray().Single()!;
    }

    /// <summary>
    /// Starts <paramref name="image"/> detached as the Deployments run it: the image's own user, read-only root, /tmp a
    /// tmpfs, all capabilities dropped, no new privileges; on the host's network. <paramref name="environment"/> reaches
    /// the container by name only (values in podman's environment, never on a command line).
    /// </summary>
    public Task<Container> RunAsync(string image, IEnumerable<string> volumes, IReadOnlyDictionary<string, string> environment, IEnumerable<string> arguments,
        CancellationToken cancellationToken) =>
        RunAsync(new ContainerRun(Reference(image)) { Volumes = [.. volumes], Environment = environment, Arguments = [.. arguments] }, cancellationToken);

    /// <summary>Starts <paramref name="run"/> detached, hardened as <see cref="ContainerRun"/> says.</summary>
    public async Task<Container> RunAsync(ContainerRun run, CancellationToken cancellationToken)
    {
        var name = $"wso-{run.Name ?? Path.GetFileName(run.Image)}-{Guid.NewGuid():N}".Replace(':', '-')[..40];
        var arguments = new List<string>
        {
            "run", "-d", "--name", name, "--network", run.Network, "--cap-drop", "ALL",
            "--security-opt", "no-new-privileges", "--ulimit", "nofile=1024:1024", "--ulimit", "nproc=4096:4096",
        };
        if (run.ReadOnlyRoot)
        {
            arguments.Add("--read-only");
        }

        if (run.User is { } user)
        {
            arguments.AddRange(["--user", user]);
        }

        if (run.Hostname is { } hostname)
        {
            arguments.AddRange(["--hostname", hostname]);
        }

        foreach (var host in run.Hosts)
        {
            arguments.AddRange(["--add-host", host]);
        }

        foreach (var tmpfs in run.Tmpfs)
        {
            arguments.AddRange(["--tmpfs", tmpfs]);
        }

        foreach (var volume in run.Volumes)
        {
            arguments.AddRange(["-v", volume]);
        }

        foreach (var key in run.Environment.Keys)
        {
            arguments.AddRange(["-e", key]);
        }

        if (run.Entrypoint is { Count: > 0 } entrypoint)
        {
            // podman takes a JSON array for an entrypoint of several words.
            arguments.AddRange(["--entrypoint", System.Text.Json.JsonSerializer.Serialize(entrypoint)]);
        }

        arguments.Add(run.Image);
        arguments.AddRange(run.Arguments);
        await OkAsync(arguments, run.Environment, cancellationToken);
        return new Container(this, name);
    }

    /// <summary>
    /// The image reference of <paramref name="image"/> (<c>name:tag</c>, as a Deployment names it) among the images
    /// build-images.sh built, or null when none has that name and tag (a kubelet's ErrImagePull).
    /// </summary>
    public static string? BuiltImage(string image)
    {
        var colon = image.LastIndexOf(':');
        var (name, tag) = colon < 0 ? (image, "latest") : (image[..colon], image[(colon + 1)..]);
        return tag == Version && File.Exists(Path.Combine(Layout(name), "index.json")) && !name.Contains('/', StringComparison.Ordinal) ? Reference(name) : null;
    }

    /// <summary>The bridge network's gateway: the host's address as containers on that network see it.</summary>
    public async Task<System.Net.IPAddress> BridgeGatewayAsync(CancellationToken cancellationToken)
    {
        // The bridge's interface exists once a container has used it: start one that exits at once.
        await OkAsync(["run", "--rm", "--network", BridgeNetwork, "--ulimit", "nofile=1024:1024", "--ulimit", "nproc=4096:4096",
            Reference("workspace-storage-operator"), "--version"], null, cancellationToken);
        var gateway = await OkAsync(["network", "inspect", BridgeNetwork, "--format", "{{range .Subnets}}{{.Gateway}}{{end}}"], null, cancellationToken);
        return System.Net.IPAddress.Parse(gateway.Trim());
    }

    /// <summary>podman's default network for root: a bridge with a network namespace per container.</summary>
    public const string BridgeNetwork = "podman";

    private static string Reference(string image) => $"oci:{Layout(image)}:{Version}";

    private Task<ChildProcessOutcome> RunAsync(IEnumerable<string> arguments, IReadOnlyDictionary<string, string>? environment, CancellationToken cancellationToken) =>
        ChildProcessRunner.RunAsync("/usr/bin/podman",
            ["--root", Path.Combine(storage, "root"), "--runroot", Path.Combine(storage, "run"), "--storage-driver", "vfs", "--runtime", "runc",
                "--cgroup-manager", "cgroupfs", "--events-backend", "none", .. arguments],
            environment, RepositoryRoot.Path, CommandLimit, cancellationToken);

    private async Task<string> OkAsync(IEnumerable<string> arguments, IReadOnlyDictionary<string, string>? environment, CancellationToken cancellationToken)
    {
        var list = arguments.ToList();
        var outcome = await RunAsync(list, environment, cancellationToken);
        Assert.True(outcome.ExitCode == 0, $"podman {list[0]} failed ({outcome.ExitCode}): {outcome.Error.Trim()}");
        return outcome.Output;
    }

    /// <summary>A running container; disposing removes it.</summary>
    internal sealed class Container(Podman podman, string name) : IAsyncDisposable
    {
        /// <summary>Waits until <paramref name="probe"/> holds; fails at once, with its log, when the container exits.</summary>
        public Task WaitForAsync(string what, Func<CancellationToken, Task<bool>> probe, TimeSpan timeout) =>
            Eventually.WaitAsync(what, timeout, async ct =>
            {
                if (await probe(ct))
                {
                    return (true, "");
                }

                var state = await podman.RunAsync(["inspect", "--format", "{{.State.Status}}", name], null, ct);
                var log = await podman.RunAsync(["logs", "--tail", "15", name], null, ct);
                Assert.True(state.Output.Trim() == "running", $"{what}: the container is {state.Output.Trim()}; its log:\n{log.Output}{log.Error}");
                return (false, $"running; the log's last lines:\n{log.Output}{log.Error}");
            }, TestContext.Current.CancellationToken);

        public string Name => name;

        /// <summary>podman's state of the container (running, exited…).</summary>
        public async Task<string> StateAsync(CancellationToken cancellationToken) =>
            (await podman.RunAsync(["inspect", "--format", "{{.State.Status}}", name], null, cancellationToken)).Output.Trim();

        /// <summary>The container's address on the bridge network.</summary>
        public async Task<string> AddressAsync(CancellationToken cancellationToken) =>
            (await podman.OkAsync(["inspect", "--format", "{{.NetworkSettings.IPAddress}}", name], null, cancellationToken)).Trim();

        /// <summary>The last lines of its output.</summary>
        public async Task<string> LogTailAsync(int lines, CancellationToken cancellationToken)
        {
            var log = await podman.RunAsync(["logs", "--tail", lines.ToString(System.Globalization.CultureInfo.InvariantCulture), name], null, cancellationToken);
            return log.Output + log.Error;
        }

        /// <summary>Stops it as a kubelet does (SIGTERM, then SIGKILL after the grace period) and removes it.</summary>
        public async Task StopAsync(TimeSpan grace, CancellationToken cancellationToken) =>
            await podman.RunAsync(["rm", "-f", "-t", ((int)grace.TotalSeconds).ToString(System.Globalization.CultureInfo.InvariantCulture), name], null, cancellationToken);

        public async ValueTask DisposeAsync() => await podman.RunAsync(["rm", "-f", "-t", "2", name], null, CancellationToken.None);
    }

    /// <summary>What <see cref="RunAsync(ContainerRun, CancellationToken)"/> starts; the defaults are the Deployments' hardening.</summary>
    internal sealed record ContainerRun(string Image)
    {
        public string? Name { get; init; }
        public string Network { get; init; } = "host";
        public bool ReadOnlyRoot { get; init; } = true;
        public string? User { get; init; }
        public string? Hostname { get; init; }
        public IReadOnlyList<string> Hosts { get; init; } = [];
        public IReadOnlyList<string> Tmpfs { get; init; } = ["/tmp"];
        public IReadOnlyList<string> Volumes { get; init; } = [];
        public IReadOnlyDictionary<string, string> Environment { get; init; } = new Dictionary<string, string>();
        public IReadOnlyList<string>? Entrypoint { get; init; }
        public IReadOnlyList<string> Arguments { get; init; } = [];
    }

    [GeneratedRegex("<VersionPrefix>([^<]+)</VersionPrefix>")]
    private static partial Regex VersionPrefix();
}
