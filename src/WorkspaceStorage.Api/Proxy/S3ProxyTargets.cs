using Microsoft.Extensions.Configuration;
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
    /// The buckets of the storage backends in configuration (<c>Storage:Backends:{name}:Endpoint|PublicEndpoint|Region|Bucket</c>,
    /// the section the storage routes read). Entries without a valid endpoint are skipped: the storage routes'
    /// own validation reports them.
    /// </summary>
    public static StaticS3ProxyTargets FromConfiguration(IConfiguration configuration)
    {
        ArgumentNullException.ThrowIfNull(configuration);
        var locations = new List<S3Location>();
        foreach (var backend in configuration.GetSection("Storage:Backends").GetChildren())
        {
            if (!Uri.TryCreate(backend["Endpoint"], UriKind.Absolute, out var endpoint))
            {
                continue;
            }

            var publicEndpoint = Uri.TryCreate(backend["PublicEndpoint"], UriKind.Absolute, out var p) ? p : endpoint;
            locations.Add(new S3Location(endpoint, publicEndpoint, backend["Region"] ?? "us-east-1", backend["Bucket"] ?? "hypha-workspaces"));
        }

        return new StaticS3ProxyTargets(locations);
    }
}
