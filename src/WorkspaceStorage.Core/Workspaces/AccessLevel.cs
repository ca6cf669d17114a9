namespace WorkspaceStorage.Core.Workspaces;

/// <summary>What a workspace identity or credential may do under its prefix.</summary>
public enum AccessLevel
{
    /// <summary>Get and list only.</summary>
    ReadOnly,

    /// <summary>Get, list, put, delete and multipart uploads.</summary>
    ReadWrite,

    /// <summary>
    /// Get, list and delete, no put: what a ReadWrite workspace over its quota keeps (<see cref="Model.QuotaRules.AccessWithin"/>),
    /// so the storage server itself refuses new data (403) while the workspace can still read and free space.
    /// </summary>
    ReadDelete,
}
