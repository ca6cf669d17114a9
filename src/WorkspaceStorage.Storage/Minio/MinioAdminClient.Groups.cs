using System.Text.Json;

namespace WorkspaceStorage.Storage.Minio;

/// <summary>Groups: update-group-members (which creates and deletes groups), group, groups.</summary>
public sealed partial class MinioAdminClient
{
    /// <summary>Adds members to a group (creating it) or removes them (an empty removal deletes an empty group).</summary>
    public async Task UpdateGroupMembersAsync(string group, IReadOnlyList<string> members, bool isRemove, CancellationToken cancellationToken)
    {
        var body = Json(w =>
        {
            w.WriteString("group", group);
            w.WriteStartArray("members");
            foreach (var member in members)
            {
                w.WriteStringValue(member);
            }

            w.WriteEndArray();
            w.WriteString("groupStatus", ""); // as mc sends it: the server ignores it here (set-group-status sets it)
            w.WriteBoolean("isRemove", isRemove);
        });
        var response = await SendAsync(HttpMethod.Put, "update-group-members", [], body, true, cancellationToken);
        EnsureSuccess("update-group-members", response);
    }

    /// <summary>Null when the group does not exist.</summary>
    public async Task<MinioGroupInfo?> GetGroupAsync(string group, CancellationToken cancellationToken)
    {
        var response = await SendAsync(HttpMethod.Get, "group", [new("group", group)], null, false, cancellationToken);
        if (IsAbsent("group", response))
        {
            return null;
        }

        using var doc = Parse("group", response.Body);
        var root = doc.RootElement;
        var policy = MinioJson.String(root, "policy");
        return new MinioGroupInfo(MinioJson.String(root, "name") ?? group, MinioJson.String(root, "status") ?? "",
            MinioJson.Strings(root, "members"), string.IsNullOrEmpty(policy) ? null : policy);
    }

    public async Task<IReadOnlyList<string>> ListGroupsAsync(CancellationToken cancellationToken)
    {
        var response = await SendAsync(HttpMethod.Get, "groups", [], null, false, cancellationToken);
        EnsureSuccess("groups", response);
        using var doc = Parse("groups", response.Body);
        return doc.RootElement.ValueKind == JsonValueKind.Array
            ? [.. doc.RootElement.EnumerateArray().Where(e => e.ValueKind == JsonValueKind.String).Select(e => e.GetString()!)]
            : [];
    }
}
