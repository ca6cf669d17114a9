using System.Diagnostics;
using System.Net;
using System.Net.Sockets;
using System.Text;
using WorkspaceStorage.Testing.Hypha;
using WorkspaceStorage.Testing.Support;

namespace WorkspaceStorage.EndToEnd.Tests.WholeSystem;

/// <summary>
/// `make run` itself (scripts/run-local.sh): it starts the RGW, the operator, the companion and, where Python Hypha can
/// be had, a real Hypha whose printed snippet runs green when pasted into Hypha's own client; where it cannot, one line
/// says why and the rest still runs. Everything on ports and folders of its own, with the binaries the test run built.
/// </summary>
public sealed class MakeRunTests
{
    private const string Running = "Running; Ctrl-C stops";

    private static CancellationToken Ct => TestContext.Current.CancellationToken;

    [Fact]
    public async Task Without_Python_Hypha_make_run_says_why_in_one_line_and_runs_everything_else()
    {
        // A Python that cannot import hypha stands for a machine where pip could not reach PyPI.
        await using var run = MakeRun.Start(new Dictionary<string, string> { [HyphaPython.PythonVariable] = "/nonexistent/python", ["WSO_RUN_ONCE"] = "1" });
        var (printed, errors) = await run.WaitForAsync(Running);

        var why = errors.Split('\n').Where(l => l.Contains("Hypha", StringComparison.Ordinal)).ToList();
        Assert.True(why.Count == 1, $"one line about Hypha, got {why.Count}:\n{errors}");
        Assert.Matches("^run-local: no Python Hypha here: .*cannot import hypha and hypha_rpc; running without Hypha$", why[0]);
        Assert.Contains("checked: uploaded", printed, StringComparison.Ordinal);
        Assert.Contains($"{Running} the API, the operator", printed, StringComparison.Ordinal);
        Assert.DoesNotContain("public/s3-storage", printed, StringComparison.Ordinal);
        Assert.Equal(0, await run.WaitForExitAsync());
    }

    [Fact]
    public async Task The_snippet_make_run_prints_runs_green_in_Hyphas_own_client()
    {
        var python = await HyphaPython.RequireAsync();
        await using var run = MakeRun.Start(new Dictionary<string, string> { [HyphaPython.PythonVariable] = python });
        var (printed, _) = await run.WaitForAsync(Running);
        TestContext.Current.TestOutputHelper?.WriteLine(printed);
        Assert.Contains("checked: ran it with Hypha's own Python client", printed, StringComparison.Ordinal);
        var parts = printed.Split("----8<----" + Environment.NewLine);
        Assert.True(parts.Length >= 3, "the snippet is printed between scissors lines");

        // What a user does: paste the printed snippet into Hypha's Python client while make run runs.
        var pasted = Path.Combine(run.Root, "pasted.py");
        await File.WriteAllTextAsync(pasted, parts[1], Ct);
        var snippet = await HyphaPython.RunAsync(python, pasted, null, null, run.Root, TimeSpan.FromMinutes(2), Ct);
        Assert.True(snippet.ExitCode == 0, $"the pasted snippet failed:\n{snippet}");
        Assert.Contains("hello.txt", snippet.Output, StringComparison.Ordinal);
    }

    /// <summary>scripts/run-local.sh on folders and ports of its own; disposing is Ctrl-C (SIGTERM), then the folders go.</summary>
    private sealed class MakeRun : IAsyncDisposable
    {
        private readonly Process process;
        private readonly StringBuilder output = new();
        private readonly StringBuilder errors = new();

        private MakeRun(Process process, string root)
        {
            this.process = process;
            Root = root;
        }

        public string Root { get; }

        public static MakeRun Start(IReadOnlyDictionary<string, string> settings)
        {
            var root = Directory.CreateTempSubdirectory("wso-make-run-").FullName;
            var start = new ProcessStartInfo("bash") { RedirectStandardOutput = true, RedirectStandardError = true, WorkingDirectory = RepositoryRoot.Path };
            start.ArgumentList.Add(RepositoryRoot.Combine("scripts", "run-local.sh"));
            var environment = new Dictionary<string, string>
            {
                ["WSO_SKIP_BUILD"] = "1",
                ["WSO_RUN_DIR"] = Path.Combine(root, "run"),
                ["WSO_S3_DIR"] = Path.Combine(root, "rgw"),
                ["WSO_S3_PORT"] = FreeTcpPort.Next(4301).ToString(System.Globalization.CultureInfo.InvariantCulture),
                ["WSO_API_PORT"] = FreeTcpPort.Next().ToString(System.Globalization.CultureInfo.InvariantCulture),
                ["WSO_HYPHA_PORT"] = FreeTcpPort.Next().ToString(System.Globalization.CultureInfo.InvariantCulture),
                ["WSO_HEALTH_ADDR"] = $"127.0.0.1:{FreeTcpPort.Next()}",
            };
            foreach (var (key, value) in environment.Concat(settings))
            {
                start.Environment[key] = value;
            }

            var run = new MakeRun(Process.Start(start)!, root);
            run.process.OutputDataReceived += (_, e) => { lock (run.output) { run.output.AppendLine(e.Data); } };
            run.process.ErrorDataReceived += (_, e) => { lock (run.errors) { run.errors.AppendLine(e.Data); } };
            run.process.BeginOutputReadLine();
            run.process.BeginErrorReadLine();
            return run;
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

        public async Task<int> WaitForExitAsync()
        {
            using var limit = new CancellationTokenSource(TimeSpan.FromSeconds(90));
            await process.WaitForExitAsync(limit.Token);
            return process.ExitCode;
        }

        public async ValueTask DisposeAsync()
        {
            if (!process.HasExited)
            {
                // Ctrl-C: make run stops the API, Hypha, the operator and its RGW.
                using var interrupt = Process.Start("kill", ["-TERM", process.Id.ToString(System.Globalization.CultureInfo.InvariantCulture)]);
                await interrupt.WaitForExitAsync(CancellationToken.None);
            }

            await WaitForExitAsync();
            process.Dispose();
            Directory.Delete(Root, recursive: true);
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
