using System.Text.Json;

namespace WorkspaceStorage.Storage.Minio;

/// <summary>Users: add-user (an upsert), remove-user, list-users, user-info, set-user-status.</summary>
public sealed partial class MinioAdminClient
{
    /// <summary>Creates the user, or sets its secret and status when it exists (MinIO's add-user is an upsert).</summary>
    public async Task AddUserAsync(string accessKey, string secretKey, bool enabled, CancellationToken cancellationToken)
    {
        var body = Json(w =>
        {
            w.WriteString("secretKey", secretKey);
            w.WriteString("status", enabled ? "enabled" : "disabled");
        });
        var response = await SendAsync(HttpMethod.Put, "add-user", [new("accessKey", accessKey)], Encrypt(body), true, cancellationToken);
        EnsureSuccess("add-user", response);
    }

    /// <summary>Returns false when the user did not exist.</summary>
    public async Task<bool> RemoveUserAsync(string accessKey, CancellationToken cancellationToken)
    {
        var response = await SendAsync(HttpMethod.Delete, "remove-user", [new("accessKey", accessKey)], null, true, cancellationToken);
        return SucceededOrAbsent("remove-user", response);
    }

    public async Task<IReadOnlyDictionary<string, MinioUserInfo>> ListUsersAsync(CancellationToken cancellationToken)
    {
        var response = await SendAsync(HttpMethod.Get, "list-users", [], null, false, cancellationToken);
        EnsureSuccess("list-users", response);
        using var doc = Parse("list-users", Decrypt(response.Body));
        var users = new Dictionary<string, MinioUserInfo>(StringComparer.Ordinal);
        if (doc.RootElement.ValueKind == JsonValueKind.Object)
        {
            foreach (var user in doc.RootElement.EnumerateObject())
            {
                users[user.Name] = ReadUserInfo(user.Value);
            }
        }

        return users;
    }

    /// <summary>Null when the user does not exist.</summary>
    public async Task<MinioUserInfo?> GetUserInfoAsync(string accessKey, CancellationToken cancellationToken)
    {
        var response = await SendAsync(HttpMethod.Get, "user-info", [new("accessKey", accessKey)], null, false, cancellationToken);
        if (IsAbsent("user-info", response))
        {
            return null;
        }

        using var doc = Parse("user-info", response.Body);
        return ReadUserInfo(doc.RootElement);
    }

    public async Task SetUserStatusAsync(string accessKey, bool enabled, CancellationToken cancellationToken)
    {
        var response = await SendAsync(HttpMethod.Put, "set-user-status",
            [new("accessKey", accessKey), new("status", enabled ? "enabled" : "disabled")], null, true, cancellationToken);
        EnsureSuccess("set-user-status", response);
    }

    private static MinioUserInfo ReadUserInfo(JsonElement element) =>
        new(MinioJson.String(element, "policyName"), MinioJson.String(element, "status") ?? "", MinioJson.Strings(element, "memberOf"));
}
