using System.Text.Json.Nodes;

namespace WorkspaceStorage.Storage.Tests.Minio.Clients;

/// <summary>One mc run: its exit code, its JSON-lines output parsed, and what it said on stderr.</summary>
internal sealed record McResult(string Command, int ExitCode, IReadOnlyList<JsonObject> Messages, string Stdout, string Stderr)
{
    public bool Succeeded => ExitCode == 0 && Messages.All(m => m["status"]?.GetValue<string>() != "error");

    /// <summary>The one message of a single-message command.</summary>
    public JsonObject Message => Assert.Single(Messages);

    public override string ToString() => $"mc {Command} → exit {ExitCode}: {Stdout.Trim()} {Stderr.Trim()}";
}

/// <summary>
/// The real mc (Debian trixie's minio-client) pointed at one server as alias "t" through MC_HOST_t, with a private
/// config directory (nothing of the developer's ~/.mc is read or written) and JSON-lines output.
/// </summary>
internal sealed class McCli : IDisposable
{
    public const string Alias = "t";

    private readonly MinioClientTools tools;
    private readonly string configDir = Path.Combine(Path.GetTempPath(), "wso-mc-" + Guid.NewGuid().ToString("N")[..12]);
    private readonly string hostUrl;

    public McCli(MinioClientTools tools, Uri endpoint, string accessKey, string secretKey)
    {
        this.tools = tools;
        Directory.CreateDirectory(configDir);
        // Not escaped: mc cuts MC_HOST_* apart with a regular expression (scheme://key:secret@host) and takes the
        // secret verbatim, '/', '+' and '=' included.
        hostUrl = $"{endpoint.Scheme}://{accessKey}:{secretKey}@{endpoint.Authority}";
    }

    /// <summary>A file in mc's private directory (policy documents handed to it by path).</summary>
    public string WriteFile(string name, string content)
    {
        var path = Path.Combine(configDir, name);
        File.WriteAllText(path, content);
        return path;
    }

    /// <summary>Runs <c>mc --json admin …</c>; the arguments follow "admin", the alias written as <see cref="Alias"/>.</summary>
    public async Task<McResult> AdminAsync(params string[] arguments)
    {
        var environment = new Dictionary<string, string>
        {
            ["MC_HOST_" + Alias] = hostUrl,
            ["MC_CONFIG_DIR"] = configDir,
            ["TZ"] = "UTC", // mc reads --expiry in local time
        };
        string[] all = ["--json", "--no-color", "--disable-pager", "admin", .. arguments];
        var result = await ExternalProcess.RunAsync(tools.Mc, all, [], environment, TimeSpan.FromSeconds(60), configDir, clearEnvironment: true);
        var messages = new List<JsonObject>();
        foreach (var line in result.StdoutText.Split('\n', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries))
        {
            if (line.StartsWith('{') && JsonNode.Parse(line) is JsonObject message)
            {
                messages.Add(message);
            }
        }

        return new McResult(string.Join(' ', arguments), result.ExitCode, messages, result.StdoutText, result.Stderr);
    }

    public void Dispose()
    {
        try
        {
            Directory.Delete(configDir, recursive: true);
        }
        catch (IOException)
        {
        }
    }
}
