using WorkspaceStorage.Core.Credentials;
using Microsoft.Extensions.Logging;
using WorkspaceStorage.Core.Policies;
using WorkspaceStorage.Core.Signing;
using WorkspaceStorage.Core.Workspaces;
using WorkspaceStorage.Storage.Backends;
using WorkspaceStorage.Storage.Http;
using WorkspaceStorage.Storage.Iam;
using WorkspaceStorage.Storage.S3;

namespace WorkspaceStorage.Storage.Aws;

/// <summary>
/// Workspace identities on AWS IAM (tested against moto 5.1.1). Per workspace W, all under <see cref="AwsBackendOptions.IamPath"/>:
/// <list type="bullet">
/// <item>an IAM user (<see cref="BackendNames.Identity"/>) tagged with W, whose only policy is the inline one from
/// <see cref="WorkspacePolicyBuilder"/> (the same rule as every backend: objects under <c>bucket/W/</c>, ListBucket only
/// with <c>s3:prefix</c> under <c>W/</c>); no managed policy, no group;</item>
/// <item>at most two access keys, made by IAM (<see cref="IServerIssuedKeys"/>: AWS cannot import a key);</item>
/// <item>an IAM role (<see cref="BackendNames.Role"/>) with the same inline policy, trusted only for the operator's own
/// principal, for temporary credentials.</item>
/// </list>
/// <para>
/// Why AssumeRole of a per-workspace role and not GetFederationToken: a federation token's rights are the
/// <em>caller's</em> rights intersected with the session policy, so the operator's wide IAM rights would be the only
/// ceiling and one bug in the session policy would reach every workspace; a role session's rights are the role's policy
/// (W's, nothing more) intersected with the session policy, so a session can narrow but never leave W, the same
/// guarantee as on Ceph RGW. GetFederationToken also needs long-lived IAM user credentials, so an operator running
/// under a role (EKS IRSA, an instance profile) could not call it; AssumeRole works for both. The cost is one role per
/// workspace (AWS's default quota is 1,000 roles per account; raise it for more workspaces).
/// </para>
/// </summary>
public sealed class AwsStorageBackend : IStorageBackend, IServerIssuedKeys
{
    public const string BackendType = "aws";

    /// <summary>User and role names: <see cref="IamLimits.MaxNameLength"/> characters of <c>[A-Za-z0-9+=,.@_-]</c>.</summary>
    public const int MaxNameLength = IamLimits.MaxNameLength;

    /// <summary>AWS allows two access keys per user; a third is refused with LimitExceeded.</summary>
    public const int MaxAccessKeys = 2;

    /// <summary>The tag that names the workspace on its user and role ('|' written as '_', as in the names: IAM tag values refuse '|').</summary>
    public const string WorkspaceTag = "hypha-workspace";

    private const string RefusedHint = "check the operator's IAM policy (README: the aws backend)";
    private const string IdentityHint = "call EnsureIdentityAsync first";

    private readonly AwsBackendOptions options;
    private readonly IamClient iam;
    private readonly StsClient sts;
    private readonly QueryApiConnection stsConnection;
    private readonly IamConvergence convergence;
    private readonly IAdminBucketOperations buckets;
    private readonly ILogger<AwsStorageBackend> logger;
    private readonly TimeProvider clock;
    private readonly LookupOnce<CallerIdentity> caller;

    public AwsStorageBackend(AwsBackendOptions options, HttpClient http, IAdminBucketOperations buckets,
        IBackendCallObserver observer, ILogger<AwsStorageBackend> logger, TimeProvider? time = null)
    {
        ArgumentNullException.ThrowIfNull(options);
        options.Retry.Validate();
        if (options.MaxSessionDuration < TimeSpan.FromHours(1) || options.MaxSessionDuration > TemporaryCredentialLimits.Maximum)
        {
            throw new BackendValidationException(nameof(options.MaxSessionDuration), "must be between 1 h and 12 h (AWS's bounds for a role)");
        }

        this.options = options;
        this.buckets = buckets;
        this.logger = logger;
        clock = time ?? TimeProvider.System;
        var endpoints = AwsEndpoints.For(options);
        var sender = new SignedHttpSender(http, new SigV4Signer(), options.Retry, observer, BackendType, time);
        iam = new IamClient(new QueryApiConnection(BackendType, endpoints.Iam, endpoints.IamRegion, options.Admin, sender, RefusedHint));
        stsConnection = new QueryApiConnection(BackendType, endpoints.Sts, endpoints.StsRegion, options.Admin, sender, RefusedHint);
        sts = new StsClient(stsConnection);
        convergence = new IamConvergence(iam, BackendType, logger);
        caller = new LookupOnce<CallerIdentity>(async token => await sts.GetCallerIdentityAsync(token)
            ?? throw new BackendAuthenticationException($"{BackendType}: STS GetCallerIdentity did not say who the operator is"));
    }

    public string Type => BackendType;

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
        var tags = Tags(workspace);
        var outcome = EnsureOutcome.Unchanged;

        var user = await iam.GetUserAsync(names.Identity, cancellationToken);
        if (user is null)
        {
            if (await iam.CreateUserAsync(names.Identity, AwsBackendOptions.IamPath, tags, cancellationToken))
            {
                logger.LogInformation("Created IAM user {Identity} for workspace {Workspace}", names.Identity, workspace.Value);
                outcome = EnsureOutcome.Created;
            }
        }
        else
        {
            if (user.Path != AwsBackendOptions.IamPath)
            {
                // Someone else's user with our name: adopting it would hand W whatever else it can do.
                throw new BackendRequestRejectedException(
                    $"{Type}: IAM user {names.Identity} exists under path {user.Path}, not {AwsBackendOptions.IamPath}; it is not the operator's, so it is left alone (rename or delete it)");
            }

            if (!tags.All(user.Tags.Contains))
            {
                await iam.TagUserAsync(names.Identity, tags, cancellationToken);
                logger.LogWarning("Repaired the tags of IAM user {Identity}", names.Identity);
                outcome = EnsureOutcome.Updated;
            }
        }

        if (await convergence.EnsureOnlyUserPolicyAsync(names.Identity, names.Policy, policy, managedPolicies: true, cancellationToken))
        {
            outcome = Raise(outcome);
        }

        var trust = TrustPolicy((await CallerAsync(cancellationToken)).Arn);
        return await convergence.EnsureRoleAsync(names.Role, trust, options.MaxSessionDuration, AwsBackendOptions.IamPath, tags, names.Policy, policy,
            managedPolicies: true, cancellationToken)
            ? Raise(outcome)
            : outcome;
    }

    /// <summary>
    /// AWS cannot import a key, so this only confirms one IAM already holds for W's user (Unchanged): the operator's own
    /// keys come from <see cref="CreateKeyAsync"/>, and a brought key must have been made for W's user
    /// (<c>aws iam create-access-key --user-name …</c>). IAM never shows a secret again, so the secret cannot be compared.
    /// </summary>
    public async Task<EnsureOutcome> EnsureKeyAsync(WorkspaceId workspace, AwsCredentials key, CancellationToken cancellationToken)
    {
        var names = CheckLimits(workspace);
        ArgumentNullException.ThrowIfNull(key);
        if (key.SessionToken is not null)
        {
            throw new BackendValidationException("sessionToken", "must be empty: a long-lived key has no session token");
        }

        var keys = await iam.ListAccessKeysAsync(names.Identity, cancellationToken);
        if (keys.Contains(key.AccessKeyId, StringComparer.Ordinal))
        {
            return EnsureOutcome.Unchanged;
        }

        if (keys.Count == 0 && await iam.GetUserAsync(names.Identity, cancellationToken) is null)
        {
            throw new BackendRequestRejectedException($"{Type} add-key: workspace {workspace.Value} has no identity yet; {IdentityHint}");
        }

        throw new BackendValidationException("accessKeyId",
            $"{key.AccessKeyId} is not a key of IAM user {names.Identity}: AWS IAM makes every access key itself and cannot import one; " +
            $"bring a key made with `aws iam create-access-key --user-name {names.Identity}`, or let the operator manage keys");
    }

    public async Task<AwsCredentials> CreateKeyAsync(WorkspaceId workspace, IReadOnlyCollection<string> keep, CancellationToken cancellationToken)
    {
        var names = CheckLimits(workspace);
        ArgumentNullException.ThrowIfNull(keep);
        var keys = await iam.ListAccessKeysAsync(names.Identity, cancellationToken);
        var remaining = keys.Count;
        foreach (var stray in keys.Where(k => !keep.Contains(k)))
        {
            // Delete before create: IAM refuses a third key (LimitExceeded), and a key no Secret names serves nobody.
            if (await iam.DeleteAccessKeyAsync(names.Identity, stray, cancellationToken))
            {
                logger.LogInformation("Revoked key {AccessKeyId} of IAM user {Identity} before making a new one", stray, names.Identity);
            }

            remaining--;
        }

        if (remaining >= MaxAccessKeys)
        {
            throw new BackendRequestRejectedException(
                $"{Type} CreateAccessKey: IAM user {names.Identity} already has {remaining} keys to keep and AWS allows {MaxAccessKeys}") { ErrorCode = "LimitExceeded" };
        }

        AwsCredentials key;
        try
        {
            key = await iam.CreateAccessKeyAsync(names.Identity, cancellationToken);
        }
        catch (BackendRequestRejectedException ex) when (ex.StatusCode == 404)
        {
            throw new BackendRequestRejectedException($"{Type} CreateAccessKey: workspace {workspace.Value} has no identity yet; {IdentityHint}")
            {
                StatusCode = ex.StatusCode,
                ErrorCode = ex.ErrorCode,
            };
        }

        logger.LogInformation("IAM made key {AccessKeyId} for user {Identity}", key.AccessKeyId, names.Identity);
        await AwsKeyPropagation.WaitUntilAcceptedAsync(new StsClient(stsConnection.As(key)), options.KeyPropagationBackoff,
            options.KeyPropagationTimeout, clock, logger, cancellationToken);
        return key;
    }

    public async Task<IReadOnlyList<string>> ListKeysAsync(WorkspaceId workspace, CancellationToken cancellationToken) =>
        await iam.ListAccessKeysAsync(CheckLimits(workspace).Identity, cancellationToken);

    public async Task<EnsureOutcome> RevokeKeyAsync(WorkspaceId workspace, string accessKeyId, CancellationToken cancellationToken)
    {
        var names = CheckLimits(workspace);
        if (string.IsNullOrWhiteSpace(accessKeyId))
        {
            throw new BackendValidationException(nameof(accessKeyId), "must not be empty");
        }

        if (!await iam.DeleteAccessKeyAsync(names.Identity, accessKeyId, cancellationToken))
        {
            return EnsureOutcome.Unchanged;
        }

        logger.LogInformation("Revoked key {AccessKeyId} of IAM user {Identity}", accessKeyId, names.Identity);
        return EnsureOutcome.Deleted;
    }

    public async Task<TemporaryCredentials> IssueTemporaryCredentialsAsync(WorkspaceId workspace, AccessLevel access, TimeSpan lifetime,
        CancellationToken cancellationToken)
    {
        var names = CheckLimits(workspace);
        return await WorkspaceSessions.AssumeAsync(sts, Type, async () =>
            {
                var self = await CallerAsync(cancellationToken);
                return $"arn:{Partition(self.Arn)}:iam::{self.Account}:role{AwsBackendOptions.IamPath}{names.Role}";
            }, options.Location.Bucket, workspace, access, lifetime, options.MaxSessionDuration,
            logger, cancellationToken);
    }

    public async Task<EnsureOutcome> DeleteWorkspaceAsync(WorkspaceId workspace, DataDeletion data, CancellationToken cancellationToken)
    {
        var names = CheckLimits(workspace);
        var changed = false;

        // Keys first: access ends at once, even if a later step fails and the next reconcile has to finish the job.
        foreach (var key in await iam.ListAccessKeysAsync(names.Identity, cancellationToken))
        {
            changed |= await iam.DeleteAccessKeyAsync(names.Identity, key, cancellationToken);
        }

        changed |= await convergence.StripUserAsync(names.Identity, managedPolicies: true, cancellationToken);
        changed |= await iam.DeleteUserAsync(names.Identity, cancellationToken);
        changed |= await convergence.DeleteRoleAsync(names.Role, managedPolicies: true, cancellationToken);
        changed |= await buckets.DeleteDataIfAskedAsync(workspace, data, logger, cancellationToken);

        if (changed)
        {
            logger.LogInformation("Deleted IAM identity {Identity} of workspace {Workspace} (data {Data})", names.Identity, workspace.Value, data);
        }

        return changed ? EnsureOutcome.Deleted : EnsureOutcome.Unchanged;
    }

    public Task<BackendHealth> CheckHealthAsync(CancellationToken cancellationToken) =>
        BackendHealthProbe.RunAsync(Type, options.Location.Endpoint, async () =>
        {
            var self = await sts.GetCallerIdentityAsync(cancellationToken);
            return self is null
                ? new BackendHealth(false, $"{Type} at {options.Location.Endpoint}: STS GetCallerIdentity answered without an identity")
                : new BackendHealth(true, $"{Type} at {options.Location.Endpoint}: operator principal {self.Arn} accepted");
        });

    /// <summary>
    /// Who may assume a workspace role: only the operator's own principal. An IAM user is named by its ARN. A role
    /// session (IRSA, instance profile) cannot be a principal, and the role's ARN would need its path, which the session
    /// ARN drops: the account is trusted instead, narrowed by <c>aws:PrincipalArn</c> to that role (with or without a path).
    /// </summary>
    internal static string TrustPolicy(string callerArn)
    {
        ArgumentException.ThrowIfNullOrWhiteSpace(callerArn);
        var parts = callerArn.Split(':', 6);
        if (parts.Length == 6 && parts[2] == "iam" && parts[5].StartsWith("user/", StringComparison.Ordinal))
        {
            return $$"""{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Principal":{"AWS":"{{callerArn}}"},"Action":"sts:AssumeRole"}]}""";
        }

        if (parts.Length == 6 && parts[2] == "sts" && parts[5].StartsWith("assumed-role/", StringComparison.Ordinal) && parts[5].Split('/') is [_, var role, ..])
        {
            var (partition, account) = (parts[1], parts[4]);
            var roleArn = $"arn:{partition}:iam::{account}:role/";
            return "{\"Version\":\"2012-10-17\",\"Statement\":[{\"Effect\":\"Allow\",\"Principal\":{\"AWS\":\"" + $"arn:{partition}:iam::{account}:root"
                + "\"},\"Action\":\"sts:AssumeRole\",\"Condition\":{\"ArnLike\":{\"aws:PrincipalArn\":[\"" + roleArn + role + "\",\"" + roleArn + "*/" + role
                + "\"]}}}]}";
        }

        throw new BackendConfigurationException("adminCredentialsSecretRef",
            $"the operator's credentials belong to {callerArn}, neither an IAM user nor a role session, so no workspace role can trust them");
    }

    private static IReadOnlyList<IamTag> Tags(WorkspaceId workspace) =>
        [new(WorkspaceTag, workspace.Value.Replace('|', '_')), new("managed-by", "workspace-storage-operator")];

    private static string Partition(string arn) => arn.Split(':') is [_, var partition, ..] ? partition : "aws";

    private static EnsureOutcome Raise(EnsureOutcome current) => current == EnsureOutcome.Created ? current : EnsureOutcome.Updated;

    /// <summary>The operator's own principal (for the trust policy and role ARNs), asked of STS once.</summary>
    private Task<CallerIdentity> CallerAsync(CancellationToken cancellationToken) => caller.GetAsync(cancellationToken);

    private BackendNames CheckLimits(WorkspaceId workspace)
    {
        ArgumentNullException.ThrowIfNull(workspace);
        var names = BackendNames.For(workspace, MaxNameLength);
        IamLimits.CheckPolicyLength(WorkspacePolicyBuilder.Build(options.Location.Bucket, workspace, AccessLevel.ReadWrite));
        return names;
    }

}
