using Microsoft.Extensions.Logging;
using WorkspaceStorage.Storage.Backends;

namespace WorkspaceStorage.Storage.Iam;

/// <summary>
/// Read-compare-write for the IAM entities both IAM-speaking backends (Ceph RGW, AWS) keep per workspace: one inline
/// policy on a user or role and nothing else that could widen it, and a role with the expected trust policy. Each
/// method reads first and writes only what differs, so a clean identity costs reads only; each returns whether it wrote.
/// </summary>
public sealed class IamConvergence(IamClient iam, string backendType, ILogger logger)
{
    /// <summary>Makes <paramref name="policyName"/> = <paramref name="policy"/> the user's only inline policy.</summary>
    /// <param name="managedPolicies">Also detach managed policies (AWS). RGW Pacific has no managed policies to list.</param>
    public async Task<bool> EnsureOnlyUserPolicyAsync(string userName, string policyName, string policy, bool managedPolicies,
        CancellationToken cancellationToken)
    {
        // Any other policy could widen the identity beyond W: remove strays, then converge ours.
        var owner = "user " + userName;
        var changed = await RemoveStraysAsync((await iam.ListUserPoliciesAsync(userName, cancellationToken)).Where(p => p != policyName),
            stray => iam.DeleteUserPolicyAsync(userName, stray, cancellationToken), "inline policy", owner);
        if (managedPolicies)
        {
            changed |= await RemoveStraysAsync(await iam.ListAttachedUserPoliciesAsync(userName, cancellationToken),
                attached => iam.DetachUserPolicyAsync(userName, attached, cancellationToken), "managed policy", owner);
            changed |= await RemoveStraysAsync(await iam.ListGroupsForUserAsync(userName, cancellationToken),
                group => iam.RemoveUserFromGroupAsync(userName, group, cancellationToken), "group membership", owner);
        }

        if (!PolicyJson.Equivalent(await iam.GetUserPolicyAsync(userName, policyName, cancellationToken), policy))
        {
            await iam.PutUserPolicyAsync(userName, policyName, policy, cancellationToken);
            logger.LogInformation("Set policy {Policy} on {Backend} user {Identity}", policyName, backendType, userName);
            changed = true;
        }

        return changed;
    }

    /// <summary>
    /// Creates the role or repairs its trust policy (a role of that name outside <paramref name="path"/> is refused, not
    /// adopted), then makes <paramref name="policyName"/> = <paramref name="policy"/>
    /// its only policy. <paramref name="path"/> and <paramref name="tags"/> apply on creation (null/empty: IAM's defaults).
    /// </summary>
    /// <param name="managedPolicies">Also detach managed policies (AWS).</param>
    public async Task<bool> EnsureRoleAsync(string roleName, string trust, TimeSpan maxSessionDuration, string? path, IReadOnlyList<IamTag> tags,
        string policyName, string policy, bool managedPolicies, CancellationToken cancellationToken)
    {
        var changed = false;
        var role = await iam.GetRoleAsync(roleName, cancellationToken);
        if (role is null)
        {
            if (await iam.CreateRoleAsync(roleName, trust, maxSessionDuration, cancellationToken, path, tags) is not null)
            {
                logger.LogInformation("Created {Backend} role {Role}", backendType, roleName);
                changed = true;
            }
        }
        else if (path is not null && !role.Arn.Contains(":role" + path, StringComparison.Ordinal))
        {
            // Someone else's role with our name: adopting it would rewrite what it trusts and may do.
            throw new BackendRequestRejectedException(
                $"{backendType}: IAM role {roleName} exists outside path {path} ({role.Arn}); it is not the operator's, so it is left alone (rename or delete it)");
        }
        else if (!PolicyJson.Equivalent(role.TrustPolicy, trust))
        {
            await iam.UpdateAssumeRolePolicyAsync(roleName, trust, cancellationToken);
            logger.LogWarning("Repaired the trust policy of {Backend} role {Role}", backendType, roleName);
            changed = true;
        }

        var owner = "role " + roleName;
        changed |= await RemoveStraysAsync((await iam.ListRolePoliciesAsync(roleName, cancellationToken)).Where(p => p != policyName),
            stray => iam.DeleteRolePolicyAsync(roleName, stray, cancellationToken), "inline policy", owner);
        if (managedPolicies)
        {
            changed |= await RemoveStraysAsync(await iam.ListAttachedRolePoliciesAsync(roleName, cancellationToken),
                attached => iam.DetachRolePolicyAsync(roleName, attached, cancellationToken), "managed policy", owner);
        }

        if (!PolicyJson.Equivalent(await iam.GetRolePolicyAsync(roleName, policyName, cancellationToken), policy))
        {
            await iam.PutRolePolicyAsync(roleName, policyName, policy, cancellationToken);
            changed = true;
        }

        return changed;
    }

    /// <summary>Removes each of <paramref name="strays"/> (all of them could widen W), logging each. True when there was any.</summary>
    private async Task<bool> RemoveStraysAsync(IEnumerable<string> strays, Func<string, Task<bool>> remove, string what, string owner)
    {
        var changed = false;
        foreach (var stray in strays)
        {
            await remove(stray);
            logger.LogWarning("Removed unexpected {What} {Name} from {Backend} {Owner}", what, stray, backendType, owner);
            changed = true;
        }

        return changed;
    }

    /// <summary>
    /// Takes every policy off the user (IAM refuses, 409 DeleteConflict, to delete a user that still has any) and, with
    /// <paramref name="managedPolicies"/>, its managed policies and groups. False when there was nothing.
    /// </summary>
    public async Task<bool> StripUserAsync(string userName, bool managedPolicies, CancellationToken cancellationToken)
    {
        var changed = false;
        foreach (var policy in await iam.ListUserPoliciesAsync(userName, cancellationToken))
        {
            changed |= await iam.DeleteUserPolicyAsync(userName, policy, cancellationToken);
        }

        if (managedPolicies)
        {
            foreach (var attached in await iam.ListAttachedUserPoliciesAsync(userName, cancellationToken))
            {
                changed |= await iam.DetachUserPolicyAsync(userName, attached, cancellationToken);
            }

            foreach (var group in await iam.ListGroupsForUserAsync(userName, cancellationToken))
            {
                changed |= await iam.RemoveUserFromGroupAsync(userName, group, cancellationToken);
            }
        }

        return changed;
    }

    /// <summary>Removes every policy of the role (IAM refuses to delete a role that has any), then the role. False when nothing was there.</summary>
    public async Task<bool> DeleteRoleAsync(string roleName, bool managedPolicies, CancellationToken cancellationToken)
    {
        var changed = false;
        foreach (var policy in await iam.ListRolePoliciesAsync(roleName, cancellationToken))
        {
            changed |= await iam.DeleteRolePolicyAsync(roleName, policy, cancellationToken);
        }

        if (managedPolicies)
        {
            foreach (var attached in await iam.ListAttachedRolePoliciesAsync(roleName, cancellationToken))
            {
                changed |= await iam.DetachRolePolicyAsync(roleName, attached, cancellationToken);
            }
        }

        return await iam.DeleteRoleAsync(roleName, cancellationToken) | changed;
    }
}
