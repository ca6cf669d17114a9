using System.Collections.Concurrent;
using k8s.Models;
using WorkspaceStorage.Core.Signing;
using WorkspaceStorage.Kubernetes.Runtime;
using WorkspaceStorage.Resources;
using WorkspaceStorage.Storage.Backends;

namespace WorkspaceStorage.Api.Workspaces;

/// <summary>
/// The clients of each StorageBackend (temporary credentials, TTL bookkeeping), built with the operator's
/// <see cref="IStorageBackendFactory"/> from the StorageBackend and its admin Secret. The Secret is read on demand,
/// rechecked after <see cref="AdminSecretRecheck"/>, and the clients are rebuilt when the StorageBackend's generation
/// or the Secret's resourceVersion changes; while the Secret cannot be read the last clients are kept.
/// </summary>
internal sealed class BackendClientCache(IResourceClient<V1Secret> secretClient, IStorageBackendFactory factory, StorageBackendViews views,
    TimeProvider clock, ILogger logger) : IDisposable
{
    private readonly ConcurrentDictionary<string, BackendClients> clients = new(StringComparer.Ordinal);

    /// <summary>How long an admin Secret read is trusted before its resourceVersion is checked again (set once, at start).</summary>
    public TimeSpan AdminSecretRecheck { get; set; } = TimeSpan.FromSeconds(30);

    /// <summary>The clients of <paramref name="resource"/>; null when it is invalid.</summary>
    public async Task<BackendClients?> GetAsync(StorageBackendResource resource, CancellationToken cancellationToken)
    {
        var name = resource.Metadata.Name;
        if (views.Of(resource).Backend is not { } spec)
        {
            return null;
        }

        var now = clock.GetUtcNow();
        if (clients.TryGetValue(name, out var cached) && cached.Generation == resource.Metadata.Generation && now - cached.CheckedAt < AdminSecretRecheck)
        {
            return cached;
        }

        var secretRef = spec.AdminCredentialsSecret;
        V1Secret? secret = null;
        try
        {
            secret = await secretClient.GetAsync(new ResourceKey(secretRef.Namespace, secretRef.Name), cancellationToken);
        }
        catch (Exception ex) when (ex is not OperationCanceledException)
        {
            logger.LogWarning("Could not read the admin Secret {Namespace}/{Secret} of StorageBackend {Backend}: {Error}",
                secretRef.Namespace, secretRef.Name, name, ex.GetType().Name);
            if (cached is not null)
            {
                return cached;
            }
        }

        var version = $"{resource.Metadata.Generation}/{secret?.Metadata.ResourceVersion}";
        if (cached is not null && cached.Version == version)
        {
            var refreshed = cached with { CheckedAt = now };
            clients[name] = refreshed;
            return refreshed;
        }

        var location = BackendSettings.LocationOf(spec);
        var admin = secret is null ? null : AdminSecret.Credentials(secret, secretRef);
        OwnedBackend? owned = null;
        ITemporaryCredentialIssuer issuer = NoTemporaryCredentialIssuer.Instance;
        if (admin is not null)
        {
            owned = factory.Create(BackendSettings.For(spec, admin));
            issuer = new BackendTemporaryCredentialIssuer(owned.Backend);
            logger.LogInformation("Built backend client for StorageBackend {Backend} (generation {Generation})", name, resource.Metadata.Generation);
        }
        else
        {
            logger.LogWarning("StorageBackend {Backend}: admin Secret {Namespace}/{Secret} missing or incomplete; no temporary credentials or TTL",
                name, secretRef.Namespace, secretRef.Name);
        }

        var entry = new BackendClients(resource.Metadata.Generation, version, now, location, admin, issuer, owned);
        if (clients.TryGetValue(name, out var previous) && !ReferenceEquals(previous, entry))
        {
            // In-flight calls may still hold the previous backend briefly; its pool is the shared one unless it had a CA bundle.
            previous.Owned?.Dispose();
        }

        clients[name] = entry;
        return entry;
    }

    public void Dispose()
    {
        foreach (var entry in clients.Values)
        {
            entry.Owned?.Dispose();
        }
    }
}

/// <param name="Admin">Null when the admin Secret is missing or incomplete: then no temporary credentials or TTL.</param>
internal sealed record BackendClients(long? Generation, string Version, DateTimeOffset CheckedAt, S3Location Location, AwsCredentials? Admin,
    ITemporaryCredentialIssuer Issuer, OwnedBackend? Owned)
{
    public override string ToString() => $"BackendClients {{ Version = {Version}, Bucket = {Location.Bucket} }}";
}
