using WorkspaceStorage.Core.Workspaces;
using WorkspaceStorage.Core.Policies;

namespace WorkspaceStorage.Core.Model;

/// <summary>A broken rule: the field path (<c>spec.workspace</c>) and what the rule says.</summary>
public sealed record FieldError(string Field, string Rule)
{
    public override string ToString() => $"{Field}: {Rule}";
}

/// <summary>The outcome of validating a resource: the resolved value, or the errors (never both).</summary>
public sealed record ValidationResult<T>
    where T : class
{
    internal ValidationResult(T? value, IReadOnlyList<FieldError> errors)
    {
        Value = value;
        Errors = errors;
    }

    public T? Value { get; }

    public IReadOnlyList<FieldError> Errors { get; }

    public bool IsValid => Value is not null;

    /// <summary>All errors on one line, for a Stalled condition's message or an event.</summary>
    public string Message => string.Join("; ", Errors);
}

public static class ValidationResult
{
    public static ValidationResult<T> Valid<T>(T value)
        where T : class => new(value, []);

    public static ValidationResult<T> Invalid<T>(IReadOnlyList<FieldError> errors)
        where T : class =>
        errors.Count > 0 ? new(null, errors) : throw new ArgumentException("an invalid result needs at least one error", nameof(errors));
}

/// <summary>A WorkspaceStorage with every default applied and every field checked: what the reconciler works from.</summary>
public sealed record ValidatedWorkspaceStorage(
    WorkspaceId Workspace,
    string? BackendName,
    AccessLevel Access,
    string SecretName,
    IReadOnlySet<SecretKeySet> KeySets,
    TimeSpan? RotationInterval,
    TimeSpan RotationGracePeriod,
    ExistingSecretReference? ExistingSecret,
    DeletionPolicy DeletionPolicy)
{
    /// <summary>What spec.quota asks for (parsed; not yet held to the backend's ceiling or filled from its default).</summary>
    public QuotaLimits Quota { get; init; } = QuotaLimits.None;
}

/// <summary>A StorageBackend with every default applied and every field checked.</summary>
public sealed record ValidatedStorageBackend(
    string Name,
    StorageBackendType Type,
    string Endpoint,
    string PublicEndpoint,
    string Region,
    string Bucket,
    AdminCredentialsSecretReference AdminCredentialsSecret,
    bool PathStyle,
    string? CaBundle,
    BucketCorsRule? Cors)
{
    /// <summary>spec.quota: the default and the ceiling of workspace quotas.</summary>
    public BackendQuota Quota { get; init; } = BackendQuota.None;
}
