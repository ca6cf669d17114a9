using System.Diagnostics;

namespace WorkspaceStorage.Testing.Repository;

/// <summary>
/// Runs <c>kubectl kustomize</c> with the kubectl the project installs (Debian sid's, beside the real API server:
/// scripts/install-kube-apiserver.sh), else <c>WSO_KUBECTL</c>, else one on PATH. Without any, tests skip, and under
/// <c>make test</c> (<see cref="RequiredVariable"/>=1) they fail.
/// </summary>
public static class Kubectl
{
    public const string RequiredVariable = "WSO_TEST_KUBECTL_REQUIRED";

    /// <summary>From an overlay written by <see cref="KustomizeOverlay"/>, the repository's config/ folder.</summary>
    public const string ConfigFromOverlay = "../../../config";

    public static string? Find()
    {
        if (Environment.GetEnvironmentVariable("WSO_KUBECTL") is { Length: > 0 } configured && File.Exists(configured))
        {
            return configured;
        }

        var installed = RepositoryRoot.Combine(".local", "kube-apiserver", "tools.env");
        if (File.Exists(installed)
            && File.ReadLines(installed).FirstOrDefault(l => l.StartsWith("KUBECTL=", StringComparison.Ordinal)) is { } line
            && File.Exists(line["KUBECTL=".Length..]))
        {
            return line["KUBECTL=".Length..];
        }

        foreach (var directory in (Environment.GetEnvironmentVariable("PATH") ?? string.Empty).Split(Path.PathSeparator))
        {
            var candidate = Path.Combine(directory, "kubectl");
            if (directory.Length > 0 && File.Exists(candidate))
            {
                return candidate;
            }
        }

        return null;
    }

    /// <summary>Renders a kustomization of the repository (<paramref name="directory"/> relative to its root).</summary>
    public static string Kustomize(string directory)
    {
        var kubectl = Find();
        if (kubectl is null)
        {
            const string why = "kubectl is not installed; `kubectl kustomize` cannot be checked (scripts/install-kube-apiserver.sh installs it)";
            if (Environment.GetEnvironmentVariable(RequiredVariable) == "1")
            {
                Assert.Fail($"{why}; make test requires it ({RequiredVariable}=1)");
            }

            Assert.Skip(why);
        }

        var start = new ProcessStartInfo(kubectl, ["kustomize", RepositoryRoot.Combine(directory)])
        {
            RedirectStandardOutput = true,
            RedirectStandardError = true,
        };
        using var process = Process.Start(start)!;
        var output = process.StandardOutput.ReadToEndAsync();
        var error = process.StandardError.ReadToEndAsync();
        if (!process.WaitForExit(TimeSpan.FromSeconds(60)))
        {
            process.Kill(entireProcessTree: true);
            Assert.Fail($"kubectl kustomize {directory} did not finish in 60 s");
        }

        Assert.True(process.ExitCode == 0, $"kubectl kustomize {directory} failed: {error.Result}");
        return output.Result;
    }

    /// <summary>
    /// Renders an overlay made of <paramref name="files"/> (name → text), as an admin's own overlay would be. It is
    /// written under out/kustomize-tests/ because kustomize takes only relative paths to other kustomizations: refer
    /// to the repository's config/ as <see cref="ConfigFromOverlay"/>.
    /// </summary>
    public static string KustomizeOverlay(IReadOnlyDictionary<string, string> files)
    {
        ArgumentNullException.ThrowIfNull(files);
        var relative = Path.Combine("out", "kustomize-tests", Guid.NewGuid().ToString("N"));
        var directory = RepositoryRoot.Combine(relative);
        Directory.CreateDirectory(directory);
        try
        {
            foreach (var (name, text) in files)
            {
                File.WriteAllText(Path.Combine(directory, name), text);
            }

            return Kustomize(relative);
        }
        finally
        {
            Directory.Delete(directory, recursive: true);
        }
    }
}
