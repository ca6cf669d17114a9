using System.Text.Json;

namespace WorkspaceStorage.Storage.Tests.Minio;

/// <summary>Groups: update-group-members (which also creates and deletes groups), group, groups, set-group-status.</summary>
internal sealed partial class FakeMinioAdminServer
{
    /// <summary>
    /// MinIO's rules: every member must be an existing user; adding creates the group; removing nobody deletes the group,
    /// but only when it is empty (XMinioAdminGroupNotEmpty otherwise), and drops its policy mapping.
    /// </summary>
    private ScriptedResponse UpdateGroupMembers(RecordedRequest request)
    {
        var body = JsonSerializer.Deserialize<GroupAddRemove>(request.Body);
        if (body is null || string.IsNullOrEmpty(body.Group))
        {
            return ScriptedResponse.Error(400, "XMinioAdminInvalidArgument");
        }

        var members = body.Members ?? [];
        if (members.Any(m => !Users.ContainsKey(m)))
        {
            return ScriptedResponse.Error(404, "XMinioAdminNoSuchUser");
        }

        if (!body.IsRemove)
        {
            var group = Groups.TryGetValue(body.Group, out var existing) ? existing : Groups[body.Group] = new FakeGroup();
            group.Members.AddRange(members.Where(m => !group.Members.Contains(m)).Distinct());
            return ScriptedResponse.Empty(200);
        }

        if (!Groups.TryGetValue(body.Group, out var target))
        {
            return ScriptedResponse.Error(404, "XMinioAdminNoSuchGroup");
        }

        if (members.Count == 0)
        {
            if (target.Members.Count > 0)
            {
                return ScriptedResponse.Error(400, "XMinioAdminGroupNotEmpty");
            }

            Groups.Remove(body.Group);
            return ScriptedResponse.Empty(200);
        }

        target.Members.RemoveAll(members.Contains);
        return ScriptedResponse.Empty(200);
    }

    private ScriptedResponse GroupInfo(RecordedRequest request)
    {
        var name = Query(request, "group");
        return Groups.TryGetValue(name, out var group)
            ? ScriptedResponse.Json(JsonSerializer.Serialize(new
            {
                name,
                status = group.Status,
                members = group.Members,
                policy = string.Join(',', group.Policies),
                updatedAt = DateTimeOffset.UnixEpoch.AddYears(55),
            }))
            : ScriptedResponse.Error(404, "XMinioAdminNoSuchGroup");
    }

    private ScriptedResponse ListGroups() => ScriptedResponse.Json(JsonSerializer.Serialize(Groups.Keys.Order(StringComparer.Ordinal)));

    private ScriptedResponse SetGroupStatus(RecordedRequest request) =>
        SetStatus(Groups, Query(request, "group"), "XMinioAdminNoSuchGroup", request, (group, status) => group.Status = status);

    /// <summary>madmin.GroupAddRemove, sent in clear.</summary>
    private sealed record GroupAddRemove(
        [property: System.Text.Json.Serialization.JsonPropertyName("group")] string Group,
        [property: System.Text.Json.Serialization.JsonPropertyName("members")] List<string>? Members,
        [property: System.Text.Json.Serialization.JsonPropertyName("isRemove")] bool IsRemove);
}
