namespace WorkspaceStorage.Operator.LocalMode;

/// <summary>Settings of the local mode.</summary>
/// <param name="ManifestDirectory">Directory of YAML manifests (WorkspaceStorage, StorageBackend, Secret; several documents per file allowed).</param>
/// <param name="OutputDirectory">Where statuses and managed Secrets are written (see <see cref="LocalOutputDirectory"/>).</param>
public sealed record LocalModeOptions(string ManifestDirectory, string OutputDirectory)
{
    /// <summary>Full rescan of the manifest directory, in case the file-system watcher missed something.</summary>
    public TimeSpan RescanPeriod { get; init; } = TimeSpan.FromSeconds(5);

    /// <summary>Quiet time after a file-system event before scanning (editors write files in several steps).</summary>
    public TimeSpan Debounce { get; init; } = TimeSpan.FromMilliseconds(200);
}
