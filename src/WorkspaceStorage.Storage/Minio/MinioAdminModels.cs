using System.Text.Json;
using WorkspaceStorage.Core.Signing;
using WorkspaceStorage.Storage.Http;

namespace WorkspaceStorage.Storage.Minio;

/// <summary>Where and as whom the admin API is called.</summary>
public sealed record MinioAdminOptions
{
    /// <summary>scheme://host[:port] of the MinIO-API server; any path is ignored (the admin API lives at /minio/admin/v3).</summary>
    public required Uri Endpoint { get; init; }

    /// <summary>The admin (root or admin-policy) key pair. Its secret also keys every encrypted payload.</summary>
    public required AwsCredentials AdminCredentials { get; init; }

    /// <summary>Region of the SigV4 scope. MinIO accepts "us-east-1" whatever its configured region.</summary>
    public string Region { get; init; } = "us-east-1";

    public RetryOptions Retry { get; init; } = new();
}

/// <summary>A user or a group, the two things a policy can be attached to.</summary>
public sealed record MinioPolicyTarget(string Name, bool IsGroup)
{
    public static MinioPolicyTarget User(string name) => new(name, false);

    public static MinioPolicyTarget Group(string name) => new(name, true);
}

/// <summary>user-info. The secret key MinIO may include is deliberately not kept.</summary>
/// <param name="PolicyName">Comma-separated policy names as MinIO reports them; see <see cref="Policies"/>.</param>
public sealed record MinioUserInfo(string? PolicyName, string Status, IReadOnlyList<string> MemberOf)
{
    public bool Enabled => string.Equals(Status, "enabled", StringComparison.OrdinalIgnoreCase);

    public IReadOnlyList<string> Policies =>
        PolicyName is null ? [] : PolicyName.Split(',', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries);
}

/// <summary>info-canned-policy?v=2.</summary>
public sealed record MinioPolicyInfo(string PolicyName, string PolicyJson);

/// <summary>group.</summary>
public sealed record MinioGroupInfo(string Name, string Status, IReadOnlyList<string> Members, string? Policy);

/// <summary>idp/builtin/policy-entities.</summary>
public sealed record MinioPolicyEntities(
    IReadOnlyList<MinioUserPolicies> UserMappings,
    IReadOnlyList<MinioGroupPolicies> GroupMappings,
    IReadOnlyList<MinioPolicyMembers> PolicyMappings);

public sealed record MinioUserPolicies(string User, IReadOnlyList<string> Policies);

public sealed record MinioGroupPolicies(string Group, IReadOnlyList<string> Policies);

public sealed record MinioPolicyMembers(string Policy, IReadOnlyList<string> Users, IReadOnlyList<string> Groups);

/// <summary>add-service-account. Null members are left out of the request.</summary>
public sealed record MinioServiceAccountRequest(string TargetUser, AwsCredentials Credentials)
{
    /// <summary>Narrows the parent's rights (MinIO intersects); null = inherit the parent's policy.</summary>
    public string? SessionPolicyJson { get; init; }

    public string? Name { get; init; }

    public string? Description { get; init; }

    public DateTimeOffset? Expiration { get; init; }

    public override string ToString() =>
        $"MinioServiceAccountRequest {{ TargetUser = {TargetUser}, AccessKey = {Credentials.AccessKeyId}, Name = {Name}, Expiration = {Expiration} }}";
}

/// <summary>update-service-account. MinIO drops the session policy when <see cref="NewPolicyJson"/> is absent, so resend it.</summary>
public sealed record MinioServiceAccountUpdate
{
    public string? NewPolicyJson { get; init; }

    public string? NewSecretKey { get; init; }

    /// <summary>"on" or "off".</summary>
    public string? NewStatus { get; init; }

    public string? NewName { get; init; }

    public string? NewDescription { get; init; }

    public DateTimeOffset? NewExpiration { get; init; }

    public override string ToString() =>
        $"MinioServiceAccountUpdate {{ NewSecretKey = {(NewSecretKey is null ? "unchanged" : "***")}, NewStatus = {NewStatus}, NewName = {NewName} }}";
}

/// <summary>info-service-account.</summary>
/// <param name="SessionPolicyJson">The session policy, or null when the account inherits its parent's (impliedPolicy).</param>
public sealed record MinioServiceAccountInfo(
    string ParentUser,
    string AccountStatus,
    bool ImpliedPolicy,
    string? SessionPolicyJson,
    string? Name,
    string? Description,
    DateTimeOffset? Expiration)
{
    public bool Enabled => !string.Equals(AccountStatus, "off", StringComparison.OrdinalIgnoreCase);
}

/// <summary>One entry of list-service-accounts. Servers before 2023 list bare access keys: the other fields are then null.</summary>
public sealed record MinioServiceAccountSummary(string AccessKey, string? ParentUser, string? Name, DateTimeOffset? Expiration)
{
    public bool Expires => Expiration is not null;
}

/// <summary>What add-service-account answered. ToString hides the secret.</summary>
public sealed record MinioServiceAccountCredentials(AwsCredentials Credentials, DateTimeOffset? Expiration);

internal static class MinioJson
{
    public static string? String(JsonElement element, string name) =>
        element.ValueKind == JsonValueKind.Object && element.TryGetProperty(name, out var value) && value.ValueKind == JsonValueKind.String
            ? value.GetString()
            : null;

    public static bool Bool(JsonElement element, string name) =>
        element.ValueKind == JsonValueKind.Object && element.TryGetProperty(name, out var value) && value.ValueKind == JsonValueKind.True;

    public static IReadOnlyList<string> Strings(JsonElement element, string name) =>
        element.ValueKind == JsonValueKind.Object && element.TryGetProperty(name, out var value) && value.ValueKind == JsonValueKind.Array
            ? [.. value.EnumerateArray().Where(v => v.ValueKind == JsonValueKind.String).Select(v => v.GetString()!)]
            : [];

    /// <summary>
    /// An expiration, or null for "never": MinIO writes no field, null, the zero time, or its sentinel 1970-01-01 for
    /// accounts that do not expire.
    /// </summary>
    public static DateTimeOffset? Expiration(JsonElement element, string name)
    {
        var text = String(element, name);
        if (text is null || !DateTimeOffset.TryParse(text, System.Globalization.CultureInfo.InvariantCulture,
                System.Globalization.DateTimeStyles.AssumeUniversal, out var value))
        {
            return null;
        }

        return value <= DateTimeOffset.UnixEpoch ? null : value;
    }
}
