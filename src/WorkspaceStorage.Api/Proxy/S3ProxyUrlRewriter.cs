using Microsoft.Extensions.Options;
using WorkspaceStorage.Api.Hosting;
using WorkspaceStorage.Api.Presigning;
using WorkspaceStorage.Core.Workspaces;

namespace WorkspaceStorage.Api.Proxy;

/// <summary>
/// With the proxy enabled, a presigned URL on a workspace bucket's PUBLIC S3 endpoint becomes
/// <c>{Api:PublicBaseUrl}/s3/{bucket}/{key}?{query}</c>: path and query are copied character for character (Hypha
/// duplicated the query; re-encoding would break the signature). Anything else — proxy off, another host, a bucket
/// the proxy does not serve — is returned unchanged.
/// </summary>
public sealed class S3ProxyUrlRewriter(IOptions<ApiOptions> api, IS3ProxyTargets targets) : IPresignedUrlRewriter
{
    private readonly string? proxyBase = api.Value.S3Proxy.Enabled ? api.Value.PublicBaseUrl?.TrimEnd('/') + "/s3" : null;

    public string Rewrite(WorkspaceId workspace, string presignedUrl)
    {
        ArgumentNullException.ThrowIfNull(presignedUrl);
        return proxyBase is null ? presignedUrl : TryRewrite(presignedUrl) ?? presignedUrl;
    }

    private string? TryRewrite(string url)
    {
        var schemeEnd = url.IndexOf("://", StringComparison.Ordinal);
        if (schemeEnd <= 0)
        {
            return null;
        }

        var pathStart = url.IndexOf('/', schemeEnd + 3);
        if (pathStart < 0)
        {
            return null;
        }

        var queryStart = url.IndexOf('?', pathStart);
        var origin = url[..pathStart];
        var path = queryStart < 0 ? url[pathStart..] : url[pathStart..queryStart];
        var query = queryStart < 0 ? string.Empty : url[queryStart..];
        if (origin.AsSpan().IndexOfAny('?', '#') >= 0 || url.Contains('#', StringComparison.Ordinal))
        {
            return null;
        }

        // The bucket is the first segment after the public endpoint's own path (usually none), so try each segment
        // as the bucket and accept it only when the prefix before it is that endpoint's path.
        var segmentStart = 0;
        while (segmentStart < path.Length)
        {
            var segmentEnd = path.IndexOf('/', segmentStart + 1);
            var segment = segmentEnd < 0 ? path[(segmentStart + 1)..] : path[(segmentStart + 1)..segmentEnd];
            if (segment.Length > 0 && targets.FindBucket(Uri.UnescapeDataString(segment)) is { } target
                && string.Equals(origin, target.PublicOrigin, StringComparison.OrdinalIgnoreCase)
                && string.Equals(path[..segmentStart], target.PublicPathPrefix, StringComparison.Ordinal)
                && target.CanCarryPublicSignatures)
            {
                return string.Concat(proxyBase, path.AsSpan(segmentStart), query);
            }

            if (segmentEnd < 0)
            {
                break;
            }

            segmentStart = segmentEnd;
        }

        return null;
    }
}
