using System.Text.Json;
using System.Text.Json.Serialization;
using WorkspaceStorage.Core.Signing;
using WorkspaceStorage.Storage.Backends;

namespace WorkspaceStorage.Storage.CephRgw;

/// <summary>
/// Users and keys through RGW's Admin Ops API (<c>/admin/user</c>, SigV4 service "s3"). The admin user needs
/// the <c>users=*</c> cap. Answers carry secret keys: they are parsed into <see cref="RgwKey"/>, whose
/// ToString hides them, and never logged.
/// </summary>
public sealed class RgwAdminOpsClient(RgwConnection connection)
{
    private const string Service = "s3";

    /// <summary>The user, or null when RGW answers 404 NoSuchUser.</summary>
    public Task<RgwUser?> GetUserAsync(string uid, CancellationToken cancellationToken) =>
        GetUserByAsync("uid", uid, "get-user", cancellationToken);

    /// <summary>The user owning <paramref name="accessKey"/> (used to find the admin's own uid).</summary>
    /// <remarks>RGW Pacific answers 403 AccessDenied, not 404, for a key no user has, so that case raises <see cref="BackendAuthenticationException"/>.</remarks>
    public Task<RgwUser?> GetUserByAccessKeyAsync(string accessKey, CancellationToken cancellationToken) =>
        GetUserByAsync("access-key", accessKey, "get-user-by-key", cancellationToken);

    /// <summary>
    /// Creates a user without keys that may not create buckets (<c>max-buckets=-1</c>; 0 would mean "unlimited").
    /// Returns false when the user already existed.
    /// </summary>
    public async Task<bool> CreateUserAsync(string uid, string displayName, CancellationToken cancellationToken)
    {
        var response = await connection.SendAsync(HttpMethod.Put,
            $"/admin/user?uid={Escape(uid)}&display-name={Escape(displayName)}&max-buckets=-1&generate-key=false&format=json",
            Service, "create-user", isWrite: true, cancellationToken);
        if (response.StatusCode == 409)
        {
            return false; // UserAlreadyExists: a concurrent reconcile won the race
        }

        return response.IsSuccess ? true : throw RgwConnection.Failure("create-user", response);
    }

    /// <summary>Puts back the settings a workspace user must have: no buckets of its own, not suspended.</summary>
    public async Task ModifyUserAsync(string uid, CancellationToken cancellationToken)
    {
        var response = await connection.SendAsync(HttpMethod.Post,
            $"/admin/user?uid={Escape(uid)}&max-buckets=-1&suspended=false&format=json", Service, "modify-user", isWrite: true, cancellationToken);
        if (!response.IsSuccess)
        {
            throw RgwConnection.Failure("modify-user", response);
        }
    }

    /// <summary>
    /// Adds (or, when the user already has that access key, re-secrets) a key. RGW refuses 409 KeyExists when the
    /// access key belongs to another user, so a brought key can never take over another workspace's identity.
    /// </summary>
    public async Task AddKeyAsync(string uid, AwsCredentials key, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(key);
        var response = await connection.SendAsync(HttpMethod.Put,
            $"/admin/user?key&uid={Escape(uid)}&key-type=s3&access-key={Escape(key.AccessKeyId)}&secret-key={Escape(key.SecretAccessKey)}&format=json",
            Service, "add-key", isWrite: true, cancellationToken);
        if (!response.IsSuccess)
        {
            throw RgwConnection.Failure("add-key", response);
        }
    }

    /// <summary>Removes a key. Returns false when the user does not have it.</summary>
    /// <remarks>RGW answers 403 InvalidAccessKeyId for a key it does not know, which looks like a refused admin; so look first.</remarks>
    public async Task<bool> RemoveKeyAsync(string uid, string accessKey, CancellationToken cancellationToken)
    {
        var user = await GetUserAsync(uid, cancellationToken);
        if (user is null || !user.Keys.Any(k => k.AccessKey == accessKey))
        {
            return false;
        }

        try
        {
            var response = await connection.SendAsync(HttpMethod.Delete,
                $"/admin/user?key&uid={Escape(uid)}&key-type=s3&access-key={Escape(accessKey)}&format=json",
                Service, "remove-key", isWrite: true, cancellationToken);
            return response.IsSuccess ? true : throw RgwConnection.Failure("remove-key", response);
        }
        catch (BackendAuthenticationException ex) when (ex.ErrorCode == "InvalidAccessKeyId")
        {
            // Removed concurrently between the read and the delete? Then the admin's own read still works.
            var again = await GetUserAsync(uid, cancellationToken);
            if (again is null || !again.Keys.Any(k => k.AccessKey == accessKey))
            {
                return false;
            }

            throw;
        }
    }

    /// <summary>Access key ids of the user's S3 keys; empty when the user does not exist.</summary>
    public async Task<IReadOnlyList<string>> ListKeysAsync(string uid, CancellationToken cancellationToken)
    {
        var user = await GetUserAsync(uid, cancellationToken);
        return user is null ? [] : [.. user.Keys.Select(k => k.AccessKey)];
    }

    /// <summary>Every user id on the server (<c>/admin/metadata/user</c>; the admin needs the <c>metadata=read</c> cap).</summary>
    public async Task<IReadOnlyList<string>> ListUserIdsAsync(CancellationToken cancellationToken)
    {
        var response = await connection.SendAsync(HttpMethod.Get, "/admin/metadata/user?format=json", Service, "list-users", isWrite: false, cancellationToken);
        if (!response.IsSuccess)
        {
            throw RgwConnection.Failure("list-users", response);
        }

        try
        {
            return JsonSerializer.Deserialize(response.Body, RgwJsonContext.Default.StringArray) ?? [];
        }
        catch (JsonException)
        {
            throw new BackendRequestRejectedException($"{RgwConnection.BackendType} list-users: unreadable answer");
        }
    }

    /// <summary>Removes the user, keeping its data (<c>purge-data=false</c>: objects under the prefix are handled separately). False when absent.</summary>
    public async Task<bool> RemoveUserAsync(string uid, CancellationToken cancellationToken)
    {
        var response = await connection.SendAsync(HttpMethod.Delete,
            $"/admin/user?uid={Escape(uid)}&purge-data=false&format=json", Service, "remove-user", isWrite: true, cancellationToken);
        if (response.StatusCode == 404)
        {
            return false;
        }

        return response.IsSuccess ? true : throw RgwConnection.Failure("remove-user", response);
    }

    private async Task<RgwUser?> GetUserByAsync(string field, string value, string operation, CancellationToken cancellationToken)
    {
        var response = await connection.SendAsync(HttpMethod.Get,
            $"/admin/user?{field}={Escape(value)}&format=json", Service, operation, isWrite: false, cancellationToken);
        if (response.StatusCode == 404)
        {
            return null;
        }

        return response.IsSuccess ? RgwUser.Parse(response.Body) : throw RgwConnection.Failure(operation, response);
    }

    private static string Escape(string value) => AwsUriEncoding.Escape(value);
}

/// <summary>An RGW user as the Admin Ops API reports it (only what the backend needs).</summary>
public sealed record RgwUser(string UserId, string Tenant, string DisplayName, long MaxBuckets, bool Suspended, IReadOnlyList<RgwKey> Keys)
{
    internal static RgwUser Parse(byte[] body)
    {
        try
        {
            using var doc = JsonDocument.Parse(body);
            var root = doc.RootElement;
            var keys = new List<RgwKey>();
            if (root.TryGetProperty("keys", out var keyArray) && keyArray.ValueKind == JsonValueKind.Array)
            {
                foreach (var key in keyArray.EnumerateArray())
                {
                    keys.Add(new RgwKey(
                        key.GetProperty("user").GetString() ?? string.Empty,
                        key.GetProperty("access_key").GetString() ?? string.Empty,
                        key.TryGetProperty("secret_key", out var secret) ? secret.GetString() ?? string.Empty : string.Empty));
                }
            }

            return new RgwUser(
                root.GetProperty("user_id").GetString() ?? string.Empty,
                root.TryGetProperty("tenant", out var tenant) ? tenant.GetString() ?? string.Empty : string.Empty,
                root.TryGetProperty("display_name", out var name) ? name.GetString() ?? string.Empty : string.Empty,
                root.TryGetProperty("max_buckets", out var max) ? max.GetInt64() : 0,
                root.TryGetProperty("suspended", out var suspended) && suspended.GetInt32() != 0,
                keys);
        }
        catch (Exception ex) when (ex is JsonException or KeyNotFoundException or InvalidOperationException or FormatException)
        {
            // Never echo the body: it holds secret keys.
            throw new BackendRequestRejectedException($"{RgwConnection.BackendType} get-user: unreadable answer ({ex.GetType().Name})");
        }
    }

    /// <summary>The IAM principal ARN of this user, as trust policies name it.</summary>
    public string Arn => $"arn:aws:iam::{Tenant}:user/{UserId}";

    public override string ToString() =>
        $"RgwUser {{ UserId = {UserId}, Tenant = {Tenant}, MaxBuckets = {MaxBuckets}, Suspended = {Suspended}, Keys = [{string.Join(", ", Keys.Select(k => k.AccessKey))}] }}";
}

/// <summary>One S3 key of a user. ToString never prints the secret.</summary>
public sealed record RgwKey(string User, string AccessKey, string SecretKey)
{
    public override string ToString() => $"RgwKey {{ User = {User}, AccessKey = {AccessKey}, SecretKey = *** }}";
}

/// <summary>Source-generated JSON for the admin answers read whole (no reflection at run time).</summary>
[JsonSerializable(typeof(string[]))]
internal sealed partial class RgwJsonContext : JsonSerializerContext;
