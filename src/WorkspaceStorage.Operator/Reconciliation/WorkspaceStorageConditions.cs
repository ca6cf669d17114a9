namespace WorkspaceStorage.Operator.Reconciliation;

/// <summary>Condition types and reasons the operator uses beyond kstatus's three and the shared reasons.</summary>
public static class WorkspaceStorageConditions
{
    /// <summary>True while a replaced key is still valid (its grace period runs); False otherwise.</summary>
    public const string CredentialsRotating = "CredentialsRotating";

    public const string WorkspaceAlreadyClaimed = "WorkspaceAlreadyClaimed";
    public const string AdminCredentialsRejected = "AdminCredentialsRejected";
    public const string RotationComplete = "RotationComplete";
}
