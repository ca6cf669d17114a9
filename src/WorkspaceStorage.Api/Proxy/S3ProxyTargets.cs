using WorkspaceStorage.Api.Workspaces;
using WorkspaceStorage.Core.Model;
using WorkspaceStorage.Storage.Backends;

namespace WorkspaceStorage.Api.Proxy;

/// <summary>
/// Which buckets the <c>/s3</c> proxy serves, and where: the configured workspace buckets with their internal
/// (forwarded to) and public (signed for) endpoints. A bucket not listed here is a 404 at the proxy, so it can
/// never be used to reach anything else on the S3 server (other buckets, the admin API).
/// </summary>
public interface IS3ProxyTargets
{
    /// <summary>The backend serving <paramref name="bucket"/>, or null when it is not a workspace bucket.</summary>
    S3ProxyTarget? FindBucket(string bucket);
}

/// <summary>One workspace bucket as the proxy sees it, with the URL pieces precomputed.</summary>
public sealed class S3ProxyTarget
{
    public S3ProxyTarget(S3Location location)
    {
        ArgumentNullException.ThrowIfNull(location);
        Location = location;
        InternalOrigin = location.Endpoint.GetLeftPart(UriPartial.Authority);
        InternalPathPrefix = location.Endpoint.AbsolutePath.TrimEnd('/');
        PublicOrigin = location.PublicEndpoint.GetLeftPart(UriPartial.Authority);
        PublicPathPrefix = location.PublicEndpoint.AbsolutePath.TrimEnd('/');
        var publicEndpoint = location.PublicEndpoint;
        SignedHost = publicEndpoint.IsDefaultPort ? publicEndpoint.Host : $"{publicEndpoint.Host}:{publicEndpoint.Port}";
    }

    public S3Location Location { get; }

    public string Bucket => Location.Bucket;

    /// <summary>scheme://host[:port] of the internal endpoint, where requests are forwarded.</summary>
    public string InternalOrigin { get; }

    /// <summary>Path of the internal endpoint without a trailing '/', usually empty.</summary>
    public string InternalPathPrefix { get; }

    public string PublicOrigin { get; }

    public string PublicPathPrefix { get; }

    /// <summary>
    /// The <c>Host</c> presigned URLs were signed for (the public endpoint's host[:port], the same value the
    /// S3 client signs). S3 checks the signature against the Host it receives, so the proxy sends this one.
    /// </summary>
    public string SignedHost { get; }

    /// <summary>
    /// A signature covers the path S3 receives. The proxy forwards to the internal path, so it can only carry a URL
    /// signed for the public path when both paths agree (they are usually both empty).
    /// </summary>
    public bool CanCarryPublicSignatures => string.Equals(InternalPathPrefix, PublicPathPrefix, StringComparison.Ordinal);
}

/// <summary>A fixed set of buckets (tests, single-backend deployments).</summary>
public sealed class StaticS3ProxyTargets : IS3ProxyTargets
{
    private readonly Dictionary<string, S3ProxyTarget> byBucket = new(StringComparer.Ordinal);

    public StaticS3ProxyTargets(IEnumerable<S3Location> locations)
    {
        ArgumentNullException.ThrowIfNull(locations);
        foreach (var location in locations)
        {
            if (!byBucket.TryAdd(location.Bucket, new S3ProxyTarget(location))
                && byBucket[location.Bucket].Location.Endpoint != location.Endpoint)
            {
                // /s3/{bucket}/... names no backend, so one bucket name on two backends cannot be routed.
                throw new ArgumentException($"bucket '{location.Bucket}' is configured on two endpoints; the /s3 proxy cannot tell them apart", nameof(locations));
            }
        }
    }

    public S3ProxyTarget? FindBucket(string bucket) => byBucket.GetValueOrDefault(bucket);

    /// <summary>
    /// The buckets under <c>Storage:Backends</c>: internal endpoint, public endpoint (the internal one when unset),
    /// region and bucket of each.
    /// </summary>
    public static StaticS3ProxyTargets FromStorageOptions(StorageOptions storage)
    {
        ArgumentNullException.ThrowIfNull(storage);
        // The StorageBackend's rules, so a configured bucket reads as the same StorageBackend would (start-up validation
        // has already held both endpoints to StorageFieldRules.EndpointError).
        return new StaticS3ProxyTargets(storage.Backends.Values.Select(backend => new S3Location(
            new Uri(StorageFieldRules.NormalizeEndpoint(backend.Endpoint!)),
            new Uri(StorageFieldRules.PublicEndpointOf(backend.Endpoint!, backend.PublicEndpoint)),
            backend.Region,
            backend.Bucket)));
    }
}

/// <summary>
/// The buckets of the cluster's StorageBackends (Kubernetes workspace source), read from the directory's informer, so
/// the proxy follows StorageBackends as they are added or changed.
/// </summary>
public sealed class ClusterS3ProxyTargets(Workspaces.KubernetesWorkspaceDirectory directory) : IS3ProxyTargets
{
    public S3ProxyTarget? FindBucket(string bucket) => directory.FindBucketLocation(bucket) is { } location ? new S3ProxyTarget(location) : null;
}
