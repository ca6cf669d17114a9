using WorkspaceStorage.Core.Model;
using WorkspaceStorage.Core.Signing;

namespace WorkspaceStorage.Storage.Backends;

/// <summary>
/// A backend cannot be used until someone changes its configuration (missing StorageBackend or admin Secret, invalid
/// field): retrying soon will not help. <see cref="Field"/> names the field to fix; the message never holds a secret.
/// What that means for a resource's status is the operator's business, not the storage layer's.
/// </summary>
public sealed class BackendConfigurationException(string field, string rule)
    : Exception($"{field}: {rule}")
{
    public string Field { get; } = field;

    public string Rule { get; } = rule;
}

/// <summary>Everything needed to talk to one backend, from a StorageBackend + its admin Secret or from the command line.</summary>
public sealed record BackendSettings(
    StorageBackendType Type,
    Uri Endpoint,
    Uri PublicEndpoint,
    string Region,
    string Bucket,
    AwsCredentials AdminCredentials,
    bool PathStyle,
    string? CaBundle)
{
    public override string ToString() => $"BackendSettings {{ Type = {Type}, Endpoint = {Endpoint}, Bucket = {Bucket}, Admin = {AdminCredentials.AccessKeyId} }}";
}

/// <summary>Builds backend clients. One per process; it owns the connection pools.</summary>
public interface IStorageBackendFactory
{
    /// <summary>A backend for <paramref name="settings"/>. Dispose the result when the configuration is replaced.</summary>
    OwnedBackend Create(BackendSettings settings);
}

/// <summary>A backend and whatever it alone holds (a TLS-specific HTTP client, say).</summary>
public sealed class OwnedBackend(IStorageBackend backend, IDisposable? resources = null) : IDisposable
{
    public IStorageBackend Backend { get; } = backend;

    public void Dispose() => resources?.Dispose();
}
