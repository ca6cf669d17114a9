using System.Diagnostics;
using System.Net;
using System.Net.Sockets;

namespace WorkspaceStorage.EndToEnd.Tests.Infrastructure;

/// <summary>
/// The real Hypha server of ../shared/hypha-server (the kit: Hypha 0.21.135 and hypha_rpc in a Debian chroot), for
/// the doc's Hypha commands. Found at <c>WSO_HYPHA_KIT</c> (its folder) or as <c>shared/hypha-server</c> beside the
/// checkout or one of its parents. Absent, or unusable here (it needs root), tests skip with the reason; with
/// <c>WSO_TEST_HYPHA_REQUIRED=1</c> (make test) they fail instead.
/// </summary>
internal static class HyphaKit
{
    public const string KitVariable = "WSO_HYPHA_KIT";

    public const string RequiredVariable = "WSO_TEST_HYPHA_REQUIRED";

    private static readonly TimeSpan CommandTimeout = TimeSpan.FromMinutes(10); // the first `up` builds the chroot

    /// <summary>The kit's folder, or null.</summary>
    public static string? Find()
    {
        var configured = Environment.GetEnvironmentVariable(KitVariable);
        if (!string.IsNullOrEmpty(configured))
        {
            return File.Exists(Path.Combine(configured, "hypha-server.sh")) ? Path.GetFullPath(configured) : null;
        }

        for (var directory = Directory.GetParent(RepositoryRoot.Path); directory is not null; directory = directory.Parent)
        {
            var kit = Path.Combine(directory.FullName, "shared", "hypha-server");
            if (File.Exists(Path.Combine(kit, "hypha-server.sh")))
            {
                return kit;
            }
        }

        return null;
    }

    /// <summary>The kit's folder, or a skip (a failure under make test) saying how to get it.</summary>
    public static string Require()
    {
        var kit = Find();
        if (kit is null)
        {
            Unavailable($"no Hypha kit: set {KitVariable} to the hypha-server folder, or put shared/hypha-server beside the checkout");
        }

        if (!OperatingSystem.IsLinux() || Environment.UserName != "root")
        {
            Unavailable("the Hypha kit runs Hypha in a chroot and needs root");
        }

        return kit!;
    }

    /// <summary>A started Hypha server on a free port; stopped and its state removed on dispose.</summary>
    public static Server Start(string kit)
    {
        var port = FreePort();
        var state = Path.Combine(Path.GetTempPath(), $"wso-deploy-doc-hypha-{Guid.NewGuid():N}");
        var server = new Server(kit, port, state);
        try
        {
            Run(kit, ["up", "--port", port.ToString(System.Globalization.CultureInfo.InvariantCulture), "--state", state], null, null);
            return server;
        }
        catch
        {
            server.Dispose();
            throw;
        }
    }

    /// <summary>Runs the kit; the output (which names no token) goes into the failure message.</summary>
    private static string Run(string kit, IEnumerable<string> arguments, string? workingDirectory, IReadOnlyDictionary<string, string>? environment)
    {
        var start = new ProcessStartInfo(Path.Combine(kit, "hypha-server.sh"), arguments)
        {
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            WorkingDirectory = workingDirectory ?? Environment.CurrentDirectory,
        };
        foreach (var (name, value) in environment ?? new Dictionary<string, string>())
        {
            start.Environment[name] = value;
        }

        using var process = Process.Start(start)!;
        var output = process.StandardOutput.ReadToEndAsync();
        var error = process.StandardError.ReadToEndAsync();
        if (!process.WaitForExit(CommandTimeout))
        {
            process.Kill(entireProcessTree: true);
            Assert.Fail($"hypha-server.sh {string.Join(' ', arguments)} did not finish in {CommandTimeout}");
        }

        Assert.True(process.ExitCode == 0, $"hypha-server.sh {string.Join(' ', arguments)} exited {process.ExitCode}:\n{output.Result}\n{error.Result}");
        return output.Result;
    }

    private static int FreePort()
    {
        using var listener = new TcpListener(IPAddress.Loopback, 0);
        listener.Start();
        return ((IPEndPoint)listener.LocalEndpoint).Port;
    }

    private static void Unavailable(string why)
    {
        if (Environment.GetEnvironmentVariable(RequiredVariable) == "1")
        {
            Assert.Fail($"{why} ({RequiredVariable}=1)");
        }

        Assert.Skip(why);
    }

    public sealed class Server(string kit, int port, string state) : IDisposable
    {
        public string Url => $"http://127.0.0.1:{port}";

        /// <summary>The file holding the root token (mode 0600, in the server's state folder).</summary>
        public string RootTokenFile => Path.Combine(state, "root-token");

        /// <summary>Runs a Python script with the kit's Python (hypha_rpc inside) in <paramref name="workingDirectory"/>.</summary>
        public string Python(string script, IEnumerable<string> arguments, string workingDirectory, IReadOnlyDictionary<string, string> environment) =>
            Run(kit, ["py", script, .. arguments], workingDirectory, environment);

        public void Dispose()
        {
            try
            {
                Run(kit, ["down", "--port", port.ToString(System.Globalization.CultureInfo.InvariantCulture), "--state", state], null, null);
            }
            finally
            {
                if (Directory.Exists(state))
                {
                    Directory.Delete(state, recursive: true);
                }
            }
        }
    }
}
