using WorkspaceStorage.Core.Credentials;
using System.Security.Cryptography;
using Microsoft.Extensions.Logging;
using WorkspaceStorage.Core.Policies;
using WorkspaceStorage.Core.Signing;
using WorkspaceStorage.Core.Workspaces;
using WorkspaceStorage.Storage.Backends;
using WorkspaceStorage.Storage.Http;
using WorkspaceStorage.Storage.Iam;
using WorkspaceStorage.Storage.S3;

namespace WorkspaceStorage.Storage.CephRgw;

/// <summary>
/// Workspace identities on Ceph RGW (measured on Pacific 16.2.15). Per workspace W:
/// <list type="bullet">
/// <item>an RGW user (<see cref="RgwNames.Identity"/>) with <c>max-buckets=-1</c> and the caller's long-lived keys;</item>
/// <item>an inline IAM user policy (<see cref="RgwNames.Policy"/>, restored after every key change because RGW drops it then) from <see cref="WorkspacePolicyBuilder"/>;</item>
/// <item>an IAM role (<see cref="RgwNames.Role"/>) with the same policy, trusted only for the admin user, which
/// assumes it for temporary credentials with a session policy for the requested access: the session's rights are
/// role ∩ session policy, so a session can narrow but never leave W (a wide session policy was measured to grant nothing more).</item>
/// </list>
/// </summary>
public sealed class CephRgwStorageBackend : IStorageBackend
{
    /// <summary>RGW limits IAM role names to 64 characters (<see cref="IamLimits"/>); user and policy names share the same bound here.</summary>
    public const int MaxNameLength = IamLimits.MaxNameLength;

    private const string IdentityHint = "call EnsureIdentityAsync first";

    private readonly CephRgwBackendOptions options;
    private readonly RgwAdminOpsClient admin;
    private readonly IamClient iam;
    private readonly StsClient sts;
    private readonly IamConvergence convergence;
    private readonly IAdminBucketOperations buckets;
    private readonly ILogger<CephRgwStorageBackend> logger;
    private readonly LookupOnce<RgwUser> adminUser;

    public CephRgwStorageBackend(CephRgwBackendOptions options, HttpClient http, IAdminBucketOperations buckets,
        IBackendCallObserver observer, ILogger<CephRgwStorageBackend> logger, TimeProvider? time = null)
    {
        ArgumentNullException.ThrowIfNull(options);
        options.Retry.Validate();
        if (options.MaxSessionDuration < TemporaryCredentialLimits.Minimum || options.MaxSessionDuration > TemporaryCredentialLimits.Maximum)
        {
            throw new BackendValidationException(nameof(options.MaxSessionDuration), $"must be between {TemporaryCredentialLimits.Minimum.TotalSeconds} s and {TemporaryCredentialLimits.Maximum.TotalHours} h");
        }

        this.options = options;
        this.buckets = buckets;
        this.logger = logger;
        var sender = new SignedHttpSender(http, new SigV4Signer(), options.Retry, observer, RgwConnection.BackendType, time);
        var connection = new RgwConnection(options.Location.Endpoint, options.Location.Region, options.Admin, sender);
        admin = new RgwAdminOpsClient(connection);
        iam = new IamClient(connection.Query);
        sts = new StsClient(connection.Query);
        convergence = new IamConvergence(iam, RgwConnection.BackendType, logger);
        adminUser = new LookupOnce<RgwUser>(async token => await admin.GetUserByAccessKeyAsync(options.Admin.AccessKeyId, token)
            ?? throw new BackendAuthenticationException($"{RgwConnection.BackendType}: the admin access key {options.Admin.AccessKeyId} belongs to no user"));
    }

    public string Type => RgwConnection.BackendType;

    public S3Location Location => options.Location;

    public Task<EnsureOutcome> EnsureBucketAsync(CancellationToken cancellationToken) => buckets.EnsureBucketAsync(cancellationToken);

    public Task<EnsureOutcome> EnsureBucketCorsAsync(BucketCorsRule rule, CancellationToken cancellationToken) => buckets.EnsureCorsAsync(rule, cancellationToken);

    public Task<EnsureOutcome> RemoveBucketCorsAsync(string ruleId, CancellationToken cancellationToken) => buckets.RemoveCorsAsync(ruleId, cancellationToken);

    public Task<WorkspaceStorage.Core.Model.UsageFigures> MeasureUsageAsync(WorkspaceId workspace, int maxPages, CancellationToken cancellationToken) =>
        buckets.MeasurePrefixAsync((workspace ?? throw new ArgumentNullException(nameof(workspace))).Prefix, maxPages, cancellationToken);

    public async Task<EnsureOutcome> EnsureIdentityAsync(WorkspaceId workspace, AccessLevel access, CancellationToken cancellationToken)
    {
        var names = CheckLimits(workspace);
        var policy = WorkspacePolicyBuilder.Build(options.Location.Bucket, workspace, access);
        var outcome = EnsureOutcome.Unchanged;

        var user = await admin.GetUserAsync(names.Identity, cancellationToken);
        if (user is null)
        {
            if (await admin.CreateUserAsync(names.Identity, workspace.Value, cancellationToken))
            {
                logger.LogInformation("Created RGW user {Identity} for workspace {Workspace}", names.Identity, workspace.Value);
                outcome = EnsureOutcome.Created;
            }
        }
        else if (user.MaxBuckets != -1 || user.Suspended)
        {
            await admin.ModifyUserAsync(names.Identity, cancellationToken);
            logger.LogWarning("Repaired RGW user {Identity}: max-buckets was {MaxBuckets}, suspended {Suspended}", names.Identity, user.MaxBuckets, user.Suspended);
            outcome = Raise(outcome, EnsureOutcome.Updated);
        }

        if (await convergence.EnsureOnlyUserPolicyAsync(names.Identity, names.Policy, policy, managedPolicies: false, cancellationToken))
        {
            outcome = Raise(outcome, EnsureOutcome.Updated);
        }

        var trust = TrustPolicy((await AdminUserAsync(cancellationToken)).Arn);
        return await convergence.EnsureRoleAsync(names.Role, trust, options.MaxSessionDuration, path: null, tags: [], names.Policy, policy,
            managedPolicies: false, cancellationToken)
            ? Raise(outcome, EnsureOutcome.Updated)
            : outcome;
    }

    public async Task<EnsureOutcome> EnsureKeyAsync(WorkspaceId workspace, AwsCredentials key, CancellationToken cancellationToken)
    {
        var names = CheckLimits(workspace);
        CheckKey(key);
        var user = await admin.GetUserAsync(names.Identity, cancellationToken)
            ?? throw new BackendRequestRejectedException($"{Type} add-key: workspace {workspace.Value} has no identity yet; {IdentityHint}");
        var existing = user.Keys.FirstOrDefault(k => k.AccessKey == key.AccessKeyId);
        if (existing is not null && CryptographicOperations.FixedTimeEquals(
                System.Text.Encoding.UTF8.GetBytes(existing.SecretKey), System.Text.Encoding.UTF8.GetBytes(key.SecretAccessKey)))
        {
            return EnsureOutcome.Unchanged;
        }

        await admin.AddKeyAsync(names.Identity, key, cancellationToken);
        await RestoreUserPolicyAsync(names, cancellationToken);
        logger.LogInformation("{Action} key {AccessKeyId} of RGW user {Identity}", existing is null ? "Added" : "Re-secreted", key.AccessKeyId, names.Identity);
        return existing is null ? EnsureOutcome.Created : EnsureOutcome.Updated;
    }

    public async Task<IReadOnlyList<string>> ListKeysAsync(WorkspaceId workspace, CancellationToken cancellationToken) =>
        await admin.ListKeysAsync(CheckLimits(workspace).Identity, cancellationToken);

    public async Task<EnsureOutcome> RevokeKeyAsync(WorkspaceId workspace, string accessKeyId, CancellationToken cancellationToken)
    {
        var names = CheckLimits(workspace);
        if (string.IsNullOrWhiteSpace(accessKeyId))
        {
            throw new BackendValidationException(nameof(accessKeyId), "must not be empty");
        }

        if (!await admin.RemoveKeyAsync(names.Identity, accessKeyId, cancellationToken))
        {
            return EnsureOutcome.Unchanged;
        }

        await RestoreUserPolicyAsync(names, cancellationToken);

        logger.LogInformation("Revoked key {AccessKeyId} of RGW user {Identity}", accessKeyId, names.Identity);
        return EnsureOutcome.Deleted;
    }

    public async Task<TemporaryCredentials> IssueTemporaryCredentialsAsync(WorkspaceId workspace, AccessLevel access, TimeSpan lifetime,
        CancellationToken cancellationToken)
    {
        var names = CheckLimits(workspace);
        return await WorkspaceSessions.AssumeAsync(sts, Type, async () => RoleArn(names, (await AdminUserAsync(cancellationToken)).Tenant), options.Location.Bucket, workspace, access, lifetime, options.MaxSessionDuration,
            logger, cancellationToken);
    }

    public async Task<EnsureOutcome> DeleteWorkspaceAsync(WorkspaceId workspace, DataDeletion data, CancellationToken cancellationToken)
    {
        var names = CheckLimits(workspace);
        var changed = false;

        // Keys first: access ends at once, even if a later step fails and the next reconcile has to finish the job.
        foreach (var key in await admin.ListKeysAsync(names.Identity, cancellationToken))
        {
            changed |= await admin.RemoveKeyAsync(names.Identity, key, cancellationToken);
        }

        changed |= await convergence.StripUserAsync(names.Identity, managedPolicies: false, cancellationToken);

        // RGW refuses to delete a role that still has policies (409 DeleteConflict): they go first.
        changed |= await convergence.DeleteRoleAsync(names.Role, managedPolicies: false, cancellationToken);
        changed |= await admin.RemoveUserAsync(names.Identity, cancellationToken);

        changed |= await buckets.DeleteDataIfAskedAsync(workspace, data, logger, cancellationToken);

        if (changed)
        {
            logger.LogInformation("Deleted RGW identity {Identity} of workspace {Workspace} (data {Data})", names.Identity, workspace.Value, data);
        }

        return changed ? EnsureOutcome.Deleted : EnsureOutcome.Unchanged;
    }

    public Task<BackendHealth> CheckHealthAsync(CancellationToken cancellationToken) =>
        BackendHealthProbe.RunAsync(Type, options.Location.Endpoint, async () =>
        {
            var self = await admin.GetUserByAccessKeyAsync(options.Admin.AccessKeyId, cancellationToken);
            return self is null
                ? new BackendHealth(false, $"{Type} at {options.Location.Endpoint}: the admin access key {options.Admin.AccessKeyId} belongs to no user")
                : new BackendHealth(true, $"{Type} at {options.Location.Endpoint}: admin user {self.UserId} accepted");
        });

    /// <summary>
    /// RGW Pacific drops a user's IAM policies whenever the Admin Ops API rewrites the user (add key, remove key,
    /// modify: measured), which would leave a rotated key with no rights at all. The role keeps the same document
    /// out of harm's way, so copy it back. Between the two calls the user has no policy: access fails closed.
    /// </summary>
    private async Task RestoreUserPolicyAsync(RgwNames names, CancellationToken cancellationToken)
    {
        var policy = await iam.GetRolePolicyAsync(names.Role, names.Policy, cancellationToken);
        if (policy is null)
        {
            logger.LogWarning("RGW role {Role} has no policy to restore onto user {Identity}; the next EnsureIdentity repairs it", names.Role, names.Identity);
            return;
        }

        await iam.PutUserPolicyAsync(names.Identity, names.Policy, policy, cancellationToken);
    }

    /// <summary>The admin user (its uid and tenant name the trust principal and the role ARNs), looked up once from its access key.</summary>
    private Task<RgwUser> AdminUserAsync(CancellationToken cancellationToken) => adminUser.GetAsync(cancellationToken);

    private static string TrustPolicy(string principalArn) =>
        $$"""{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Principal":{"AWS":["{{principalArn}}"]},"Action":["sts:AssumeRole"]}]}""";

    /// <summary>Roles live in the tenant of the admin that created them.</summary>
    private static string RoleArn(RgwNames names, string tenant) => $"arn:aws:iam::{tenant}:role/{names.Role}";

    private RgwNames CheckLimits(WorkspaceId workspace)
    {
        ArgumentNullException.ThrowIfNull(workspace);
        var names = RgwNames.For(workspace, MaxNameLength);
        if (names.Role.Length > MaxNameLength || names.Policy.Length > MaxNameLength)
        {
            throw new BackendValidationException("workspace", $"maps to names longer than RGW's {MaxNameLength} characters");
        }

        IamLimits.CheckPolicyLength(WorkspacePolicyBuilder.Build(options.Location.Bucket, workspace, AccessLevel.ReadWrite));

        return names;
    }

    private static void CheckKey(AwsCredentials key)
    {
        ArgumentNullException.ThrowIfNull(key);
        if (key.AccessKeyId.Length is < 16 or > 128 || !key.AccessKeyId.All(char.IsAsciiLetterOrDigit))
        {
            throw new BackendValidationException("accessKeyId", "must be 16-128 ASCII letters or digits");
        }

        if (key.SecretAccessKey.Length is < 16 or > 128 || key.SecretAccessKey.Any(c => c is < '!' or > '~'))
        {
            throw new BackendValidationException("secretAccessKey", "must be 16-128 printable ASCII characters without spaces");
        }

        if (key.SessionToken is not null)
        {
            throw new BackendValidationException("sessionToken", "must be empty: a long-lived key has no session token");
        }
    }

    private static EnsureOutcome Raise(EnsureOutcome current, EnsureOutcome next) =>
        current == EnsureOutcome.Created || next == EnsureOutcome.Unchanged ? current : next == EnsureOutcome.Created ? next : EnsureOutcome.Updated;
}
