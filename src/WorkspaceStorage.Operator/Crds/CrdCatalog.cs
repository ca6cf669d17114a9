using WorkspaceStorage.Core.Model;
using WorkspaceStorage.Resources;

namespace WorkspaceStorage.Operator.Crds;

/// <summary>An extra column of <c>kubectl get</c>.</summary>
public sealed record PrinterColumn(string Name, string Type, string JsonPath, string Description, int Priority = 0);

/// <summary>What a CRD says beyond the schema of its C# type: names, scope, columns.</summary>
public sealed record CrdDefinition(
    Type ResourceType,
    string Kind,
    string ListKind,
    string Plural,
    string Singular,
    bool Namespaced,
    IReadOnlyList<string> ShortNames,
    IReadOnlyList<string> Categories,
    IReadOnlyList<PrinterColumn> PrinterColumns)
{
    public string Name => $"{Plural}.{ApiGroup.Group}";

    /// <summary>kubebuilder's file name: <c>group_plural.yaml</c>.</summary>
    public string FileName => $"{ApiGroup.Group}_{Plural}.yaml";
}

/// <summary>The operator's CRDs.</summary>
public static class CrdCatalog
{
    private const string ReadyStatus = ".status.conditions[?(@.type==\"Ready\")].status";
    private const string ReadyReason = ".status.conditions[?(@.type==\"Ready\")].reason";
    private const string Age = ".metadata.creationTimestamp";

    // Short names: `wss` (WorkspaceStorage) and `wsb` (workspace storage backend) share a prefix so they read as a
    // pair, and avoid generic ones such as `sb` that other storage operators' CRDs may also claim (kubectl then
    // resolves a short name to whichever CRD it finds first).
    public static readonly CrdDefinition WorkspaceStorage = new(
        typeof(WorkspaceStorageResource),
        ApiGroup.WorkspaceStorageKind,
        ApiGroup.WorkspaceStorageListKind,
        ApiGroup.WorkspaceStoragePlural,
        ApiGroup.WorkspaceStorageSingular,
        Namespaced: true,
        ShortNames: ["wss"],
        Categories: ["hypha", "storage"],
        PrinterColumns:
        [
            new("Workspace", "string", ".status.workspace", "The effective Hypha workspace id"),
            new("Backend", "string", ".spec.backendRef.name", "The StorageBackend (empty: the operator's default)"),
            new("Ready", "string", ReadyStatus, "Whether the credentials Secret is ready to use"),
            new("Secret", "string", ".status.secretName", "The Secret holding the workspace's credentials"),
            new("Age", "date", Age, "Time since creation"),
            new("Access", "string", ".spec.access", "ReadWrite or ReadOnly", Priority: 1),
            new("Reason", "string", ReadyReason, "Why the resource is (not) ready", Priority: 1),
        ]);

    public static readonly CrdDefinition StorageBackend = new(
        typeof(StorageBackendResource),
        ApiGroup.StorageBackendKind,
        ApiGroup.StorageBackendListKind,
        ApiGroup.StorageBackendPlural,
        ApiGroup.StorageBackendSingular,
        Namespaced: false,
        ShortNames: ["wsb"],
        Categories: ["hypha", "storage"],
        PrinterColumns:
        [
            new("Type", "string", ".spec.type", "Admin API the server speaks"),
            new("Endpoint", "string", ".spec.endpoint", "S3 URL the operator uses"),
            new("Bucket", "string", ".spec.bucket", "The shared bucket"),
            new("Ready", "string", ReadyStatus, "Whether the backend was reachable with the admin credentials"),
            new("Age", "date", Age, "Time since creation"),
        ]);

    public static IReadOnlyList<CrdDefinition> All { get; } = [WorkspaceStorage, StorageBackend];
}
