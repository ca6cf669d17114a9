using System.Globalization;
using System.Text;
using System.Xml;
using System.Xml.Linq;
using WorkspaceStorage.Storage.Backends;
using WorkspaceStorage.Storage.Http;

namespace WorkspaceStorage.Storage.CephRgw;

/// <summary>
/// The IAM subset RGW (Pacific) serves on its S3 endpoint, signed by the admin with service "iam": inline user
/// policies (the admin needs <c>user-policy=*</c>) and roles for STS (<c>roles=*</c>). "Not found" is a value
/// (null, false, empty), never an exception, so callers can read before they write.
/// </summary>
public sealed class RgwIamClient(RgwConnection connection)
{
    private const string Service = "iam";
    private const string Version = "2010-05-08";

    public async Task PutUserPolicyAsync(string userName, string policyName, string document, CancellationToken cancellationToken) =>
        await WriteAsync("PutUserPolicy", [new("UserName", userName), new("PolicyName", policyName), new("PolicyDocument", document)], cancellationToken);

    /// <summary>The policy document, or null when the user or the policy does not exist.</summary>
    public async Task<string?> GetUserPolicyAsync(string userName, string policyName, CancellationToken cancellationToken)
    {
        var body = await ReadAsync("GetUserPolicy", [new("UserName", userName), new("PolicyName", policyName)], cancellationToken);
        return body is null ? null : Element(body, "PolicyDocument");
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

    /// <summary>Creates a role. Returns null when a role of that name already exists (read it with <see cref="GetRoleAsync"/>).</summary>
    public async Task<RgwRole?> CreateRoleAsync(string roleName, string trustPolicy, TimeSpan maxSessionDuration, CancellationToken cancellationToken)
    {
        var response = await connection.PostFormAsync(Service, "CreateRole", Version, isWrite: true,
        [
            new("RoleName", roleName),
            new("AssumeRolePolicyDocument", trustPolicy),
            new("MaxSessionDuration", ((long)maxSessionDuration.TotalSeconds).ToString(CultureInfo.InvariantCulture)),
        ], cancellationToken);
        if (response.StatusCode == 409)
        {
            return null; // EntityAlreadyExists
        }

        return response.IsSuccess ? RgwRole.Parse(Parse(response.Body)) : throw RgwConnection.Failure("CreateRole", response);
    }

    /// <summary>The role, or null when it does not exist.</summary>
    public async Task<RgwRole?> GetRoleAsync(string roleName, CancellationToken cancellationToken)
    {
        var body = await ReadAsync("GetRole", [new("RoleName", roleName)], cancellationToken);
        return body is null ? null : RgwRole.Parse(body);
    }

    /// <summary>Replaces the role's trust policy (who may assume it).</summary>
    public Task UpdateAssumeRolePolicyAsync(string roleName, string trustPolicy, CancellationToken cancellationToken) =>
        WriteAsync("UpdateAssumeRolePolicy", [new("RoleName", roleName), new("PolicyDocument", trustPolicy)], cancellationToken);

    /// <summary>False when the role was already absent. RGW refuses (409 DeleteConflict) while the role still has policies.</summary>
    public Task<bool> DeleteRoleAsync(string roleName, CancellationToken cancellationToken) =>
        DeleteAsync("DeleteRole", [new("RoleName", roleName)], cancellationToken);

    public Task PutRolePolicyAsync(string roleName, string policyName, string document, CancellationToken cancellationToken) =>
        WriteAsync("PutRolePolicy", [new("RoleName", roleName), new("PolicyName", policyName), new("PolicyDocument", document)], cancellationToken);

    /// <summary>The role's inline policy document, or null when the role or the policy does not exist.</summary>
    public async Task<string?> GetRolePolicyAsync(string roleName, string policyName, CancellationToken cancellationToken)
    {
        var body = await ReadAsync("GetRolePolicy", [new("RoleName", roleName), new("PolicyName", policyName)], cancellationToken);
        return body is null ? null : Element(body, "PolicyDocument");
    }

    /// <summary>Names of the role's inline policies; empty when none or the role does not exist.</summary>
    public async Task<IReadOnlyList<string>> ListRolePoliciesAsync(string roleName, CancellationToken cancellationToken)
    {
        var body = await ReadAsync("ListRolePolicies", [new("RoleName", roleName)], cancellationToken);
        return body is null ? [] : Members(body, "PolicyNames");
    }

    public Task<bool> DeleteRolePolicyAsync(string roleName, string policyName, CancellationToken cancellationToken) =>
        DeleteAsync("DeleteRolePolicy", [new("RoleName", roleName), new("PolicyName", policyName)], cancellationToken);

    private async Task<XDocument?> ReadAsync(string action, KeyValuePair<string, string>[] parameters, CancellationToken cancellationToken)
    {
        var response = await connection.PostFormAsync(Service, action, Version, isWrite: false, parameters, cancellationToken);
        if (response.StatusCode == 404)
        {
            // NoSuchEntity. RGW sometimes wraps this error inside a half-written success document, so go by status alone.
            return null;
        }

        return response.IsSuccess ? Parse(response.Body) : throw RgwConnection.Failure(action, response);
    }

    private async Task WriteAsync(string action, KeyValuePair<string, string>[] parameters, CancellationToken cancellationToken)
    {
        var response = await connection.PostFormAsync(Service, action, Version, isWrite: true, parameters, cancellationToken);
        if (!response.IsSuccess)
        {
            throw RgwConnection.Failure(action, response);
        }
    }

    private async Task<bool> DeleteAsync(string action, KeyValuePair<string, string>[] parameters, CancellationToken cancellationToken)
    {
        var response = await connection.PostFormAsync(Service, action, Version, isWrite: true, parameters, cancellationToken);
        if (response.StatusCode == 404)
        {
            return false;
        }

        return response.IsSuccess ? true : throw RgwConnection.Failure(action, response);
    }

    internal static XDocument Parse(byte[] body)
    {
        try
        {
            return XDocument.Parse(Encoding.UTF8.GetString(body));
        }
        catch (XmlException ex)
        {
            throw new BackendRequestRejectedException($"{RgwConnection.BackendType}: unreadable XML answer ({ex.Message})");
        }
    }

    /// <summary>The first element of that local name (RGW's answers carry no namespace, AWS's do).</summary>
    internal static string? Element(XContainer document, string localName) =>
        document.Descendants().FirstOrDefault(e => e.Name.LocalName == localName)?.Value;

    private static List<string> Members(XDocument document, string listName) =>
        document.Descendants().Where(e => e.Name.LocalName == listName)
            .SelectMany(list => list.Elements().Where(m => m.Name.LocalName == "member"))
            .Select(m => m.Value)
            .ToList();
}

/// <summary>An IAM role as RGW reports it.</summary>
public sealed record RgwRole(string RoleName, string Arn, string TrustPolicy, TimeSpan MaxSessionDuration)
{
    internal static RgwRole Parse(XDocument document)
    {
        var role = document.Descendants().FirstOrDefault(e => e.Name.LocalName == "Role")
            ?? throw new BackendRequestRejectedException($"{RgwConnection.BackendType}: role answer without a Role element");
        var maxSession = RgwIamClient.Element(role, "MaxSessionDuration");
        return new RgwRole(
            RgwIamClient.Element(role, "RoleName") ?? string.Empty,
            RgwIamClient.Element(role, "Arn") ?? string.Empty,
            RgwIamClient.Element(role, "AssumeRolePolicyDocument") ?? string.Empty,
            TimeSpan.FromSeconds(long.TryParse(maxSession, NumberStyles.Integer, CultureInfo.InvariantCulture, out var seconds) ? seconds : 3600));
    }
}
