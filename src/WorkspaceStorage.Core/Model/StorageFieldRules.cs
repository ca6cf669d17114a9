using System.Net;
using System.Text.RegularExpressions;

namespace WorkspaceStorage.Core.Model;

/// <summary>
/// Rules for the fields a StorageBackend and the operator's default-backend flags share. Each method returns why the
/// value is wrong, or null; callers prefix the field or flag name.
/// </summary>
public static partial class StorageFieldRules
{
    public const string RegionPattern = "^[a-zA-Z0-9-]+$";
    public const string BucketPattern = "^[a-z0-9][a-z0-9.-]{1,61}[a-z0-9]$";

    /// <summary>An absolute http(s) URL with a host, no credentials, query, fragment or path (the bucket is separate).</summary>
    public static string? EndpointError(string? value)
    {
        if (string.IsNullOrWhiteSpace(value))
        {
            return "must not be empty";
        }

        if (!Uri.TryCreate(value, UriKind.Absolute, out var uri) || uri.Host.Length == 0)
        {
            return "must be an absolute http:// or https:// URL";
        }

        if (uri.Scheme is not ("http" or "https"))
        {
            return $"must use http or https (got '{uri.Scheme}')";
        }

        // Credentials in a URL end up in logs and status; the admin key belongs in a Secret.
        if (uri.UserInfo.Length > 0)
        {
            return "must not contain user info (put credentials in the admin Secret)";
        }

        if (uri.Query.Length > 0 || uri.Fragment.Length > 0)
        {
            return "must not have a query or fragment";
        }

        if (uri.AbsolutePath != "/")
        {
            return "must not have a path (the bucket is configured separately)";
        }

        return null;
    }

    /// <summary>The URL without its trailing slash, as written into Secrets (<c>http://host:7480</c>).</summary>
    public static string NormalizeEndpoint(string value) => new Uri(value, UriKind.Absolute).GetLeftPart(UriPartial.Authority);

    /// <summary>The address presigned URLs name: the public endpoint when one is set, else the internal one, normalized.</summary>
    public static string PublicEndpointOf(string endpoint, string? publicEndpoint) => NormalizeEndpoint(publicEndpoint ?? endpoint);

    public static string? RegionError(string? value)
    {
        if (string.IsNullOrEmpty(value))
        {
            return "must not be empty";
        }

        if (value.Length > 64 || !RegionRegex().IsMatch(value))
        {
            return "must be 1-64 letters, digits or '-'";
        }

        return null;
    }

    /// <summary>S3 bucket naming rules (3-63 characters, lower case, digits, '.', '-', not an IP address).</summary>
    public static string? BucketError(string? value)
    {
        if (string.IsNullOrEmpty(value))
        {
            return "must not be empty";
        }

        if (!BucketRegex().IsMatch(value))
        {
            return "must be 3-63 lower-case letters, digits, '.' or '-', starting and ending with a letter or digit";
        }

        if (value.Contains("..", StringComparison.Ordinal) || value.Contains(".-", StringComparison.Ordinal) || value.Contains("-.", StringComparison.Ordinal))
        {
            return "must not contain '..', '.-' or '-.'";
        }

        if (IPAddress.TryParse(value, out _))
        {
            return "must not look like an IP address";
        }

        return null;
    }

    /// <summary>A Kubernetes object name (DNS-1123 subdomain).</summary>
    public static string? ObjectNameError(string? value)
    {
        if (string.IsNullOrEmpty(value))
        {
            return "must not be empty";
        }

        if (value.Length > 253 || !SubdomainRegex().IsMatch(value))
        {
            return "must be a DNS-1123 subdomain (at most 253 lower-case letters, digits, '-' or '.', starting and ending with a letter or digit)";
        }

        return null;
    }

    /// <summary>A namespace name (DNS-1123 label).</summary>
    public static string? NamespaceError(string? value)
    {
        if (string.IsNullOrEmpty(value))
        {
            return "must not be empty";
        }

        if (value.Length > 63 || !LabelRegex().IsMatch(value))
        {
            return "must be a DNS-1123 label (at most 63 lower-case letters, digits or '-', starting and ending with a letter or digit)";
        }

        return null;
    }

    /// <summary>A key inside a Secret's data.</summary>
    public static string? SecretKeyError(string? value)
    {
        if (string.IsNullOrEmpty(value))
        {
            return "must not be empty";
        }

        if (value.Length > 253 || !SecretKeyRegex().IsMatch(value))
        {
            return "must be at most 253 letters, digits, '-', '_' or '.'";
        }

        return null;
    }

    [GeneratedRegex(RegionPattern, RegexOptions.CultureInvariant)]
    private static partial Regex RegionRegex();

    [GeneratedRegex(BucketPattern, RegexOptions.CultureInvariant)]
    private static partial Regex BucketRegex();

    [GeneratedRegex(KubernetesNames.Dns1123SubdomainPattern, RegexOptions.CultureInvariant)]
    private static partial Regex SubdomainRegex();

    [GeneratedRegex(KubernetesNames.Dns1123LabelPattern, RegexOptions.CultureInvariant)]
    private static partial Regex LabelRegex();

    [GeneratedRegex(KubernetesNames.SecretKeyPattern, RegexOptions.CultureInvariant)]
    private static partial Regex SecretKeyRegex();
}
