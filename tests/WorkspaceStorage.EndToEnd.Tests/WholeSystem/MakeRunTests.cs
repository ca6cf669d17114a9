using System.Diagnostics;
using System.Globalization;
using System.Text;
using System.Text.RegularExpressions;
using Amazon.S3;
using Amazon.S3.Model;
using WorkspaceStorage.Core.Signing;
using WorkspaceStorage.Core.Workspaces;
using WorkspaceStorage.Testing.Hypha;
using WorkspaceStorage.Testing.S3;
using WorkspaceStorage.Testing.Support;

namespace WorkspaceStorage.EndToEnd.Tests.WholeSystem;

/// <summary>
/// `make run` itself (scripts/run-local.sh): a real cluster on one machine. It starts the RGW, etcd and the project's
/// Kubernetes API server, applies the CRDs, RBAC and samples, runs the operator and the companion API with their service
/// accounts' kubeconfigs and, where Python Hypha can be had, a real Hypha whose printed snippet runs green when pasted
/// into Hypha's own client; where it cannot, one line says why and the rest still runs. A user then drives it with
/// kubectl through the printed KUBECONFIG, stops it with Ctrl-C, and the next run resumes. Everything on ports and
/// folders of its own, with the binaries the test run built.
/// </summary>
public sealed class MakeRunTests
{
    private const string Running = "Running; Ctrl-C stops";
    private const string StopsEverything = "Running; Ctrl-C stops the API, the operator, the Kubernetes API server, etcd and the RGW.";
    private static readonly TimeSpan Reconcile = TimeSpan.FromSeconds(120);

    private static CancellationToken Ct => TestContext.Current.CancellationToken;

    [Fact]
    public async Task Without_Python_Hypha_make_run_says_why_in_one_line_and_runs_everything_else()
    {
        using var folders = new MakeRunFolders();
        // A Python that cannot import hypha stands for a machine where pip could not reach PyPI.
        await using var run = MakeRun.Start(folders, new Dictionary<string, string> { [HyphaPython.PythonVariable] = "/nonexistent/python", ["WSO_RUN_ONCE"] = "1" });
        var (printed, errors) = await run.WaitForAsync(Running);

        var why = errors.Split('\n').Where(l => l.Contains("Hypha", StringComparison.Ordinal)).ToList();
        Assert.True(why.Count == 1, $"one line about Hypha, got {why.Count}:\n{errors}");
        Assert.Matches("^run-local: no Python Hypha here: .*cannot import hypha and hypha_rpc; running without Hypha$", why[0]);
        Assert.Matches(@"(?m)^  export KUBECONFIG=/\S+/apiserver/kubeconfig$", printed);
        Assert.Contains("checked: READY True for default/github-12345-home default/ws-alpha", printed, StringComparison.Ordinal);
        Assert.Contains("checked: uploaded s3://hypha-workspaces/ws-alpha/make-run-check.txt with this workspace's key", printed, StringComparison.Ordinal);
        // The operator's usage reading after that upload, and the kubectl line that shows it.
        Assert.Matches(@"(?m)^  kubectl get wss ws-alpha -n default -o jsonpath='\{\.status\.usage\.bytes\} bytes", printed);
        Assert.Matches(@"\(checked: [1-9][0-9]* bytes, [1-9][0-9]* objects, read at 20[0-9]{2}-", printed);
        Assert.Contains("checked: uploaded ws-alpha/files/make-run-check.txt and listed it through the API", printed, StringComparison.Ordinal);
        Assert.Contains("checked: a WorkspaceStorage in default for ws-not-yours-make-run was refused, no key: spec.workspace: StorageBackend 'local-ceph' spec.allowedClaims", printed, StringComparison.Ordinal);
        Assert.Contains("kubectl patch wsb local-ceph --type merge -p '{\"spec\":{\"allowClaimsFromAnyNamespace\":true}}'", printed, StringComparison.Ordinal);
        Assert.Contains("checked: the first upload to ws-user-make-run-demo created workspace-storage-on-demand/", printed, StringComparison.Ordinal);
        Assert.Contains(StopsEverything, printed, StringComparison.Ordinal);
        Assert.DoesNotContain("public/s3-storage", printed, StringComparison.Ordinal);
        Assert.Equal(0, await run.WaitForExitAsync());
    }

    [Fact]
    public async Task The_snippet_make_run_prints_runs_green_in_Hyphas_own_client()
    {
        var python = await HyphaPython.RequireAsync();
        using var folders = new MakeRunFolders();
        await using var run = MakeRun.Start(folders, new Dictionary<string, string> { [HyphaPython.PythonVariable] = python });
        var (printed, _) = await run.WaitForAsync(Running);
        TestContext.Current.TestOutputHelper?.WriteLine(printed);
        Assert.Contains("checked: ran it with Hypha's own Python client", printed, StringComparison.Ordinal);
        var parts = printed.Split("----8<----" + Environment.NewLine);
        Assert.True(parts.Length >= 3, "the snippet is printed between scissors lines");

        // What a user does: paste the printed snippet into Hypha's Python client while make run runs.
        var pasted = Path.Combine(folders.Root, "pasted.py");
        await File.WriteAllTextAsync(pasted, parts[1], Ct);
        var snippet = await HyphaPython.RunAsync(python, pasted, null, null, folders.Root, TimeSpan.FromMinutes(2), Ct);
        Assert.True(snippet.ExitCode == 0, $"the pasted snippet failed:\n{snippet}");
        Assert.Contains("hello.txt", snippet.Output, StringComparison.Ordinal);
    }

    [Fact]
    public async Task With_the_printed_KUBECONFIG_kubectl_drives_the_running_system_Ctrl_C_stops_every_process_and_the_next_run_resumes()
    {
        using var folders = new MakeRunFolders();
        var settings = new Dictionary<string, string> { [HyphaPython.PythonVariable] = "/nonexistent/python" };
        string alphaKey;
        var processes = new List<int>();
        await using (var run = MakeRun.Start(folders, settings))
        {
            var (printed, errors) = await run.WaitForAsync(Running);
            var user = new PastingUser(printed);
            var rgw = await folders.RgwAsync();
            using var inventory = new RgwInventory(rgw);

            // The printed `kubectl get wss -A` shows both samples Ready.
            var table = await user.PasteAsync("kubectl get wss -A");
            Assert.Equal("True", ReadyColumn(table, "default", "ws-alpha"));
            Assert.Equal("True", ReadyColumn(table, "default", "github-12345-home"));

            // The printed patch (ReadOnly) is reconciled: once the status has caught up with the new generation, the
            // workspace's own key can still read but no longer write, and the printed describe shows the event.
            const string home = "github-12345-home";
            var homePrefix = "ws-user-github|12345/";
            using var homeClient = rgw.CreateAwsS3Client(await user.SecretKeyAsync("github-12345-s3", "default"));
            await homeClient.PutObjectAsync(new PutObjectRequest { BucketName = "hypha-workspaces", Key = homePrefix + "before.txt", ContentBody = "rw" }, Ct);
            await user.PasteAsync($"kubectl patch wss {home} -n default --type merge -p '{{\"spec\":{{\"access\":\"ReadOnly\"}}}}'");
            await user.WaitForCurrentGenerationAsync(home, "default");
            var denied = await Assert.ThrowsAsync<AmazonS3Exception>(() =>
                homeClient.PutObjectAsync(new PutObjectRequest { BucketName = "hypha-workspaces", Key = homePrefix + "after.txt", ContentBody = "ro" }, Ct));
            Assert.Equal("AccessDenied", denied.ErrorCode);
            using (var read = await homeClient.GetObjectAsync("hypha-workspaces", homePrefix + "before.txt", Ct))
            {
                Assert.Equal(System.Net.HttpStatusCode.OK, read.HttpStatusCode);
            }

            Assert.Contains("(access ReadOnly,", await user.PasteAsync($"kubectl describe wss {home} -n default"), StringComparison.Ordinal);

            // kubectl apply of a workspace with deletionPolicy Delete, then kubectl delete: its identity and data leave RGW.
            var doomed = WorkspaceId.Parse("ws-demo-make-run-delete");
            var manifest = Path.Combine(folders.Root, "doomed.yaml");
            await File.WriteAllTextAsync(manifest, """
                apiVersion: workspacestorage.hypha.amun.ai/v1alpha1
                kind: WorkspaceStorage
                metadata:
                  name: ws-demo-make-run-delete
                  namespace: default
                spec:
                  backendRef:
                    name: local-ceph
                  deletionPolicy: Delete
                """, Ct);
            await user.PasteAsync($"kubectl apply -f {manifest}");
            await user.PasteAsync($"kubectl wait --for=condition=Ready --timeout={Reconcile.TotalSeconds:0}s wss/ws-demo-make-run-delete -n default");
            using (var doomedClient = rgw.CreateAwsS3Client(await user.SecretKeyAsync("ws-demo-make-run-delete-s3", "default")))
            {
                await doomedClient.PutObjectAsync(new PutObjectRequest { BucketName = "hypha-workspaces", Key = "ws-demo-make-run-delete/data.txt", ContentBody = "x" }, Ct);
            }

            Assert.True(await inventory.HasIdentityAsync(doomed, Ct), "the identity is on RGW before the delete");
            // kubectl delete waits until the operator's finalizer has run and the object is gone.
            await user.PasteAsync($"kubectl delete wss ws-demo-make-run-delete -n default --timeout={Reconcile.TotalSeconds:0}s");
            Assert.False(await inventory.HasIdentityAsync(doomed, Ct), "kubectl delete removed the identity on RGW");
            using (var admin = rgw.CreateAwsS3Client(rgw.Admin))
            {
                var remaining = await admin.ListObjectsV2Async(new ListObjectsV2Request { BucketName = "hypha-workspaces", Prefix = "ws-demo-make-run-delete/" }, Ct);
                Assert.Empty(remaining.S3Objects ?? []);
            }

            var gone = await user.KubectlAsync(["get", "secret", "ws-demo-make-run-delete-s3", "-n", "default"]);
            Assert.Contains("NotFound", gone.Error, StringComparison.Ordinal);

            alphaKey = (await user.KubectlAsync(["get", "wss", "ws-alpha", "-n", "default", "-o", "jsonpath={.status.accessKeyId}"])).Output;
            Assert.NotEmpty(alphaKey);

            // Ctrl-C: make run stops every process it started, then exits.
            processes.AddRange(folders.ServerPids());
            processes.AddRange(MakeRun.StartedPids(errors));
            Assert.True(processes.Count == 7, $"etcd, the API server, the RGW's three and the operator and API: {string.Join(", ", processes)}");
            Assert.Equal(130, await run.InterruptAsync());
        }

        var left = processes.Where(MakeRun.IsRunning).ToList();
        Assert.True(left.Count == 0, $"still running after Ctrl-C: {string.Join(", ", left)}");

        // The next run resumes the cluster's data: the same key for ws-alpha (re-created on the fresh RGW, as the checked
        // usage lines show), the on-demand workspace of the first run, no deleted workspace; the samples are applied again.
        await using (var again = MakeRun.Start(folders, settings))
        {
            var (printed, _) = await again.WaitForAsync(Running);
            var user = new PastingUser(printed);
            Assert.Contains("checked: uploaded s3://hypha-workspaces/ws-alpha/make-run-check.txt with this workspace's key", printed, StringComparison.Ordinal);
            Assert.Contains("made on demand by an earlier run, is Ready", printed, StringComparison.Ordinal);
            Assert.Equal(alphaKey, (await user.KubectlAsync(["get", "wss", "ws-alpha", "-n", "default", "-o", "jsonpath={.status.accessKeyId}"])).Output);
            Assert.DoesNotContain("ws-demo-make-run-delete", (await user.PasteAsync("kubectl get wss -A")), StringComparison.Ordinal);
            Assert.Equal("ReadWrite", (await user.KubectlAsync(["get", "wss", "github-12345-home", "-n", "default", "-o", "jsonpath={.spec.access}"])).Output);
            Assert.Equal(130, await again.InterruptAsync());
        }
    }

    [Fact]
    public async Task A_verb_config_rbac_does_not_grant_ends_make_run_at_once_naming_the_refusal()
    {
        using var folders = new MakeRunFolders();
        // config/overlays/make-run with the operator's ClusterRole unable to list Secrets (its Secret informer lists them).
        var overlay = RepositoryRoot.Combine("out", "make-run-tests", Guid.NewGuid().ToString("N")[..12]);
        Directory.CreateDirectory(overlay);
        try
        {
            await File.WriteAllTextAsync(Path.Combine(overlay, "kustomization.yaml"), """
                apiVersion: kustomize.config.k8s.io/v1beta1
                kind: Kustomization
                resources:
                - ../../../config/overlays/make-run
                patches:
                - target: {kind: ClusterRole, name: workspace-storage-operator}
                  patch: |-
                    - op: test
                      path: /rules/6/resources
                      value: [secrets]
                    - op: replace
                      path: /rules/6/verbs
                      value: [get, watch, create, update, patch, delete]
                """, Ct);
            await using var run = MakeRun.Start(folders, new Dictionary<string, string>
            {
                ["WSO_CLUSTER_CONFIG"] = overlay,
                ["WSO_HYPHA"] = "0",
                ["WSO_RUN_ONCE"] = "1",
            });
            Assert.Equal(1, await run.WaitForExitAsync(TimeSpan.FromMinutes(8)));
            var (printed, errors) = run.Captured();
            Assert.DoesNotContain(Running, printed, StringComparison.Ordinal);
            var refusal = errors.Split('\n').Where(l => l.Contains("lacks a verb", StringComparison.Ordinal)).ToList();
            Assert.True(refusal.Count == 1, $"one line naming the refusal:\n{errors}");
            Assert.StartsWith("run-local: the operator's service account lacks a verb in config/rbac: ", refusal[0], StringComparison.Ordinal);
            Assert.Contains("User \"system:serviceaccount:workspace-storage-system:workspace-storage-operator\" cannot list resource \"secrets\"", refusal[0],
                StringComparison.Ordinal);

            // And it stopped what it had started: the operator, the API server, etcd.
            Assert.All(MakeRun.StartedPids(errors), pid => Assert.False(MakeRun.IsRunning(pid), $"pid {pid} still runs"));
            var status = await ChildProcessRunner.RunAsync(RepositoryRoot.Combine("scripts", "kube-apiserver.sh"), ["status"],
                new Dictionary<string, string> { ["WSO_KUBE_DATA_DIR"] = Path.Combine(folders.Root, "run", "kube") }, RepositoryRoot.Path, TimeSpan.FromSeconds(30), Ct);
            Assert.Equal("not running", status.Output.Trim());
        }
        finally
        {
            Directory.Delete(overlay, recursive: true);
        }
    }

    /// <summary>The READY column of <paramref name="ns"/>/<paramref name="name"/> in a `kubectl get wss -A` table.</summary>
    private static string? ReadyColumn(string table, string ns, string name)
    {
        var lines = table.Split('\n', StringSplitOptions.RemoveEmptyEntries);
        var column = Array.IndexOf(lines[0].Split(' ', StringSplitOptions.RemoveEmptyEntries), "READY");
        return lines.Skip(1).Select(l => l.Split(' ', StringSplitOptions.RemoveEmptyEntries))
            .FirstOrDefault(cells => cells[0] == ns && cells[1] == name) is { } row && column >= 0 ? row[column] : null;
    }

    /// <summary>
    /// A user at a shell: takes the KUBECONFIG make run printed, and pastes kubectl lines (only lines make run printed,
    /// where it printed one) into bash with the project's kubectl first on PATH.
    /// </summary>
    private sealed class PastingUser
    {
        private readonly string printed;
        private readonly Dictionary<string, string> environment;
        private readonly string kubectl;

        public PastingUser(string printed)
        {
            this.printed = printed;
            var kubeconfig = Regex.Match(printed, @"(?m)^  export KUBECONFIG=(\S+)$");
            Assert.True(kubeconfig.Success, $"make run prints an export KUBECONFIG line:\n{printed}");
            kubectl = Kubectl.Find() ?? throw new InvalidOperationException("no kubectl, though make run checked its lines with one");
            environment = new Dictionary<string, string>
            {
                ["KUBECONFIG"] = kubeconfig.Groups[1].Value,
                ["PATH"] = Path.GetDirectoryName(kubectl) + Path.PathSeparator + Environment.GetEnvironmentVariable("PATH"),
            };
        }

        /// <summary>Runs <paramref name="line"/> in bash; when it starts like a line make run printed, it must be that line.</summary>
        public async Task<string> PasteAsync(string line)
        {
            var verb = string.Join(' ', line.Split(' ').Take(3));
            var shown = printed.Split('\n').Where(l => l.StartsWith("  " + verb, StringComparison.Ordinal)).ToList();
            Assert.True(shown.Count == 0 || shown.Contains("  " + line), $"make run printed '{string.Join(" | ", shown)}', not '{line}'");
            var outcome = await ChildProcessRunner.RunAsync("bash", ["-c", line], environment, RepositoryRoot.Path, TimeSpan.FromMinutes(3), Ct);
            Assert.True(outcome.ExitCode == 0, $"'{line}' failed ({outcome.ExitCode}): {outcome.Error}");
            return outcome.Output;
        }

        public Task<ChildProcessOutcome> KubectlAsync(IEnumerable<string> arguments) =>
            ChildProcessRunner.RunAsync(kubectl, arguments, environment, RepositoryRoot.Path, TimeSpan.FromSeconds(60), Ct);

        /// <summary>The workspace's own key from its Secret, as a pod would get it (never printed).</summary>
        public async Task<AwsCredentials> SecretKeyAsync(string secret, string ns)
        {
            var data = await KubectlAsync(["get", "secret", secret, "-n", ns, "-o", "jsonpath={.data.AWS_ACCESS_KEY_ID} {.data.AWS_SECRET_ACCESS_KEY}"]);
            Assert.True(data.ExitCode == 0, $"kubectl get secret {secret}: {data.Error}");
            var keys = data.Output.Split(' ').Select(v => Encoding.UTF8.GetString(Convert.FromBase64String(v))).ToArray();
            return new AwsCredentials(keys[0], keys[1]);
        }

        /// <summary>kubectl wait until the status is of the object's current generation, and Ready.</summary>
        public async Task WaitForCurrentGenerationAsync(string name, string ns)
        {
            var generation = (await KubectlAsync(["get", "wss", name, "-n", ns, "-o", "jsonpath={.metadata.generation}"])).Output;
            Assert.Matches("^[0-9]+$", generation);
            await PasteAsync($"kubectl wait --for=jsonpath={{.status.observedGeneration}}={generation} --timeout={Reconcile.TotalSeconds:0}s wss/{name} -n {ns}");
            await PasteAsync($"kubectl wait --for=condition=Ready --timeout={Reconcile.TotalSeconds:0}s wss/{name} -n {ns}");
        }
    }

    /// <summary>make run's folders (its output, the cluster's data, the RGW) and ports, kept across runs; deleted at the end.</summary>
    private sealed class MakeRunFolders : IDisposable
    {
        public string Root { get; } = Directory.CreateTempSubdirectory("wso-make-run-").FullName;

        public int S3Port { get; } = FreeTcpPort.Next(4301);

        public IReadOnlyDictionary<string, string> Environment => new Dictionary<string, string>
        {
            ["WSO_SKIP_BUILD"] = "1",
            ["WSO_RUN_DIR"] = Path.Combine(Root, "run"),
            ["WSO_S3_DIR"] = Path.Combine(Root, "rgw"),
            ["WSO_S3_PORT"] = S3Port.ToString(CultureInfo.InvariantCulture),
            ["WSO_API_PORT"] = apiPort,
            ["WSO_HYPHA_PORT"] = hyphaPort,
            ["WSO_HEALTH_ADDR"] = healthAddress,
        };

        private readonly string apiPort = FreeTcpPort.Next().ToString(CultureInfo.InvariantCulture);
        private readonly string hyphaPort = FreeTcpPort.Next().ToString(CultureInfo.InvariantCulture);
        private readonly string healthAddress = $"127.0.0.1:{FreeTcpPort.Next()}";

        /// <summary>make run's RGW, with the admin key scripts/s3-test-server.sh env gives.</summary>
        public async Task<RgwTestServer> RgwAsync()
        {
            var env = await ChildProcessRunner.RunAsync(RepositoryRoot.Combine("scripts", "s3-test-server.sh"), ["env"], Environment, RepositoryRoot.Path,
                TimeSpan.FromSeconds(30), Ct);
            var values = env.Output.Split('\n', StringSplitOptions.RemoveEmptyEntries).Select(l => l.Replace("export ", "", StringComparison.Ordinal).Split('=', 2))
                .ToDictionary(kv => kv[0], kv => kv[1], StringComparer.Ordinal);
            return new RgwTestServer(new Uri(values["WSO_TEST_S3_ENDPOINT"]), values["WSO_TEST_S3_REGION"],
                new AwsCredentials(values["WSO_TEST_S3_ADMIN_ACCESS_KEY"], values["WSO_TEST_S3_ADMIN_SECRET_KEY"]));
        }

        /// <summary>etcd's and the API server's PIDs (scripts/kube-apiserver.sh) and the RGW's three (scripts/s3-test-server.sh).</summary>
        public IEnumerable<int> ServerPids() =>
            new[] { Path.Combine(Root, "run", "kube", "etcd.pid"), Path.Combine(Root, "run", "kube", "apiserver.pid") }
                .Concat(new[] { "mon", "osd", "rgw" }.Select(n => Path.Combine(Root, "rgw", n + ".pid")))
                .Select(f => int.Parse(File.ReadAllText(f).Trim(), CultureInfo.InvariantCulture));

        public void Dispose()
        {
            try
            {
                Directory.Delete(Root, recursive: true);
            }
            catch (IOException)
            {
                // best effort: a temporary folder
            }
        }
    }

    /// <summary>scripts/run-local.sh on <see cref="MakeRunFolders"/>; disposing is Ctrl-C (SIGINT) when it still runs.</summary>
    private sealed class MakeRun : IAsyncDisposable
    {
        private readonly Process process;
        private readonly StringBuilder output = new();
        private readonly StringBuilder errors = new();

        private MakeRun(Process process)
        {
            this.process = process;
        }

        public static MakeRun Start(MakeRunFolders folders, IReadOnlyDictionary<string, string> settings)
        {
            var start = new ProcessStartInfo("bash") { RedirectStandardOutput = true, RedirectStandardError = true, WorkingDirectory = RepositoryRoot.Path };
            start.ArgumentList.Add(RepositoryRoot.Combine("scripts", "run-local.sh"));
            foreach (var (key, value) in folders.Environment.Concat(settings))
            {
                start.Environment[key] = value;
            }

            var run = new MakeRun(Process.Start(start)!);
            run.process.OutputDataReceived += (_, e) => { lock (run.output) { run.output.AppendLine(e.Data); } };
            run.process.ErrorDataReceived += (_, e) => { lock (run.errors) { run.errors.AppendLine(e.Data); } };
            run.process.BeginOutputReadLine();
            run.process.BeginErrorReadLine();
            return run;
        }

        /// <summary>The operator's and the API's PIDs, from make run's "… started (pid N)" lines.</summary>
        public static IEnumerable<int> StartedPids(string errors) =>
            Regex.Matches(errors, @"^run-local: (?:operator|API) started \(pid ([0-9]+)\)", RegexOptions.Multiline)
                .Select(m => int.Parse(m.Groups[1].Value, CultureInfo.InvariantCulture));

        /// <summary>Whether <paramref name="pid"/> runs (a zombie does not: PID 1 here reaps slowly).</summary>
        public static bool IsRunning(int pid)
        {
            try
            {
                var stat = File.ReadAllText($"/proc/{pid}/stat");
                var state = stat[(stat.LastIndexOf(')') + 2)..][0];
                return state is not ('Z' or 'X');
            }
            catch (IOException)
            {
                return false;
            }
        }

        /// <summary>Waits until make run has printed <paramref name="text"/>; fails if it exits first or takes over 8 minutes.</summary>
        public async Task<(string Output, string Errors)> WaitForAsync(string text)
        {
            await Eventually.WaitAsync($"make run to print '{text}'", TimeSpan.FromMinutes(8), _ =>
            {
                var printed = Printed().Contains(text, StringComparison.Ordinal);
                Assert.False(process.HasExited && !printed,
                    $"make run exited {(process.HasExited ? process.ExitCode : 0)} before printing '{text}':\n{Printed()}\n--- stderr\n{Errors()}");
                return Task.FromResult((printed, $"\n{Printed()}\n--- stderr\n{Errors()}"));
            }, Ct);
            return (Printed(), Errors());
        }

        /// <summary>What make run printed so far, and its error output.</summary>
        public (string Output, string Errors) Captured() => (Printed(), Errors());

        public async Task<int> WaitForExitAsync(TimeSpan? timeout = null)
        {
            using var limit = new CancellationTokenSource(timeout ?? TimeSpan.FromSeconds(90));
            await process.WaitForExitAsync(limit.Token);
            return process.ExitCode;
        }

        /// <summary>Ctrl-C: SIGINT to make run, then its exit code once it has stopped what it started.</summary>
        public async Task<int> InterruptAsync()
        {
            if (!process.HasExited)
            {
                using var interrupt = Process.Start("kill", ["-INT", process.Id.ToString(CultureInfo.InvariantCulture)]);
                await interrupt.WaitForExitAsync(CancellationToken.None);
            }

            return await WaitForExitAsync();
        }

        public async ValueTask DisposeAsync()
        {
            await InterruptAsync();
            process.Dispose();
        }

        private string Printed()
        {
            lock (output)
            {
                return output.ToString();
            }
        }

        private string Errors()
        {
            lock (errors)
            {
                return errors.ToString();
            }
        }
    }
}
