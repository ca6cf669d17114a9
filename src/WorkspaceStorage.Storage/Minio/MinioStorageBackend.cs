using System.Security.Cryptography;
using System.Text;
using Microsoft.Extensions.Logging;
using WorkspaceStorage.Core.Credentials;
using WorkspaceStorage.Core.Policies;
using WorkspaceStorage.Core.Signing;
using WorkspaceStorage.Core.Workspaces;
using WorkspaceStorage.Storage.Backends;
using WorkspaceStorage.Storage.S3;

namespace WorkspaceStorage.Storage.Minio;

/// <summary>
/// Workspace identities on a MinIO-API server (MinIO, AIStor, pgsty/silo, RustFS):
/// <list type="bullet">
/// <item>identity: a MinIO user named <see cref="BackendNames.Identity"/> whose own secret is random and thrown away
/// (nobody signs with it), with the canned policy <see cref="BackendNames.Policy"/> attached and nothing else;</item>
/// <item>long-lived keys: service accounts of that user with the caller's key pair and no session policy (they inherit
/// the user's policy, so a policy repair reaches them all); rotation adds a second one, revocation deletes one;</item>
/// <item>temporary credentials: service accounts with an expiration and a session policy for the requested access
/// (MinIO intersects it with the parent's, so it can narrow but never widen).</item>
/// </list>
/// Every Ensure reads first and writes only drift.
/// </summary>
public sealed class MinioStorageBackend : IStorageBackend
{
    /// <summary>MinIO refuses a service account that expires sooner.</summary>
    public static readonly TimeSpan MinTemporaryLifetime = TemporaryCredentialLimits.Minimum;

    /// <summary>MinIO refuses a service account that expires later.</summary>
    public static readonly TimeSpan MaxTemporaryLifetime = TimeSpan.FromDays(365);

    /// <summary>
    /// Lifetimes within this margin above the minimum are raised to it, so that transit time and clock skew do not
    /// push the expiration under MinIO's 15 minutes on arrival.
    /// </summary>
    public static readonly TimeSpan MinimumLifetimeMargin = TimeSpan.FromMinutes(1);

    public const int MaxCannedPolicyBytes = 20 * 1024;
    public const int MaxSessionPolicyBytes = 4096;
    public const string TemporaryNamePrefix = "wsotmp-";

    private const int MinAccessKeyLength = 3;
    private const int MaxKeyLength = 128;
    private const int MinSecretKeyLength = 8;

    private readonly MinioAdminClient admin;
    private readonly IAdminBucketOperations buckets;
    private readonly ILogger<MinioStorageBackend> logger;
    private readonly TimeProvider clock;

    public MinioStorageBackend(MinioAdminClient admin, IAdminBucketOperations buckets, S3Location location, ILogger<MinioStorageBackend> logger,
        TimeProvider? time = null)
    {
        ArgumentNullException.ThrowIfNull(admin);
        ArgumentNullException.ThrowIfNull(buckets);
        ArgumentNullException.ThrowIfNull(location);
        ArgumentNullException.ThrowIfNull(logger);
        this.admin = admin;
        this.buckets = buckets;
        Location = location;
        this.logger = logger;
        clock = time ?? TimeProvider.System;
    }

    public string Type => MinioAdminClient.BackendType;

    public S3Location Location { get; }

    public Task<EnsureOutcome> EnsureBucketAsync(CancellationToken cancellationToken) => buckets.EnsureBucketAsync(cancellationToken);

    public Task<EnsureOutcome> EnsureBucketCorsAsync(BucketCorsRule rule, CancellationToken cancellationToken) => buckets.EnsureCorsAsync(rule, cancellationToken);

    public Task<EnsureOutcome> RemoveBucketCorsAsync(string ruleId, CancellationToken cancellationToken) => buckets.RemoveCorsAsync(ruleId, cancellationToken);

    public Task<WorkspaceStorage.Core.Model.UsageFigures> MeasureUsageAsync(WorkspaceId workspace, int maxPages, CancellationToken cancellationToken) =>
        buckets.MeasurePrefixAsync((workspace ?? throw new ArgumentNullException(nameof(workspace))).Prefix, maxPages, cancellationToken);

    public async Task<EnsureOutcome> EnsureIdentityAsync(WorkspaceId workspace, AccessLevel access, CancellationToken cancellationToken)
    {
        var names = Names(workspace);
        var policy = Policy(workspace, access, MaxCannedPolicyBytes, "policy");

        var updated = false;
        var user = await admin.GetUserInfoAsync(names.Identity, cancellationToken);
        if (user is null)
        {
            await admin.AddUserAsync(names.Identity, UnusedSecret(), enabled: true, cancellationToken);
            logger.LogInformation("Created MinIO user {Identity} for workspace {Workspace}", names.Identity, workspace.Value);
        }
        else if (!user.Enabled)
        {
            await admin.SetUserStatusAsync(names.Identity, enabled: true, cancellationToken);
            logger.LogInformation("Re-enabled MinIO user {Identity}", names.Identity);
            updated = true;
        }

        var existing = await admin.GetCannedPolicyAsync(names.Policy, cancellationToken);
        if (existing is null || !PolicyDocumentComparer.AreEquivalent(existing.PolicyJson, policy))
        {
            await admin.AddCannedPolicyAsync(names.Policy, policy, cancellationToken);
            logger.LogInformation("{Action} MinIO policy {Policy} ({Access})", existing is null ? "Created" : "Repaired", names.Policy, access);
            updated = true;
        }

        var attached = user?.Policies ?? [];
        if (!attached.Contains(names.Policy, StringComparer.Ordinal))
        {
            updated |= await admin.AttachPolicyAsync(MinioPolicyTarget.User(names.Identity), [names.Policy], cancellationToken);
            logger.LogInformation("Attached {Policy} to {Identity}", names.Policy, names.Identity);
        }

        // Least privilege: the identity holds our policy and nothing else (someone may have attached "readwrite").
        var extra = attached.Where(p => !string.Equals(p, names.Policy, StringComparison.Ordinal)).ToArray();
        if (extra.Length > 0)
        {
            updated |= await admin.DetachPolicyAsync(MinioPolicyTarget.User(names.Identity), extra, cancellationToken);
            logger.LogWarning("Detached foreign policies {Policies} from {Identity}", string.Join(',', extra), names.Identity);
        }

        return user is null ? EnsureOutcome.Created : updated ? EnsureOutcome.Updated : EnsureOutcome.Unchanged;
    }

    public async Task<EnsureOutcome> EnsureKeyAsync(WorkspaceId workspace, AwsCredentials key, CancellationToken cancellationToken)
    {
        var names = Names(workspace);
        ValidateKey(key);

        var existing = await admin.GetServiceAccountAsync(key.AccessKeyId, cancellationToken);
        if (existing is null)
        {
            await admin.AddServiceAccountAsync(new MinioServiceAccountRequest(names.Identity, key)
            {
                Description = Truncate($"long-lived key of workspace {workspace.Value}", 256),
            }, cancellationToken);
            logger.LogInformation("Added key {AccessKeyId} to {Identity}", key.AccessKeyId, names.Identity);
            return EnsureOutcome.Created;
        }

        if (!string.Equals(existing.ParentUser, names.Identity, StringComparison.Ordinal))
        {
            throw new BackendValidationException("key.AccessKeyId", "already belongs to another MinIO identity");
        }

        if (existing.Expiration is not null)
        {
            throw new BackendValidationException("key.AccessKeyId", "names temporary credentials, not a long-lived key");
        }

        // MinIO never returns a secret: a disabled key is rewritten whole; an enabled one is checked by signing with it.
        if (existing.Enabled && await admin.AcceptsCredentialsAsync(key, cancellationToken))
        {
            return EnsureOutcome.Unchanged;
        }

        await admin.UpdateServiceAccountAsync(key.AccessKeyId, new MinioServiceAccountUpdate
        {
            NewPolicyJson = existing.SessionPolicyJson, // omitting it would drop a session policy
            NewSecretKey = key.SecretAccessKey,
            NewStatus = "on",
        }, cancellationToken);
        logger.LogInformation("Updated key {AccessKeyId} of {Identity}", key.AccessKeyId, names.Identity);
        return EnsureOutcome.Updated;
    }

    public async Task<IReadOnlyList<string>> ListKeysAsync(WorkspaceId workspace, CancellationToken cancellationToken)
    {
        var names = Names(workspace);
        var accounts = await admin.ListServiceAccountsAsync(names.Identity, cancellationToken);
        return
        [
            .. accounts
                .Where(a => !a.Expires && !(a.Name?.StartsWith(TemporaryNamePrefix, StringComparison.Ordinal) ?? false))
                .Where(a => a.ParentUser is null || string.Equals(a.ParentUser, names.Identity, StringComparison.Ordinal))
                .Select(a => a.AccessKey)
                .Order(StringComparer.Ordinal),
        ];
    }

    public async Task<EnsureOutcome> RevokeKeyAsync(WorkspaceId workspace, string accessKeyId, CancellationToken cancellationToken)
    {
        var names = Names(workspace);
        ValidateAccessKey(accessKeyId, "accessKeyId");

        var existing = await admin.GetServiceAccountAsync(accessKeyId, cancellationToken);
        if (existing is null)
        {
            return EnsureOutcome.Unchanged;
        }

        if (!string.Equals(existing.ParentUser, names.Identity, StringComparison.Ordinal))
        {
            throw new BackendValidationException("accessKeyId", $"is not a key of workspace {workspace.Value}");
        }

        var deleted = await admin.DeleteServiceAccountAsync(accessKeyId, cancellationToken);
        if (deleted)
        {
            logger.LogInformation("Revoked key {AccessKeyId} of {Identity}", accessKeyId, names.Identity);
        }

        return deleted ? EnsureOutcome.Deleted : EnsureOutcome.Unchanged;
    }

    public async Task<TemporaryCredentials> IssueTemporaryCredentialsAsync(WorkspaceId workspace, AccessLevel access, TimeSpan lifetime,
        CancellationToken cancellationToken)
    {
        var names = Names(workspace);
        if (lifetime < MinTemporaryLifetime)
        {
            throw new BackendValidationException("lifetime", $"must be at least {MinTemporaryLifetime.TotalMinutes:0} minutes on MinIO (got {lifetime})");
        }

        if (lifetime > MaxTemporaryLifetime)
        {
            throw new BackendValidationException("lifetime", $"must be at most {MaxTemporaryLifetime.TotalDays:0} days on MinIO (got {lifetime})");
        }

        var sessionPolicy = Policy(workspace, access, MaxSessionPolicyBytes, "session policy");
        var floor = MinTemporaryLifetime + MinimumLifetimeMargin;
        var expiration = TruncateToSeconds(clock.GetUtcNow() + (lifetime < floor ? floor : lifetime));
        var name = TemporaryNamePrefix + Convert.ToHexStringLower(RandomNumberGenerator.GetBytes(8));
        var issued = await admin.AddServiceAccountAsync(new MinioServiceAccountRequest(names.Identity, AccessKeyGenerator.Generate())
        {
            SessionPolicyJson = sessionPolicy,
            Name = name,
            Description = Truncate($"temporary {access} credentials of workspace {workspace.Value}", 256),
            Expiration = expiration,
        }, cancellationToken);
        logger.LogInformation("Issued temporary {Access} credentials {AccessKeyId} for {Identity} until {Expiration}",
            access, issued.Credentials.AccessKeyId, names.Identity, expiration);
        return new TemporaryCredentials(issued.Credentials, issued.Expiration ?? expiration);
    }

    public async Task<EnsureOutcome> DeleteWorkspaceAsync(WorkspaceId workspace, DataDeletion data, CancellationToken cancellationToken)
    {
        var names = Names(workspace);
        var changed = false;

        foreach (var account in await admin.ListServiceAccountsAsync(names.Identity, cancellationToken))
        {
            changed |= await admin.DeleteServiceAccountAsync(account.AccessKey, cancellationToken);
        }

        var user = await admin.GetUserInfoAsync(names.Identity, cancellationToken);
        if (user is not null && user.Policies.Contains(names.Policy, StringComparer.Ordinal))
        {
            changed |= await admin.DetachPolicyAsync(MinioPolicyTarget.User(names.Identity), [names.Policy], cancellationToken);
        }

        changed |= await RemovePolicyAsync(names.Policy, cancellationToken);
        changed |= await admin.RemoveUserAsync(names.Identity, cancellationToken);

        changed |= await buckets.DeleteDataIfAskedAsync(workspace, data, logger, cancellationToken);

        if (changed)
        {
            logger.LogInformation("Deleted MinIO identity {Identity} of workspace {Workspace}", names.Identity, workspace.Value);
        }

        return changed ? EnsureOutcome.Deleted : EnsureOutcome.Unchanged;
    }

    /// <summary>
    /// Removes the workspace policy. Someone may have attached it to another user or group by hand, and MinIO refuses to
    /// remove a policy in use: then (only then, it costs an encrypted read) detach it from every entity and try again.
    /// </summary>
    private async Task<bool> RemovePolicyAsync(string policy, CancellationToken cancellationToken)
    {
        try
        {
            return await admin.RemoveCannedPolicyAsync(policy, cancellationToken);
        }
        catch (MinioAdminException ex) when (ex.ErrorCode == MinioAdminException.PolicyInUse)
        {
            var entities = await admin.GetPolicyEntitiesAsync(null, null, [policy], cancellationToken);
            foreach (var mapping in entities.PolicyMappings.Where(m => string.Equals(m.Policy, policy, StringComparison.Ordinal)))
            {
                foreach (var user in mapping.Users)
                {
                    await admin.DetachPolicyAsync(MinioPolicyTarget.User(user), [policy], cancellationToken);
                    logger.LogWarning("Detached {Policy} from foreign user {User} before removing it", policy, user);
                }

                foreach (var group in mapping.Groups)
                {
                    await admin.DetachPolicyAsync(MinioPolicyTarget.Group(group), [policy], cancellationToken);
                    logger.LogWarning("Detached {Policy} from group {Group} before removing it", policy, group);
                }
            }

            return await admin.RemoveCannedPolicyAsync(policy, cancellationToken);
        }
    }

    public async Task<BackendHealth> CheckHealthAsync(CancellationToken cancellationToken)
    {
        try
        {
            var status = await admin.CheckLivenessAsync(cancellationToken);
            if (status is < 200 or >= 300)
            {
                return new BackendHealth(false, $"{admin.Endpoint} liveness probe answered HTTP {status}");
            }

            await admin.ServerInfoAsync(cancellationToken);
            return new BackendHealth(true, $"{admin.Endpoint} is live and accepts the admin credentials");
        }
        catch (BackendAuthenticationException ex)
        {
            return new BackendHealth(false, $"{admin.Endpoint} refused the admin credentials ({ex.ErrorCode ?? ex.StatusCode?.ToString(System.Globalization.CultureInfo.InvariantCulture)})");
        }
        catch (StorageBackendException ex)
        {
            return new BackendHealth(false, ex.Message);
        }
    }

    private static BackendNames Names(WorkspaceId workspace)
    {
        if (workspace is null)
        {
            throw new BackendValidationException("workspace", "must be given");
        }

        // WorkspaceId validates on construction; checked again because these names go into MinIO verbatim.
        if (WorkspaceId.Validate(workspace.Value) is { } rule)
        {
            throw new BackendValidationException("workspace", rule);
        }

        return BackendNames.For(workspace);
    }

    private string Policy(WorkspaceId workspace, AccessLevel access, int limit, string field)
    {
        if (!Enum.IsDefined(access))
        {
            throw new BackendValidationException("access", "must be ReadOnly or ReadWrite");
        }

        var policy = WorkspacePolicyBuilder.Build(Location.Bucket, workspace, access);
        var size = Encoding.UTF8.GetByteCount(policy);
        return size <= limit ? policy : throw new BackendValidationException(field, $"is {size} bytes; MinIO allows at most {limit}");
    }

    private static void ValidateKey(AwsCredentials? key)
    {
        if (key is null)
        {
            throw new BackendValidationException("key", "must be given");
        }

        ValidateAccessKey(key.AccessKeyId, "key.AccessKeyId");
        if (key.SessionToken is not null)
        {
            throw new BackendValidationException("key", "must be a long-lived key pair, not session credentials");
        }

        var secret = key.SecretAccessKey;
        if (secret is null || secret.Length is < MinSecretKeyLength or > MaxKeyLength || !secret.All(c => c is > ' ' and < '\u007f'))
        {
            // Never echo the secret, not even its characters.
            throw new BackendValidationException("key.SecretAccessKey",
                $"must be {MinSecretKeyLength} to {MaxKeyLength} printable ASCII characters without spaces");
        }
    }

    private static void ValidateAccessKey(string? accessKey, string field)
    {
        if (accessKey is null || accessKey.Length is < MinAccessKeyLength or > MaxKeyLength)
        {
            throw new BackendValidationException(field, $"must be {MinAccessKeyLength} to {MaxKeyLength} characters long");
        }

        if (!accessKey.All(c => c is > ' ' and < '\u007f' and not '=' and not ','))
        {
            throw new BackendValidationException(field, "may contain only printable ASCII characters other than space, '=' and ','");
        }
    }

    /// <summary>The identity user's own secret: required by add-user, never stored, never used.</summary>
    private static string UnusedSecret() => AccessKeyGenerator.Generate().SecretAccessKey;

    private static DateTimeOffset TruncateToSeconds(DateTimeOffset time) => new(time.Ticks - (time.Ticks % TimeSpan.TicksPerSecond), time.Offset);

    private static string Truncate(string text, int length) => text.Length <= length ? text : text[..length];
}
