using System.Text.Json;

namespace WorkspaceStorage.Storage.Tests.Minio;

/// <summary>Users: add-user, remove-user, list-users, user-info, set-user-status.</summary>
internal sealed partial class FakeMinioAdminServer
{
    private ScriptedResponse AddUser(RecordedRequest request)
    {
        var body = Decrypt(request);
        var name = Query(request, "accessKey");
        var secret = body["secretKey"]?.GetValue<string>() ?? "";
        if (name.Length < 3 || secret.Length < 8 || name == AdminKey)
        {
            return ScriptedResponse.Error(400, "XMinioAdminInvalidArgument");
        }

        var user = Users.TryGetValue(name, out var existing) ? existing : Users[name] = new FakeUser();
        user.Secret = secret;
        user.Status = body["status"]?.GetValue<string>() is { Length: > 0 } status ? status : "enabled";
        return ScriptedResponse.Empty(200);
    }

    /// <summary>Like MinIO, removing a user also deletes its service accounts and its group memberships.</summary>
    private ScriptedResponse RemoveUser(RecordedRequest request)
    {
        var name = Query(request, "accessKey");
        if (!Users.Remove(name))
        {
            return ScriptedResponse.Error(404, "XMinioAdminNoSuchUser");
        }

        foreach (var key in ServiceAccounts.Where(p => p.Value.Parent == name).Select(p => p.Key).ToList())
        {
            ServiceAccounts.Remove(key);
        }

        foreach (var group in Groups.Values)
        {
            group.Members.Remove(name);
        }

        return ScriptedResponse.Empty(200);
    }

    private ScriptedResponse ListUsers() => Sealed(JsonSerializer.Serialize(Users.ToDictionary(p => p.Key, p => UserInfoBody(p.Key, p.Value))));

    private ScriptedResponse UserInfo(RecordedRequest request)
    {
        var name = Query(request, "accessKey");
        return Users.TryGetValue(name, out var user)
            ? ScriptedResponse.Json(JsonSerializer.Serialize(UserInfoBody(name, user)))
            : ScriptedResponse.Error(404, "XMinioAdminNoSuchUser");
    }

    private ScriptedResponse SetUserStatus(RecordedRequest request) =>
        SetStatus(Users, Query(request, "accessKey"), "XMinioAdminNoSuchUser", request, (user, status) => user.Status = status);

    /// <summary>madmin.UserInfo; the secret is never returned.</summary>
    private Dictionary<string, object> UserInfoBody(string name, FakeUser user) => new()
    {
        ["policyName"] = string.Join(',', user.Policies),
        ["status"] = user.Status,
        ["memberOf"] = Groups.Where(g => g.Value.Members.Contains(name)).Select(g => g.Key).Order(StringComparer.Ordinal).ToArray(),
        ["updatedAt"] = DateTimeOffset.UnixEpoch.AddYears(55),
    };
}
