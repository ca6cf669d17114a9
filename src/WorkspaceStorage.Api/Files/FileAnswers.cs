using System.Text.Json.Serialization;

namespace WorkspaceStorage.Api.Files;

/// <summary>Hypha's answer to a file upload or deletion: <c>{"success": true, "message": "..."}</c>.</summary>
public sealed record FileMessage([property: JsonPropertyName("message"), JsonPropertyOrder(1)] string Message)
{
    [JsonPropertyName("success")]
    [JsonPropertyOrder(0)]
    public bool Success => true;
}

/// <summary>
/// Hypha's answer to a GET of a directory: <c>{"success": true, "type": "directory", "name", "children"}</c>, the children
/// in <see cref="Workspaces.WorkspaceListing"/>'s shape (the same entries list_files answers with).
/// </summary>
public sealed record DirectoryListing(
    [property: JsonPropertyName("name"), JsonPropertyOrder(2)] string Name,
    [property: JsonPropertyName("children"), JsonPropertyOrder(3)] List<Dictionary<string, object>> Children)
{
    [JsonPropertyName("success")]
    [JsonPropertyOrder(0)]
    public bool Success => true;

    [JsonPropertyName("type")]
    [JsonPropertyOrder(1)]
    public string Type => "directory";
}
