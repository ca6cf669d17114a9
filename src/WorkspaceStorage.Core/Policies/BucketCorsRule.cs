namespace WorkspaceStorage.Core.Policies;

/// <summary>
/// One CORS rule of the shared bucket: what a browser on <see cref="AllowedOrigins"/> may send to S3 directly
/// (presigned URLs, the AWS SDK with a workspace's key). Sets are kept sorted and distinct, so two rules compare equal
/// whatever order a server lists them in. <see cref="Id"/> (S3's <c>ID</c>) tells the operator's rule from everyone
/// else's on a bucket it shares.
/// </summary>
public sealed record BucketCorsRule
{
    /// <summary>S3 allows rule ids of at most 255 characters.</summary>
    public const int MaxIdLength = 255;

    private const string OperatorIdPrefix = "workspace-storage-operator:";

    /// <summary>The response headers a browser may read, on the bucket and on the companion's own routes: ranges, and the ETag multipart uploads need.</summary>
    public static readonly string[] ExposedHeaders = ["Accept-Ranges", "Content-Length", "Content-Range", "ETag"];

    /// <summary>Hypha's rule (what Hypha sets on its own bucket), plus ETag, which multipart uploads from a browser need.</summary>
    public static BucketCorsRule Hypha(IEnumerable<string> origins, string? id = null) => new(
        origins,
        methods: ["GET", "HEAD", "PUT", "POST", "DELETE"],
        headers: ["*"],
        expose: ExposedHeaders,
        maxAgeSeconds: 3000,
        id);

    /// <summary>
    /// The id of the rule the operator keeps for StorageBackend <paramref name="backendName"/>: one per StorageBackend,
    /// so two StorageBackends on one bucket each keep their own rule, and an admin's rules (any other id, or none) are
    /// never the operator's.
    /// </summary>
    public static string OperatorRuleId(string backendName)
    {
        ArgumentNullException.ThrowIfNull(backendName);
        var id = OperatorIdPrefix + backendName;
        return id.Length <= MaxIdLength
            ? id
            : $"{id[..(MaxIdLength - 17)]}-{Convert.ToHexStringLower(System.Security.Cryptography.SHA256.HashData(System.Text.Encoding.UTF8.GetBytes(backendName)))[..16]}";
    }

    public BucketCorsRule(IEnumerable<string> origins, IEnumerable<string> methods, IEnumerable<string> headers, IEnumerable<string> expose, int? maxAgeSeconds,
        string? id = null)
    {
        Id = string.IsNullOrEmpty(id) ? null : id;
        AllowedOrigins = Normalize(origins);
        AllowedMethods = Normalize(methods);
        AllowedHeaders = Normalize(headers);
        ExposeHeaders = Normalize(expose);
        MaxAgeSeconds = maxAgeSeconds;
    }

    /// <summary>S3's ID of the rule; null when it has none.</summary>
    public string? Id { get; }

    public IReadOnlyList<string> AllowedOrigins { get; }

    public IReadOnlyList<string> AllowedMethods { get; }

    public IReadOnlyList<string> AllowedHeaders { get; }

    public IReadOnlyList<string> ExposeHeaders { get; }

    public int? MaxAgeSeconds { get; }

    public bool Equals(BucketCorsRule? other) =>
        other is not null && Id == other.Id && AllowedOrigins.SequenceEqual(other.AllowedOrigins) && AllowedMethods.SequenceEqual(other.AllowedMethods)
        && AllowedHeaders.SequenceEqual(other.AllowedHeaders) && ExposeHeaders.SequenceEqual(other.ExposeHeaders) && MaxAgeSeconds == other.MaxAgeSeconds;

    public override int GetHashCode() => HashCode.Combine(Id, string.Join(' ', AllowedOrigins), string.Join(' ', AllowedMethods), MaxAgeSeconds);

    /// <summary>Why a list of origins is not acceptable to S3, or null.</summary>
    public static string? OriginsError(IReadOnlyList<string>? origins)
    {
        if (origins is null || origins.Count == 0)
        {
            return "must list at least one origin (or set enabled: false)";
        }

        if (origins.Count > 100)
        {
            return "must list at most 100 origins";
        }

        foreach (var origin in origins)
        {
            if (origin == "*")
            {
                continue;
            }

            // S3 matches origins as strings with at most one '*' wildcard; a path or a second '*' would never match.
            var probe = origin.Replace("*", "wildcard", StringComparison.Ordinal);
            if (string.IsNullOrEmpty(origin) || origin.Count(c => c == '*') > 1 || origin.Length > 2048
                || !Uri.TryCreate(probe, UriKind.Absolute, out var uri) || uri.Scheme is not ("http" or "https")
                || uri.AbsolutePath != "/" || probe.EndsWith('/') || uri.Query.Length > 0 || uri.UserInfo.Length > 0)
            {
                return $"'{origin}' must be '*' or scheme://host[:port] (http or https, no path, at most one '*')";
            }
        }

        return null;
    }

    private static string[] Normalize(IEnumerable<string> values) => [.. values.Distinct(StringComparer.Ordinal).Order(StringComparer.Ordinal)];
}
