using System.Text.Json;
using WorkspaceStorage.Core.Signing;
using WorkspaceStorage.Storage.Backends;

namespace WorkspaceStorage.Storage.Minio;

/// <summary>Service accounts (access keys of a user): add, update, info, list, delete, and the check that a key pair signs.</summary>
public sealed partial class MinioAdminClient
{
    /// <summary>The error code of <see cref="AddServiceAccountAsync"/> when the server cannot expire service accounts.</summary>
    public const string ExpiryUnsupported = "ServiceAccountExpiryUnsupported";

    /// <summary>
    /// Adds a service account. Name, description and expiration are read by servers since RELEASE.2023-02-27; older
    /// ones ignore them silently, and their answer carries no expiration. An account asked to expire that comes back
    /// without one would never expire: it is deleted again and <see cref="BackendRequestRejectedException"/> (code
    /// <see cref="ExpiryUnsupported"/>) is raised, so that no caller hands out "temporary" keys that live forever.
    /// </summary>
    public async Task<MinioServiceAccountCredentials> AddServiceAccountAsync(MinioServiceAccountRequest request, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(request);
        var body = Json(w =>
        {
            if (request.SessionPolicyJson is not null)
            {
                w.WritePropertyName("policy");
                w.WriteRawValue(request.SessionPolicyJson);
            }

            w.WriteString("targetUser", request.TargetUser);
            w.WriteString("accessKey", request.Credentials.AccessKeyId);
            w.WriteString("secretKey", request.Credentials.SecretAccessKey);
            WriteIfSet(w, "name", request.Name);
            WriteIfSet(w, "description", request.Description);
            if (request.Expiration is { } expiration)
            {
                w.WriteString("expiration", Rfc3339(expiration));
            }
        });
        var response = await SendAsync(HttpMethod.Put, "add-service-account", [], Encrypt(body), true, cancellationToken);
        EnsureSuccess("add-service-account", response);
        using var doc = Parse("add-service-account", Decrypt(response.Body));
        var credentials = doc.RootElement.TryGetProperty("credentials", out var c) ? c : default;
        var accessKey = MinioJson.String(credentials, "accessKey") ?? request.Credentials.AccessKeyId;
        var granted = MinioJson.Expiration(credentials, "expiration");
        if (request.Expiration is not null && granted is null)
        {
            await DeleteServiceAccountAsync(accessKey, cancellationToken);
            throw new BackendRequestRejectedException(
                "minio add-service-account: the server ignored the expiration (MinIO before RELEASE.2023-02-27 cannot expire " +
                "service accounts), so the account would never expire; it was deleted again. Temporary credentials need a newer server")
            {
                ErrorCode = ExpiryUnsupported,
                StatusCode = response.StatusCode,
            };
        }

        return new MinioServiceAccountCredentials(
            new AwsCredentials(accessKey, MinioJson.String(credentials, "secretKey") ?? request.Credentials.SecretAccessKey), granted);
    }

    public async Task UpdateServiceAccountAsync(string accessKey, MinioServiceAccountUpdate update, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(update);
        var body = Json(w =>
        {
            if (update.NewPolicyJson is not null)
            {
                w.WritePropertyName("newPolicy");
                w.WriteRawValue(update.NewPolicyJson);
            }

            WriteIfSet(w, "newSecretKey", update.NewSecretKey);
            WriteIfSet(w, "newStatus", update.NewStatus);
            WriteIfSet(w, "newName", update.NewName);
            WriteIfSet(w, "newDescription", update.NewDescription);
            if (update.NewExpiration is { } expiration)
            {
                w.WriteString("newExpiration", Rfc3339(expiration));
            }
        });
        var response = await SendAsync(HttpMethod.Post, "update-service-account", [new("accessKey", accessKey)], Encrypt(body), true, cancellationToken);
        EnsureSuccess("update-service-account", response);
    }

    /// <summary>Null when no service account has this access key.</summary>
    public async Task<MinioServiceAccountInfo?> GetServiceAccountAsync(string accessKey, CancellationToken cancellationToken)
    {
        var response = await SendAsync(HttpMethod.Get, "info-service-account", [new("accessKey", accessKey)], null, false, cancellationToken);
        if (IsAbsent("info-service-account", response))
        {
            return null;
        }

        using var doc = Parse("info-service-account", Decrypt(response.Body));
        var root = doc.RootElement;
        var implied = MinioJson.Bool(root, "impliedPolicy");
        var policy = root.TryGetProperty("policy", out var p)
            ? p.ValueKind == JsonValueKind.String ? p.GetString() : p.ValueKind == JsonValueKind.Object ? p.GetRawText() : null
            : null;
        return new MinioServiceAccountInfo(MinioJson.String(root, "parentUser") ?? "", MinioJson.String(root, "accountStatus") ?? "",
            implied, implied || string.IsNullOrEmpty(policy) ? null : policy, MinioJson.String(root, "name"),
            MinioJson.String(root, "description"), MinioJson.Expiration(root, "expiration"));
    }

    /// <summary>Service accounts whose parent is <paramref name="user"/>. Empty when the user does not exist.</summary>
    public async Task<IReadOnlyList<MinioServiceAccountSummary>> ListServiceAccountsAsync(string user, CancellationToken cancellationToken)
    {
        var response = await SendAsync(HttpMethod.Get, "list-service-accounts", [new("user", user)], null, false, cancellationToken);
        if (IsAbsent("list-service-accounts", response))
        {
            return [];
        }

        using var doc = Parse("list-service-accounts", Decrypt(response.Body));
        var accounts = new List<MinioServiceAccountSummary>();
        if (doc.RootElement.TryGetProperty("accounts", out var list) && list.ValueKind == JsonValueKind.Array)
        {
            foreach (var entry in list.EnumerateArray())
            {
                if (entry.ValueKind == JsonValueKind.String)
                {
                    accounts.Add(new MinioServiceAccountSummary(entry.GetString()!, null, null, null)); // servers before 2023
                }
                else if (MinioJson.String(entry, "accessKey") is { } accessKey)
                {
                    accounts.Add(new MinioServiceAccountSummary(accessKey, MinioJson.String(entry, "parentUser"), MinioJson.String(entry, "name"),
                        MinioJson.Expiration(entry, "expiration")));
                }
            }
        }

        return accounts;
    }

    /// <summary>Returns false when the service account did not exist.</summary>
    public async Task<bool> DeleteServiceAccountAsync(string accessKey, CancellationToken cancellationToken)
    {
        var response = await SendAsync(HttpMethod.Delete, "delete-service-account", [new("accessKey", accessKey)], null, true, cancellationToken);
        return SucceededOrAbsent("delete-service-account", response);
    }

    /// <summary>
    /// Whether the server accepts <paramref name="credentials"/>' signature: a read of the key's own service-account
    /// info, signed with that key. A wrong secret answers SignatureDoesNotMatch, an unknown key InvalidAccessKeyId; any
    /// other answer (the info, or AccessDenied) proves the secret. The only way to compare a secret MinIO never returns.
    /// </summary>
    public async Task<bool> AcceptsCredentialsAsync(AwsCredentials credentials, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(credentials);
        try
        {
            await SendAsync(HttpMethod.Get, "info-service-account", [new("accessKey", credentials.AccessKeyId)], null, false, cancellationToken,
                credentials, "probe-key");
            return true;
        }
        catch (BackendAuthenticationException ex) when (ex.ErrorCode is "SignatureDoesNotMatch" or "InvalidAccessKeyId" or "XMinioInvalidIAMCredentials")
        {
            return false;
        }
    }
}
