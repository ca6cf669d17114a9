namespace WorkspaceStorage.Operator.Reconciliation;

/// <summary>Condition types and reasons the operator uses beyond kstatus's three and the shared reasons.</summary>
public static class WorkspaceStorageConditions
{
    /// <summary>True while a replaced key is still valid (its grace period runs); False otherwise.</summary>
    public const string CredentialsRotating = "CredentialsRotating";

    public const string WorkspaceAlreadyClaimed = "WorkspaceAlreadyClaimed";
    public const string AdminCredentialsRejected = "AdminCredentialsRejected";
    public const string RotationComplete = "RotationComplete";

    /// <summary>True while the workspace is at or over its quota (its identity then has no put); False under it.</summary>
    public const string QuotaExceeded = "QuotaExceeded";

    public const string OverQuota = "OverQuota";
    public const string WithinQuota = "WithinQuota";

    /// <summary>Stalled: spec.quota asks above the StorageBackend's spec.quota.ceiling.</summary>
    public const string QuotaAboveCeiling = "QuotaAboveCeiling";
}
