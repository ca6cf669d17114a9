using WorkspaceStorage.Core.Model;
using WorkspaceStorage.Core.Signing;

namespace WorkspaceStorage.Operator.Configuration;

/// <summary>
/// The backend used by WorkspaceStorages that name no <c>spec.backendRef</c>, from flags that mirror Hypha's
/// (<c>--endpoint-url</c>, <c>--endpoint-url-public</c>, <c>--access-key-id</c>, <c>--secret-access-key</c>,
/// <c>--s3-admin-type</c>, <c>--workspace-bucket</c>, <c>--region-name</c>), so a Hypha deployment's settings carry over.
/// </summary>
/// <remarks>ToString is safe: <see cref="AwsCredentials"/> never prints the secret key.</remarks>
/// <param name="Ceiling">Which namespaces may claim which workspaces on it (--allowed-claim, --allow-claims-from-any-namespace); null: none may.</param>
public sealed record DefaultBackendOptions(
    StorageBackendType Type,
    string Endpoint,
    string PublicEndpoint,
    string Region,
    string Bucket,
    AwsCredentials AdminCredentials,
    bool PathStyle,
    ClaimCeiling? Ceiling = null);

/// <summary>Process settings: leader election, probe and metrics ports, what to watch.</summary>
/// <param name="LeaderElectionNamespace">Where the Lease lives: the flag, else env POD_NAMESPACE (downward API); never null with <paramref name="LeaderElect"/>.</param>
/// <param name="PodName">This replica's identity in the Lease (env POD_NAME), or null to let the runner pick one.</param>
public sealed record OperatorOptions(
    DefaultBackendOptions? DefaultBackend,
    bool LeaderElect,
    string LeaderElectionId,
    string? LeaderElectionNamespace,
    string? PodName,
    int MetricsPort,
    int HealthPort,
    string? WatchNamespace)
{
    public bool HasDefaultBackend => DefaultBackend is not null;
}
