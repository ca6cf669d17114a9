using WorkspaceStorage.Core.Model;
using WorkspaceStorage.Resources;
using WorkspaceStorage.Operator.BackendResolution;
using WorkspaceStorage.Storage.Backends;

namespace WorkspaceStorage.Operator.Reconciliation;

/// <summary>What a failed backend call means for a resource's status.</summary>
/// <param name="Reason">The condition reason.</param>
/// <param name="Message">The condition message, naming the field to fix when there is one.</param>
/// <param name="Stalled">True when only the user can fix it (Stalled, retried slowly); false when it is transient
/// (Reconciling, and the work queue backs off and retries).</param>
public sealed record BackendFailure(string Reason, string Message, bool Stalled)
{
    /// <summary>
    /// The one mapping from backend errors to conditions, for every reconciler. Null when <paramref name="error"/> is
    /// not a backend failure (a Kubernetes error, a bug): those propagate unchanged.
    /// </summary>
    /// <param name="adminCredentialsField">The field that leads to the admin credentials, as seen from the resource
    /// being reconciled (spec.backendRef for a WorkspaceStorage, spec.adminCredentialsSecretRef for a StorageBackend).</param>
    /// <param name="unusableMessage">How the resolver's refusal of a backend reads from that resource (defaults to its message).</param>
    public static BackendFailure? From(Exception error, string adminCredentialsField, Func<BackendNotUsableException, string>? unusableMessage = null) =>
        error switch
        {
            BackendNotUsableException unusable => new(unusable.Reason, unusableMessage?.Invoke(unusable) ?? unusable.Message, Stalled: true),
            BackendConfigurationException config => new(ConditionReasons.InvalidSpec, config.Message, Stalled: true),
            BackendAuthenticationException auth => new(WorkspaceStorageConditions.AdminCredentialsRejected,
                $"{adminCredentialsField}: the backend refused the admin credentials ({auth.Message})", Stalled: true),
            StorageBackendException { IsTransient: false } rejected => new(ConditionReasons.BackendRejected, rejected.Message, Stalled: true),
            StorageBackendException unavailable => new(ConditionReasons.BackendUnavailable, unavailable.Message, Stalled: false),
            _ => null,
        };

    /// <summary>Writes this failure into <paramref name="status"/>; true when that changed anything.</summary>
    public bool ApplyTo(IConditionedStatus status, long? generation, DateTimeOffset now) => Stalled
        ? status.MarkStalled(generation, Reason, Message, now)
        : status.MarkUnavailable(generation, Reason, Message, now);
}
