using WorkspaceStorage.Testing.Repository;
using WorkspaceStorage.Testing.Support;

namespace WorkspaceStorage.Testing.Hypha;

/// <summary>
/// The Python in which real Hypha runs, as <c>scripts/hypha-python.sh path</c> finds it: <c>WSO_HYPHA_PYTHON</c> (a
/// user's own environment where <c>import hypha, hypha_rpc</c> works), else the project's <c>.local/hypha/venv</c> that
/// <c>make test</c> pip-installs from PyPI. Where neither exists (these machines do not reach PyPI) the tier skips with
/// the script's one-line reason; <c>WSO_TEST_PYTHON_HYPHA_REQUIRED=1</c> turns the skip into a failure, for CI machines
/// that reach PyPI. One rule for where Python Hypha is: the script, which <c>make run</c> asks too.
/// </summary>
public static class HyphaPython
{
    public const string PythonVariable = "WSO_HYPHA_PYTHON";

    public const string RequiredVariable = "WSO_TEST_PYTHON_HYPHA_REQUIRED";

    private static readonly Lazy<Task<Located>> Location = new(FindAsync);

    /// <summary>The interpreter, or null with the reason there is none.</summary>
    public static Task<Located> LocateAsync() => Location.Value;

    /// <summary>The interpreter; where there is none, a skip with the reason (a failure under <see cref="RequiredVariable"/>=1).</summary>
    public static async Task<string> RequireAsync()
    {
        var located = await LocateAsync();
        if (located.Python is { } python)
        {
            return python;
        }

        Unavailable(located.Reason!);
        return null!;
    }

    /// <summary>Skips, or fails under <see cref="RequiredVariable"/>=1, saying why Python Hypha is absent.</summary>
    public static void Unavailable(string why)
    {
        if (Environment.GetEnvironmentVariable(RequiredVariable) == "1")
        {
            Assert.Fail($"no Python Hypha: {why} ({RequiredVariable}=1 requires it)");
        }

        Assert.Skip($"no Python Hypha: {why}");
    }

    /// <summary>Runs a script with that Python; secrets go in <paramref name="environment"/>, never in arguments.</summary>
    public static async Task<PythonRun> RunAsync(string python, string script, IEnumerable<string>? args, IReadOnlyDictionary<string, string>? environment,
        string? workingDirectory, TimeSpan timeout, CancellationToken cancellationToken)
    {
        var result = await ChildProcessRunner.RunAsync(python, [script, .. args ?? []], environment,
            workingDirectory ?? Path.GetDirectoryName(Path.GetFullPath(script))!, timeout, cancellationToken);
        return new PythonRun(result.ExitCode, result.Output, result.Error, result.Duration);
    }

    /// <summary>
    /// The source of one of Hypha's modules (<c>hypha.server</c>, <c>hypha.core.auth</c>), as that Python imports it,
    /// for checks against Hypha's own code. Read through the interpreter: its files may not be at a path this process sees.
    /// </summary>
    public static async Task<string> ModuleSourceAsync(string python, string module, CancellationToken cancellationToken)
    {
        var run = await ChildProcessRunner.RunAsync(python,
            ["-c", "import importlib.util, sys; sys.stdout.write(open(importlib.util.find_spec(sys.argv[1]).origin, encoding='utf-8').read())", module],
            null, Path.GetTempPath(), TimeSpan.FromMinutes(1), cancellationToken);
        Assert.True(run.ExitCode == 0, $"{python} cannot read the source of {module}: {run.Error}");
        return run.Output;
    }

    private static async Task<Located> FindAsync()
    {
        var script = RepositoryRoot.Combine("scripts", "hypha-python.sh");
        var run = await ChildProcessRunner.RunAsync("bash", [script, "path"], null, RepositoryRoot.Path, TimeSpan.FromMinutes(1), CancellationToken.None);
        return run.ExitCode == 0
            ? new Located(run.Output.Trim(), null)
            : new Located(null, string.IsNullOrWhiteSpace(run.Error) ? $"scripts/hypha-python.sh path exited {run.ExitCode}" : run.Error.Trim());
    }

    /// <summary>Where Python Hypha is, or why it is not.</summary>
    public sealed record Located(string? Python, string? Reason);
}

/// <summary>The outcome of a Python script run with Python Hypha's interpreter.</summary>
public sealed record PythonRun(int ExitCode, string Output, string Error, TimeSpan Duration)
{
    public override string ToString() => $"exit {ExitCode} after {Duration.TotalSeconds:0.0} s\n--- stdout\n{Output}\n--- stderr\n{Error}";
}
