using System.Text;
using System.Text.Json.Nodes;
using WorkspaceStorage.Kubernetes.Runtime;

namespace WorkspaceStorage.Operator.LocalMode;

/// <summary>
/// Where the local mode writes what the operator stores, one YAML file per object, so people and the companion API's
/// local-mode reader can see it:
/// <list type="bullet">
/// <item><c>&lt;out&gt;/workspacestorages/&lt;namespace&gt;/&lt;name&gt;.yaml</c>: each WorkspaceStorage with its status;</item>
/// <item><c>&lt;out&gt;/storagebackends/&lt;name&gt;.yaml</c>: each StorageBackend with its status;</item>
/// <item><c>&lt;out&gt;/secrets/&lt;namespace&gt;/&lt;name&gt;.yaml</c>: each Secret the operator manages (label
///   <c>app.kubernetes.io/managed-by=workspace-storage-operator</c>), <c>data</c> base64 as in Kubernetes, file mode 0600
///   in a 0700 directory.</item>
/// </list>
/// Files are replaced atomically (write to a temporary file, then rename), so a reader never sees half a file.
/// A file disappears when its object is gone.
/// </summary>
public sealed class LocalOutputDirectory
{
    public const string WorkspaceStoragesFolder = "workspacestorages";
    public const string StorageBackendsFolder = "storagebackends";
    public const string SecretsFolder = "secrets";

    private const UnixFileMode OwnerOnlyFile = UnixFileMode.UserRead | UnixFileMode.UserWrite;
    private const UnixFileMode OwnerOnlyDirectory = UnixFileMode.UserRead | UnixFileMode.UserWrite | UnixFileMode.UserExecute;

    public LocalOutputDirectory(string root)
    {
        ArgumentException.ThrowIfNullOrWhiteSpace(root);
        Root = Path.GetFullPath(root);
    }

    public string Root { get; }

    /// <summary>The file of one object: <c>&lt;out&gt;/&lt;folder&gt;/[&lt;namespace&gt;/]&lt;name&gt;.yaml</c>.</summary>
    public string PathOf(string folder, ResourceKey key) =>
        key.Namespace is null
            ? Path.Combine(Root, folder, key.Name + ".yaml")
            : Path.Combine(Root, folder, key.Namespace, key.Name + ".yaml");

    /// <summary>Writes the object as YAML; <paramref name="confidential"/> files get mode 0600 from the start.</summary>
    public void Write(string folder, ResourceKey key, JsonObject resource, bool confidential)
    {
        var path = PathOf(folder, key);
        var directory = Path.GetDirectoryName(path)!;
        CreateDirectory(directory, confidential);
        if (confidential && !OperatingSystem.IsWindows())
        {
            // The folder of the type too (secrets/), not only the namespace folder below it.
            File.SetUnixFileMode(Path.Combine(Root, folder), OwnerOnlyDirectory);
        }
        var temporary = Path.Combine(directory, $".{key.Name}.{Guid.NewGuid():N}.tmp");
        var options = new FileStreamOptions { Mode = FileMode.CreateNew, Access = FileAccess.Write, Share = FileShare.None };
        if (!OperatingSystem.IsWindows())
        {
            options.UnixCreateMode = confidential ? OwnerOnlyFile : OwnerOnlyFile | UnixFileMode.GroupRead | UnixFileMode.OtherRead;
        }

        try
        {
            using (var stream = new FileStream(temporary, options))
            {
                var bytes = Encoding.UTF8.GetBytes(YamlJson.ToYaml(resource));
                stream.Write(bytes);
                stream.Flush(flushToDisk: true);
            }

            File.Move(temporary, path, overwrite: true);
        }
        finally
        {
            File.Delete(temporary); // only left when the move failed
        }
    }

    /// <summary>Removes the object's file; true when there was one.</summary>
    public bool Delete(string folder, ResourceKey key)
    {
        var path = PathOf(folder, key);
        if (!File.Exists(path))
        {
            return false;
        }

        File.Delete(path);
        return true;
    }

    /// <summary>Every object file under a folder (for restoring state at start).</summary>
    public IEnumerable<string> Files(string folder)
    {
        var path = Path.Combine(Root, folder);
        return Directory.Exists(path)
            ? Directory.EnumerateFiles(path, "*.yaml", SearchOption.AllDirectories).Order(StringComparer.Ordinal).ToList()
            : [];
    }

    private static void CreateDirectory(string directory, bool confidential)
    {
        if (OperatingSystem.IsWindows())
        {
            Directory.CreateDirectory(directory);
            return;
        }

        Directory.CreateDirectory(directory, confidential ? OwnerOnlyDirectory : OwnerOnlyDirectory | UnixFileMode.GroupRead | UnixFileMode.GroupExecute | UnixFileMode.OtherRead | UnixFileMode.OtherExecute);
        if (confidential)
        {
            // Created earlier with wider rights (or by someone else): narrow it, the keys are in here.
            File.SetUnixFileMode(directory, OwnerOnlyDirectory);
        }
    }
}
