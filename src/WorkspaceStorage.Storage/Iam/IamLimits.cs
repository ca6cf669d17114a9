using WorkspaceStorage.Storage.Backends;

namespace WorkspaceStorage.Storage.Iam;

/// <summary>
/// AWS IAM's limits, which every backend speaking the IAM API keeps (RGW is laxer, but staying under them keeps
/// policies portable), checked before any call: a permanent error rather than a LimitExceeded mid-reconcile.
/// </summary>
public static class IamLimits
{
    /// <summary>User, role and policy names: at most 64 characters.</summary>
    public const int MaxNameLength = 64;

    /// <summary>A user's inline policies and a session policy: at most 2,048 characters, whitespace excluded.</summary>
    public const int MaxPolicyLength = 2048;

    /// <summary>Throws a <see cref="BackendValidationException"/> on field "workspace" when <paramref name="policy"/> is over <see cref="MaxPolicyLength"/>.</summary>
    public static void CheckPolicyLength(string policy)
    {
        ArgumentNullException.ThrowIfNull(policy);
        var length = policy.Count(c => !char.IsWhiteSpace(c));
        if (length > MaxPolicyLength)
        {
            throw new BackendValidationException("workspace",
                $"makes an inline policy of {length} characters, more than AWS's {MaxPolicyLength} for a user's inline policies (use a shorter bucket name or workspace id)");
        }
    }
}
