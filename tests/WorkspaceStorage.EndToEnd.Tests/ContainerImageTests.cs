using System.Text.Json.Nodes;
using System.Text.RegularExpressions;

namespace WorkspaceStorage.EndToEnd.Tests;

/// <summary>
/// The Dockerfiles agree with the Deployments that run them (user, ports, image names) and build from files that
/// exist and reach the build context. Runs without Docker: building the images needs one and is not done here.
/// </summary>
public sealed partial class ContainerImageTests
{
    public static TheoryData<string, string, string> Images => new()
    {
        // Dockerfile's project, kustomize directory, Deployment file
        { "WorkspaceStorage.Operator", "manager", "manager.yaml" },
        { "WorkspaceStorage.Api", "api", "api.yaml" },
    };

    [Theory]
    [MemberData(nameof(Images))]
    public void The_image_runs_as_the_non_root_user_the_pod_asks_for(string project, string configDirectory, string deploymentFile)
    {
        var dockerfile = Dockerfile.Read(project);
        var pod = PodSpec(configDirectory, deploymentFile);

        var user = Assert.Single(dockerfile.FinalStage("USER"));
        var uid = user.Split(':')[0];
        Assert.Matches("^[0-9]+$", uid); // numeric, so runAsNonRoot can verify it without /etc/passwd
        Assert.NotEqual("0", uid);
        Assert.Equal(pod["securityContext"]!["runAsUser"]!.GetValue<long>().ToString(System.Globalization.CultureInfo.InvariantCulture), uid);
        Assert.True(pod["securityContext"]!["runAsNonRoot"]!.GetValue<bool>());
        Assert.True(pod["containers"]![0]!["securityContext"]!["readOnlyRootFilesystem"]!.GetValue<bool>());
        Assert.Contains(pod["containers"]![0]!["volumeMounts"]!.AsArray(), m => m!["mountPath"]!.GetValue<string>() == "/tmp");
    }

    [Theory]
    [MemberData(nameof(Images))]
    public void Exposed_ports_are_the_container_ports_of_the_Deployment(string project, string configDirectory, string deploymentFile)
    {
        var dockerfile = Dockerfile.Read(project);
        var container = PodSpec(configDirectory, deploymentFile)["containers"]![0]!;

        var exposed = dockerfile.FinalStage("EXPOSE").SelectMany(e => e.Split(' ', StringSplitOptions.RemoveEmptyEntries)).Select(p => long.Parse(p.Split('/')[0], System.Globalization.CultureInfo.InvariantCulture));
        var declared = container["ports"]!.AsArray().Select(p => p!["containerPort"]!.GetValue<long>());
        Assert.Equal(declared.Order(), exposed.Order());
    }

    [Fact]
    public void The_API_listens_where_its_Deployment_and_Service_point()
    {
        var dockerfile = Dockerfile.Read("WorkspaceStorage.Api");
        var container = PodSpec("api", "api.yaml")["containers"]![0]!;

        var fromDeployment = container["env"]!.AsArray().Single(e => e!["name"]!.GetValue<string>() == "ASPNETCORE_HTTP_PORTS")!["value"]!.GetValue<string>();
        Assert.Equal(fromDeployment, dockerfile.Environment("ASPNETCORE_HTTP_PORTS"));
    }

    [Fact]
    public void The_operator_image_leaves_its_ports_to_the_flags()
    {
        var dockerfile = Dockerfile.Read("WorkspaceStorage.Operator");
        var args = PodSpec("manager", "manager.yaml")["containers"]![0]!["args"]!.AsArray().Select(a => a!.GetValue<string>()).ToList();

        Assert.Equal("", dockerfile.Environment("ASPNETCORE_HTTP_PORTS"));
        Assert.Contains("--metrics-port=8080", args);
        Assert.Contains("--health-port=8081", args);
    }

    [Theory]
    [MemberData(nameof(Images))]
    public void Builds_with_the_SDK_runs_on_the_ASP_NET_runtime_and_starts_the_project_s_assembly(string project, string configDirectory, string deploymentFile)
    {
        _ = (configDirectory, deploymentFile);
        var dockerfile = Dockerfile.Read(project);

        Assert.Equal("mcr.microsoft.com/dotnet/sdk:10.0", dockerfile.Stages[0].Image);
        Assert.StartsWith("mcr.microsoft.com/dotnet/aspnet:10.0", dockerfile.Stages[^1].Image, StringComparison.Ordinal);
        Assert.Equal($"""["dotnet", "/app/{project}.dll"]""", Assert.Single(dockerfile.FinalStage("ENTRYPOINT")));
        Assert.Contains(dockerfile.Stages[0].Instructions, i => i.Keyword == "RUN" && i.Arguments.Contains($"dotnet publish src/{project}/{project}.csproj", StringComparison.Ordinal));
    }

    [Theory]
    [MemberData(nameof(Images))]
    public void Every_file_the_build_copies_exists_and_is_in_the_build_context(string project, string configDirectory, string deploymentFile)
    {
        _ = (configDirectory, deploymentFile);
        var dockerfile = Dockerfile.Read(project);
        var ignored = File.ReadAllLines(RepositoryRoot.Combine(".dockerignore"))
            .Select(l => l.Trim()).Where(l => l.Length > 0 && !l.StartsWith('#'))
            .Select(l => l.TrimEnd('/')).ToList();

        var copies = dockerfile.Stages[0].Instructions.Where(i => i.Keyword == "COPY").ToList();
        Assert.NotEmpty(copies);
        foreach (var copy in copies)
        {
            var parts = copy.Arguments.Split(' ', StringSplitOptions.RemoveEmptyEntries);
            foreach (var source in parts[..^1])
            {
                var path = RepositoryRoot.Combine(source.TrimEnd('/'));
                Assert.True(File.Exists(path) || Directory.Exists(path), $"{project}/Dockerfile copies {source}, which does not exist");
                var top = source.TrimEnd('/').Split('/')[0];
                Assert.DoesNotContain(top, ignored);
            }
        }

        // Every project the image's project references is copied (a new reference must not break the image build).
        foreach (var reference in ProjectReferences($"src/{project}/{project}.csproj"))
        {
            Assert.Contains(copies, c => c.Arguments.StartsWith(reference + "/", StringComparison.Ordinal));
        }
    }

    [Theory]
    [InlineData("manager", "workspace-storage-operator", "WorkspaceStorage.Operator")]
    [InlineData("api", "workspace-storage-api", "WorkspaceStorage.Api")]
    public void The_build_command_in_the_Dockerfile_tags_the_image_kustomize_deploys(string configDirectory, string image, string project)
    {
        var kustomization = YamlDocuments.Parse(File.ReadAllText(RepositoryRoot.Combine("config", configDirectory, "kustomization.yaml"))).Single();
        var entry = kustomization["images"]!.AsArray().Single()!;

        Assert.Equal(image, entry["newName"]!.GetValue<string>());
        Assert.Contains($"-t {image}:{entry["newTag"]}", File.ReadAllText(RepositoryRoot.Combine("src", project, "Dockerfile")), StringComparison.Ordinal);
    }

    internal static JsonNode PodSpec(string configDirectory, string deploymentFile) =>
        YamlDocuments.Parse(File.ReadAllText(RepositoryRoot.Combine("config", configDirectory, deploymentFile)))
            .Single(d => d["kind"]!.GetValue<string>() == "Deployment")["spec"]!["template"]!["spec"]!;

    /// <summary>src/X paths of the projects a csproj references, transitively.</summary>
    private static IEnumerable<string> ProjectReferences(string csproj)
    {
        var seen = new HashSet<string>(StringComparer.Ordinal);
        var pending = new Stack<string>([csproj]);
        while (pending.TryPop(out var current))
        {
            var directory = Path.GetDirectoryName(current)!;
            foreach (Match match in ProjectReference().Matches(File.ReadAllText(RepositoryRoot.Combine(current))))
            {
                var referenced = Path.GetRelativePath(RepositoryRoot.Path, Path.GetFullPath(Path.Combine(RepositoryRoot.Combine(directory), match.Groups[1].Value))).Replace('\\', '/');
                if (seen.Add(Path.GetDirectoryName(referenced)!.Replace('\\', '/')))
                {
                    pending.Push(referenced);
                }
            }
        }

        return seen;
    }

    [GeneratedRegex("<ProjectReference Include=\"([^\"]+)\"")]
    private static partial Regex ProjectReference();

    private sealed record Instruction(string Keyword, string Arguments);

    private sealed record Stage(string Image, IReadOnlyList<Instruction> Instructions);

    /// <summary>A Dockerfile split into stages and instructions (continuation lines joined, comments dropped).</summary>
    private sealed record Dockerfile(IReadOnlyList<Stage> Stages)
    {
        public static Dockerfile Read(string project)
        {
            var text = File.ReadAllText(RepositoryRoot.Combine("src", project, "Dockerfile"));
            var logical = new List<string>();
            var current = "";
            foreach (var raw in text.Split('\n'))
            {
                var line = raw.TrimEnd('\r');
                if (line.TrimStart().StartsWith('#'))
                {
                    continue;
                }

                current += line.EndsWith('\\') ? line[..^1] + " " : line;
                if (!line.EndsWith('\\'))
                {
                    if (current.Trim().Length > 0)
                    {
                        logical.Add(Regex.Replace(current.Trim(), @"\s+", " "));
                    }

                    current = "";
                }
            }

            var stages = new List<Stage>();
            List<Instruction>? instructions = null;
            foreach (var line in logical)
            {
                var space = line.IndexOf(' ', StringComparison.Ordinal);
                var keyword = line[..space].ToUpperInvariant();
                var arguments = line[(space + 1)..];
                if (keyword == "FROM")
                {
                    instructions = [];
                    stages.Add(new Stage(arguments.Split(' ')[0], instructions));
                }
                else
                {
                    (instructions ?? throw new InvalidOperationException($"{project}/Dockerfile: {keyword} before FROM")).Add(new Instruction(keyword, arguments));
                }
            }

            return new Dockerfile(stages);
        }

        public IEnumerable<string> FinalStage(string keyword) => Stages[^1].Instructions.Where(i => i.Keyword == keyword).Select(i => i.Arguments);

        /// <summary>The value an ENV of the final stage sets (KEY=value pairs, quotes removed).</summary>
        public string? Environment(string name)
        {
            string? value = null;
            foreach (var env in FinalStage("ENV"))
            {
                foreach (Match pair in Regex.Matches(env, "([A-Za-z_][A-Za-z0-9_]*)=(\"[^\"]*\"|\\S*)"))
                {
                    if (pair.Groups[1].Value == name)
                    {
                        value = pair.Groups[2].Value.Trim('"');
                    }
                }
            }

            return value;
        }
    }
}
