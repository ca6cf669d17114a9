using System.Diagnostics;
using System.Net;
using System.Net.Sockets;
using WorkspaceStorage.Testing.Hypha;

namespace WorkspaceStorage.EndToEnd.Tests.WholeSystem;

/// <summary>
/// `make run` itself (scripts/run-local.sh, stopping after its checks): it starts the RGW, the operator, the companion and
/// a real Hypha, and the Python snippet it prints runs green when pasted into Hypha's own client. Everything on ports
/// and folders of its own, with the binaries the test run already built.
/// </summary>
public sealed class MakeRunTests
{
    private static CancellationToken Ct => TestContext.Current.CancellationToken;

    [Fact]
    public async Task The_snippet_make_run_prints_runs_green_in_Hyphas_own_client()
    {
        var kit = HyphaTestServer.FindKit();
        if (kit is null || Environment.UserName != "root")
        {
            var why = kit is null ? "the Hypha kit was not found" : "the Hypha kit needs root";
            if (Environment.GetEnvironmentVariable(HyphaTestServer.RequiredVariable) == "1")
            {
                Assert.Fail($"{why}; make test requires it");
            }

            Assert.Skip($"{why}; {HyphaTestServer.StartHint}");
        }

        var root = Directory.CreateTempSubdirectory("wso-make-run-").FullName;
        var start = new ProcessStartInfo("bash") { RedirectStandardOutput = true, RedirectStandardError = true, WorkingDirectory = RepositoryRoot.Path };
        start.ArgumentList.Add(RepositoryRoot.Combine("scripts", "run-local.sh"));
        foreach (var (key, value) in new Dictionary<string, string>
                 {
                     ["WSO_SKIP_BUILD"] = "1",
                     ["WSO_RUN_DIR"] = Path.Combine(root, "run"),
                     ["WSO_S3_DIR"] = Path.Combine(root, "rgw"),
                     ["WSO_S3_PORT"] = FreePortAbove(4300).ToString(System.Globalization.CultureInfo.InvariantCulture),
                     ["WSO_API_PORT"] = FreePortAbove(0).ToString(System.Globalization.CultureInfo.InvariantCulture),
                     ["WSO_HYPHA_PORT"] = FreePortAbove(0).ToString(System.Globalization.CultureInfo.InvariantCulture),
                     ["WSO_HEALTH_ADDR"] = $"127.0.0.1:{FreePortAbove(0)}",
                     ["WSO_HYPHA_KIT"] = kit,
                 })
        {
            start.Environment[key] = value;
        }

        using var makeRun = Process.Start(start)!;
        var output = new System.Text.StringBuilder();
        var errors = new System.Text.StringBuilder();
        makeRun.OutputDataReceived += (_, e) => { lock (output) { output.AppendLine(e.Data); } };
        makeRun.ErrorDataReceived += (_, e) => { lock (errors) { errors.AppendLine(e.Data); } };
        makeRun.BeginOutputReadLine();
        makeRun.BeginErrorReadLine();
        string Printed() { lock (output) { return output.ToString(); } }
        try
        {
            var deadline = DateTime.UtcNow + TimeSpan.FromMinutes(8);
            while (!Printed().Contains("Running; Ctrl-C stops", StringComparison.Ordinal))
            {
                Assert.False(makeRun.HasExited, $"make run exited {(makeRun.HasExited ? makeRun.ExitCode : 0)}:\n{Printed()}\n--- stderr\n{errors}");
                Assert.True(DateTime.UtcNow < deadline, $"make run did not come up in 8 minutes:\n{Printed()}\n--- stderr\n{errors}");
                await Task.Delay(500, Ct);
            }

            var printed = Printed();
            TestContext.Current.TestOutputHelper?.WriteLine(printed);
            Assert.Contains("checked: ran it with Hypha's own Python client", printed, StringComparison.Ordinal);
            var parts = printed.Split("----8<----" + Environment.NewLine);
            Assert.True(parts.Length >= 3, "the snippet is printed between scissors lines");

            // What a user does: paste the printed snippet into Hypha's Python client while make run runs.
            var pasted = Path.Combine(root, "pasted.py");
            await File.WriteAllTextAsync(pasted, parts[1], Ct);
            var run = await HyphaTestServer.RunKitPythonAsync(kit, pasted, Ct);
            Assert.True(run.ExitCode == 0, $"the pasted snippet failed:\n{run}");
            Assert.Contains("hello.txt", run.Output, StringComparison.Ordinal);
        }
        finally
        {
            // Ctrl-C: make run stops the API, Hypha, the operator and its RGW.
            using (var interrupt = Process.Start("kill", ["-TERM", makeRun.Id.ToString(System.Globalization.CultureInfo.InvariantCulture)]))
            {
                await interrupt.WaitForExitAsync(CancellationToken.None);
            }

            using var stopped = new CancellationTokenSource(TimeSpan.FromSeconds(90));
            await makeRun.WaitForExitAsync(stopped.Token);
            Directory.Delete(root, recursive: true);
        }
    }

    private static int FreePortAbove(int minimum)
    {
        while (true)
        {
            using var listener = new TcpListener(IPAddress.Loopback, 0);
            listener.Start();
            var port = ((IPEndPoint)listener.LocalEndpoint).Port;
            if (port > minimum)
            {
                return port;
            }
        }
    }
}
