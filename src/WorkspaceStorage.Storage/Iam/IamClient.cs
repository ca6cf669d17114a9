using System.Globalization;
using System.Text;
using System.Xml;
using System.Xml.Linq;
using WorkspaceStorage.Core.Signing;
using WorkspaceStorage.Storage.Backends;

namespace WorkspaceStorage.Storage.Iam;

/// <summary>
/// The IAM query API (version 2010-05-08, SigV4 service "iam"), one client for both backends that speak it: Ceph RGW
/// (Pacific serves inline user policies, with the admin's <c>user-policy=*</c> cap, and roles, with <c>roles=*</c>, on its
/// S3 endpoint) and AWS IAM (users, access keys and tags as well). "Not found" is a value (null, false, empty), never an
/// exception, so callers can read before they write. Answers that carry a secret (CreateAccessKey) are parsed into
/// <see cref="AwsCredentials"/>, whose ToString hides it, and never logged.
/// </summary>
public sealed class IamClient(QueryApiConnection connection)
{
    private const string Service = "iam";
    private const string Version = "2010-05-08";

    // ---- users (AWS; RGW Pacific makes its users through Admin Ops instead) ----

    /// <summary>Creates a user under <paramref name="path"/> with <paramref name="tags"/>. False when a user of that name already exists.</summary>
    public async Task<bool> CreateUserAsync(string userName, string path, IReadOnlyList<IamTag> tags, CancellationToken cancellationToken)
    {
        var parameters = new List<KeyValuePair<string, string>> { new("UserName", userName), new("Path", path) };
        AddTags(parameters, tags);
        var response = await connection.PostFormAsync(Service, "CreateUser", Version, isWrite: true, parameters, cancellationToken);
        if (response.StatusCode == 409)
        {
            return false; // EntityAlreadyExists: a concurrent reconcile won the race
        }

        return response.IsSuccess ? true : throw connection.Failure("CreateUser", response);
    }

    /// <summary>The user with its path and tags, or null when it does not exist.</summary>
    public async Task<IamUser?> GetUserAsync(string userName, CancellationToken cancellationToken)
    {
        var body = await ReadAsync("GetUser", [new("UserName", userName)], cancellationToken);
        return body is null ? null : IamUser.Parse(body, connection.BackendType);
    }

    /// <summary>Adds or overwrites tags on a user (other tags stay).</summary>
    public Task TagUserAsync(string userName, IReadOnlyList<IamTag> tags, CancellationToken cancellationToken)
    {
        var parameters = new List<KeyValuePair<string, string>> { new("UserName", userName) };
        AddTags(parameters, tags);
        return WriteAsync("TagUser", [.. parameters], cancellationToken);
    }

    /// <summary>False when the user was already absent. IAM refuses (409 DeleteConflict) while the user has keys or policies.</summary>
    public Task<bool> DeleteUserAsync(string userName, CancellationToken cancellationToken) =>
        DeleteAsync("DeleteUser", [new("UserName", userName)], cancellationToken);

    /// <summary>
    /// A new access key made by IAM (it cannot import one). IAM allows two per user: a third is refused with 400
    /// LimitExceeded, raised as <see cref="BackendRequestRejectedException"/> with that code.
    /// </summary>
    public async Task<AwsCredentials> CreateAccessKeyAsync(string userName, CancellationToken cancellationToken)
    {
        var response = await connection.PostFormAsync(Service, "CreateAccessKey", Version, isWrite: true, [new("UserName", userName)], cancellationToken);
        if (!response.IsSuccess)
        {
            throw connection.Failure("CreateAccessKey", response);
        }

        var document = Parse(response.Body, connection.BackendType);
        var id = Element(document, "AccessKeyId");
        var secret = Element(document, "SecretAccessKey");
        return string.IsNullOrEmpty(id) || string.IsNullOrEmpty(secret)
            ? throw new BackendRequestRejectedException($"{connection.BackendType} CreateAccessKey: the answer lacks the key")
            : new AwsCredentials(id, secret);
    }

    /// <summary>Access key ids of the user (active or not); empty when the user does not exist.</summary>
    public async Task<IReadOnlyList<string>> ListAccessKeysAsync(string userName, CancellationToken cancellationToken)
    {
        var body = await ReadAsync("ListAccessKeys", [new("UserName", userName)], cancellationToken);
        return body is null
            ? []
            : [.. body.Descendants().Where(e => e.Name.LocalName == "AccessKeyMetadata").Descendants()
                .Where(e => e.Name.LocalName == "AccessKeyId").Select(e => e.Value.Trim()).Order(StringComparer.Ordinal)];
    }

    /// <summary>False when the key (or its user) was already absent.</summary>
    public Task<bool> DeleteAccessKeyAsync(string userName, string accessKeyId, CancellationToken cancellationToken) =>
        DeleteAsync("DeleteAccessKey", [new("UserName", userName), new("AccessKeyId", accessKeyId)], cancellationToken);

    // ---- inline user policies ----

    public async Task PutUserPolicyAsync(string userName, string policyName, string document, CancellationToken cancellationToken) =>
        await WriteAsync("PutUserPolicy", [new("UserName", userName), new("PolicyName", policyName), new("PolicyDocument", document)], cancellationToken);

    /// <summary>The policy document (decoded: AWS sends it URL-encoded), or null when the user or the policy does not exist.</summary>
    public async Task<string?> GetUserPolicyAsync(string userName, string policyName, CancellationToken cancellationToken)
    {
        var body = await ReadAsync("GetUserPolicy", [new("UserName", userName), new("PolicyName", policyName)], cancellationToken);
        return body is null ? null : PolicyDocument(Element(body, "PolicyDocument"));
    }

    /// <summary>Names of the user's inline policies; empty when it has none (RGW answers 404 then) or does not exist.</summary>
    public async Task<IReadOnlyList<string>> ListUserPoliciesAsync(string userName, CancellationToken cancellationToken)
    {
        var body = await ReadAsync("ListUserPolicies", [new("UserName", userName)], cancellationToken);
        return body is null ? [] : Members(body, "PolicyNames");
    }

    /// <summary>False when the policy was already absent.</summary>
    public Task<bool> DeleteUserPolicyAsync(string userName, string policyName, CancellationToken cancellationToken) =>
        DeleteAsync("DeleteUserPolicy", [new("UserName", userName), new("PolicyName", policyName)], cancellationToken);

    /// <summary>ARNs of the managed policies attached to the user; empty when none or the user does not exist.</summary>
    public async Task<IReadOnlyList<string>> ListAttachedUserPoliciesAsync(string userName, CancellationToken cancellationToken)
    {
        var body = await ReadAsync("ListAttachedUserPolicies", [new("UserName", userName)], cancellationToken);
        return body is null ? [] : Values(body, "PolicyArn");
    }

    /// <summary>False when the policy was not attached (or the user is gone).</summary>
    public Task<bool> DetachUserPolicyAsync(string userName, string policyArn, CancellationToken cancellationToken) =>
        DeleteAsync("DetachUserPolicy", [new("UserName", userName), new("PolicyArn", policyArn)], cancellationToken);

    /// <summary>Names of the groups the user belongs to (a group's policies apply to it too); empty when none or no user.</summary>
    public async Task<IReadOnlyList<string>> ListGroupsForUserAsync(string userName, CancellationToken cancellationToken)
    {
        var body = await ReadAsync("ListGroupsForUser", [new("UserName", userName)], cancellationToken);
        return body is null ? [] : Values(body, "GroupName");
    }

    /// <summary>False when the user was not in the group (or either is gone).</summary>
    public Task<bool> RemoveUserFromGroupAsync(string userName, string groupName, CancellationToken cancellationToken) =>
        DeleteAsync("RemoveUserFromGroup", [new("UserName", userName), new("GroupName", groupName)], cancellationToken);

    // ---- roles, for STS AssumeRole ----

    /// <summary>Creates a role. Returns null when a role of that name already exists (read it with <see cref="GetRoleAsync"/>).</summary>
    /// <param name="path">The role's path (AWS); null leaves IAM's default "/".</param>
    public async Task<IamRole?> CreateRoleAsync(string roleName, string trustPolicy, TimeSpan maxSessionDuration, CancellationToken cancellationToken,
        string? path = null, IReadOnlyList<IamTag>? tags = null)
    {
        var parameters = new List<KeyValuePair<string, string>>
        {
            new("RoleName", roleName),
            new("AssumeRolePolicyDocument", trustPolicy),
            new("MaxSessionDuration", ((long)maxSessionDuration.TotalSeconds).ToString(CultureInfo.InvariantCulture)),
        };
        if (path is not null)
        {
            parameters.Add(new("Path", path));
        }

        AddTags(parameters, tags ?? []);
        var response = await connection.PostFormAsync(Service, "CreateRole", Version, isWrite: true, parameters, cancellationToken);
        if (response.StatusCode == 409)
        {
            return null; // EntityAlreadyExists
        }

        return response.IsSuccess ? IamRole.Parse(Parse(response.Body, connection.BackendType), connection.BackendType) : throw connection.Failure("CreateRole", response);
    }

    /// <summary>The role, or null when it does not exist.</summary>
    public async Task<IamRole?> GetRoleAsync(string roleName, CancellationToken cancellationToken)
    {
        var body = await ReadAsync("GetRole", [new("RoleName", roleName)], cancellationToken);
        return body is null ? null : IamRole.Parse(body, connection.BackendType);
    }

    /// <summary>Replaces the role's trust policy (who may assume it).</summary>
    public Task UpdateAssumeRolePolicyAsync(string roleName, string trustPolicy, CancellationToken cancellationToken) =>
        WriteAsync("UpdateAssumeRolePolicy", [new("RoleName", roleName), new("PolicyDocument", trustPolicy)], cancellationToken);

    /// <summary>False when the role was already absent. RGW and IAM refuse (409 DeleteConflict) while the role still has policies.</summary>
    public Task<bool> DeleteRoleAsync(string roleName, CancellationToken cancellationToken) =>
        DeleteAsync("DeleteRole", [new("RoleName", roleName)], cancellationToken);

    public Task PutRolePolicyAsync(string roleName, string policyName, string document, CancellationToken cancellationToken) =>
        WriteAsync("PutRolePolicy", [new("RoleName", roleName), new("PolicyName", policyName), new("PolicyDocument", document)], cancellationToken);

    /// <summary>The role's inline policy document (decoded), or null when the role or the policy does not exist.</summary>
    public async Task<string?> GetRolePolicyAsync(string roleName, string policyName, CancellationToken cancellationToken)
    {
        var body = await ReadAsync("GetRolePolicy", [new("RoleName", roleName), new("PolicyName", policyName)], cancellationToken);
        return body is null ? null : PolicyDocument(Element(body, "PolicyDocument"));
    }

    /// <summary>Names of the role's inline policies; empty when none or the role does not exist.</summary>
    public async Task<IReadOnlyList<string>> ListRolePoliciesAsync(string roleName, CancellationToken cancellationToken)
    {
        var body = await ReadAsync("ListRolePolicies", [new("RoleName", roleName)], cancellationToken);
        return body is null ? [] : Members(body, "PolicyNames");
    }

    public Task<bool> DeleteRolePolicyAsync(string roleName, string policyName, CancellationToken cancellationToken) =>
        DeleteAsync("DeleteRolePolicy", [new("RoleName", roleName), new("PolicyName", policyName)], cancellationToken);

    /// <summary>ARNs of the managed policies attached to the role; empty when none or the role does not exist.</summary>
    public async Task<IReadOnlyList<string>> ListAttachedRolePoliciesAsync(string roleName, CancellationToken cancellationToken)
    {
        var body = await ReadAsync("ListAttachedRolePolicies", [new("RoleName", roleName)], cancellationToken);
        return body is null ? [] : Values(body, "PolicyArn");
    }

    public Task<bool> DetachRolePolicyAsync(string roleName, string policyArn, CancellationToken cancellationToken) =>
        DeleteAsync("DetachRolePolicy", [new("RoleName", roleName), new("PolicyArn", policyArn)], cancellationToken);

    private async Task<XDocument?> ReadAsync(string action, KeyValuePair<string, string>[] parameters, CancellationToken cancellationToken)
    {
        var response = await connection.PostFormAsync(Service, action, Version, isWrite: false, parameters, cancellationToken);
        if (response.StatusCode == 404)
        {
            // NoSuchEntity. RGW sometimes wraps this error inside a half-written success document, so go by status alone.
            return null;
        }

        return response.IsSuccess ? Parse(response.Body, connection.BackendType) : throw connection.Failure(action, response);
    }

    private async Task WriteAsync(string action, KeyValuePair<string, string>[] parameters, CancellationToken cancellationToken)
    {
        var response = await connection.PostFormAsync(Service, action, Version, isWrite: true, parameters, cancellationToken);
        if (!response.IsSuccess)
        {
            throw connection.Failure(action, response);
        }
    }

    private async Task<bool> DeleteAsync(string action, KeyValuePair<string, string>[] parameters, CancellationToken cancellationToken)
    {
        var response = await connection.PostFormAsync(Service, action, Version, isWrite: true, parameters, cancellationToken);
        if (response.StatusCode == 404)
        {
            return false;
        }

        return response.IsSuccess ? true : throw connection.Failure(action, response);
    }

    private static void AddTags(List<KeyValuePair<string, string>> parameters, IReadOnlyList<IamTag> tags)
    {
        for (var i = 0; i < tags.Count; i++)
        {
            var n = (i + 1).ToString(CultureInfo.InvariantCulture);
            parameters.Add(new($"Tags.member.{n}.Key", tags[i].Key));
            parameters.Add(new($"Tags.member.{n}.Value", tags[i].Value));
        }
    }

    /// <summary>AWS (and moto) send policy documents URL-encoded (RFC 3986); RGW sends them as they are. JSON starts with '{'.</summary>
    internal static string? PolicyDocument(string? text)
    {
        var trimmed = text?.Trim();
        return trimmed is null || trimmed.StartsWith('{') ? trimmed : Uri.UnescapeDataString(trimmed);
    }

    internal static XDocument Parse(byte[] body, string backendType)
    {
        try
        {
            return XDocument.Parse(Encoding.UTF8.GetString(body));
        }
        catch (XmlException ex)
        {
            throw new BackendRequestRejectedException($"{backendType}: unreadable XML answer ({ex.Message})");
        }
    }

    /// <summary>The first element of that local name, trimmed (RGW's answers carry no namespace, AWS's do).</summary>
    internal static string? Element(XContainer document, string localName) =>
        document.Descendants().FirstOrDefault(e => e.Name.LocalName == localName)?.Value.Trim();

    private static List<string> Values(XDocument document, string localName) =>
        document.Descendants().Where(e => e.Name.LocalName == localName).Select(e => e.Value.Trim()).ToList();

    private static List<string> Members(XDocument document, string listName) =>
        document.Descendants().Where(e => e.Name.LocalName == listName)
            .SelectMany(list => list.Elements().Where(m => m.Name.LocalName == "member"))
            .Select(m => m.Value.Trim())
            .ToList();
}

/// <summary>An IAM tag (key ≤ 128, value ≤ 256 characters of letters, digits, spaces and <c>_.:/=+-@</c>).</summary>
public sealed record IamTag(string Key, string Value);

/// <summary>An IAM user as GetUser reports it.</summary>
public sealed record IamUser(string UserName, string Path, string Arn, IReadOnlyList<IamTag> Tags)
{
    internal static IamUser Parse(XDocument document, string backendType)
    {
        var user = document.Descendants().FirstOrDefault(e => e.Name.LocalName == "User")
            ?? throw new BackendRequestRejectedException($"{backendType}: user answer without a User element");
        var tags = user.Elements().Where(e => e.Name.LocalName == "Tags").Elements()
            .Select(m => new IamTag(IamClient.Element(m, "Key") ?? string.Empty, IamClient.Element(m, "Value") ?? string.Empty))
            .ToList();
        return new IamUser(IamClient.Element(user, "UserName") ?? string.Empty, IamClient.Element(user, "Path") ?? "/",
            IamClient.Element(user, "Arn") ?? string.Empty, tags);
    }
}

/// <summary>An IAM role as RGW or AWS reports it; the trust policy decoded.</summary>
public sealed record IamRole(string RoleName, string Arn, string TrustPolicy, TimeSpan MaxSessionDuration)
{
    internal static IamRole Parse(XDocument document, string backendType)
    {
        var role = document.Descendants().FirstOrDefault(e => e.Name.LocalName == "Role")
            ?? throw new BackendRequestRejectedException($"{backendType}: role answer without a Role element");
        var maxSession = IamClient.Element(role, "MaxSessionDuration");
        return new IamRole(
            IamClient.Element(role, "RoleName") ?? string.Empty,
            IamClient.Element(role, "Arn") ?? string.Empty,
            IamClient.PolicyDocument(IamClient.Element(role, "AssumeRolePolicyDocument")) ?? string.Empty,
            TimeSpan.FromSeconds(long.TryParse(maxSession, NumberStyles.Integer, CultureInfo.InvariantCulture, out var seconds) ? seconds : 3600));
    }
}
