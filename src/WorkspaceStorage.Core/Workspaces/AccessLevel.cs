namespace WorkspaceStorage.Core.Workspaces;

/// <summary>What a workspace identity or credential may do under its prefix.</summary>
public enum AccessLevel
{
    /// <summary>Get and list only.</summary>
    ReadOnly,

    /// <summary>Get, list, put, delete and multipart uploads.</summary>
    ReadWrite,
}
