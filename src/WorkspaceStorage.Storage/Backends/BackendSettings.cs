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
    /// <summary>The settings of a validated StorageBackend, with its admin key: the operator and the companion build clients from the same.</summary>
    public static BackendSettings For(ValidatedStorageBackend backend, AwsCredentials admin)
    {
        ArgumentNullException.ThrowIfNull(backend);
        var location = LocationOf(backend);
        return new BackendSettings(backend.Type, location.Endpoint, location.PublicEndpoint, location.Region, location.Bucket, admin, location.PathStyle,
            backend.CaBundle);
    }

    /// <summary>Where a validated StorageBackend's bucket is (its endpoints as the validator normalized and defaulted them).</summary>
    public static S3Location LocationOf(ValidatedStorageBackend backend)
    {
        ArgumentNullException.ThrowIfNull(backend);
        return new S3Location(new Uri(backend.Endpoint), new Uri(backend.PublicEndpoint), backend.Region, backend.Bucket, backend.PathStyle);
    }

    public S3Location Location => new(Endpoint, PublicEndpoint, Region, Bucket, PathStyle);

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
