using System.Security.Cryptography;
using Microsoft.Extensions.Logging;
using WorkspaceStorage.Core.Policies;
using WorkspaceStorage.Core.Workspaces;
using WorkspaceStorage.Storage.Backends;

namespace WorkspaceStorage.Storage.Iam;

/// <summary>
/// Temporary credentials of a workspace on the IAM-speaking backends (RGW, AWS): AssumeRole of W's own role with a
/// session policy for the requested access. The session's rights are role ∩ session policy, so it can narrow W's
/// rights but never leave W.
/// </summary>
public static class WorkspaceSessions
{
    /// <param name="roleArn">W's role, asked for only once the arguments are known to be valid (it may cost a lookup).</param>
    /// <param name="lifetime">Asked for; raised to STS's 900 s minimum, lowered to <paramref name="maxSessionDuration"/>; the expiration STS set is reported.</param>
    public static async Task<TemporaryCredentials> AssumeAsync(StsClient sts, string backendType, Func<Task<string>> roleArn, string bucket, WorkspaceId workspace,
        AccessLevel access, TimeSpan lifetime, TimeSpan maxSessionDuration, ILogger logger, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(sts);
        ArgumentNullException.ThrowIfNull(workspace);
        ArgumentNullException.ThrowIfNull(roleArn);
        if (lifetime <= TimeSpan.Zero)
        {
            throw new BackendValidationException(nameof(lifetime), "must be positive");
        }

        var seconds = Math.Ceiling(lifetime.TotalSeconds);
        var duration = TimeSpan.FromSeconds(Math.Clamp(seconds, StsClient.MinimumDuration.TotalSeconds, maxSessionDuration.TotalSeconds));
        var sessionPolicy = WorkspacePolicyBuilder.Build(bucket, workspace, access);
        var sessionName = "wso-" + Convert.ToHexStringLower(RandomNumberGenerator.GetBytes(8));
        try
        {
            var credentials = await sts.AssumeRoleAsync(await roleArn(), sessionName, duration, sessionPolicy, cancellationToken);
            logger.LogInformation("Issued {Access} temporary credentials {AccessKeyId} for workspace {Workspace} until {Expiration}",
                access, credentials.Credentials.AccessKeyId, workspace.Value, credentials.Expiration);
            return credentials;
        }
        catch (BackendRequestRejectedException ex) when (ex.StatusCode == 404 || ex.ErrorCode == "NoSuchEntity")
        {
            throw new BackendRequestRejectedException($"{backendType} AssumeRole: workspace {workspace.Value} has no role yet; call EnsureIdentityAsync first")
            {
                StatusCode = ex.StatusCode,
                ErrorCode = ex.ErrorCode,
            };
        }
    }
}
