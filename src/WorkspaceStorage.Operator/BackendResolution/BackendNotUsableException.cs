namespace WorkspaceStorage.Operator.BackendResolution;

/// <summary>
/// A WorkspaceStorage's backend cannot be used as it stands (its StorageBackend is missing, invalid, without an admin
/// key, or refused as a second name for a bucket): a configuration error like
/// <see cref="Storage.Backends.BackendConfigurationException"/>, found by the resolver, which knows the condition reason
/// to report (BackendNotFound, BackendNotReady, BackendConflict, InvalidSpec).
/// </summary>
public sealed class BackendNotUsableException(string field, string rule, string reason)
    : Exception($"{field}: {rule}")
{
    public string Field { get; } = field;

    public string Rule { get; } = rule;

    public string Reason { get; } = reason;
}
