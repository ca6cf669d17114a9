using Microsoft.Extensions.DependencyInjection.Extensions;
using Microsoft.Extensions.Options;
using WorkspaceStorage.Api.Auth;
using WorkspaceStorage.Api.Hosting;
using WorkspaceStorage.Api.Presigning;
using WorkspaceStorage.Api.Workspaces;

namespace WorkspaceStorage.Api.Proxy;

/// <summary>Registration of the <c>/s3</c> proxy and of the presigned-URL rewriter that points clients at it.</summary>
public static class S3ProxyEndpoints
{
    public const string RoutePattern = "/s3/{bucket}/{**key}";

    private static readonly string[] Methods = ["GET", "HEAD", "PUT", "POST", "DELETE"];

    /// <summary>
    /// Services of the proxy. The <see cref="IPresignedUrlRewriter"/> is always <see cref="S3ProxyUrlRewriter"/>
    /// (identity while <c>Api:S3Proxy:Enabled</c> is off), replacing any default registered earlier.
    /// <see cref="IS3ProxyTargets"/> defaults to the buckets under <c>Storage:Backends</c>; register another first to replace it.
    /// </summary>
    public static IServiceCollection AddS3Proxy(this IServiceCollection services)
    {
        services.TryAddSingleton<IS3ProxyTargets>(sp => StaticS3ProxyTargets.FromStorageOptions(sp.GetRequiredService<IOptions<StorageOptions>>().Value));
        services.TryAddSingleton<S3ProxyTransport>();
        services.AddHttpForwarder();
        services.TryAddSingleton<S3ProxyForwarder>();
        services.RemoveAll<IPresignedUrlRewriter>();
        services.AddSingleton<IPresignedUrlRewriter, S3ProxyUrlRewriter>();
        return services;
    }

    /// <summary>
    /// Maps <c>/s3/{bucket}/{**key}</c> for GET, HEAD, PUT, POST and DELETE when <c>Api:S3Proxy:Enabled</c> is on;
    /// does nothing otherwise. No Hypha authentication (the presigned signature is the access control, checked by
    /// S3), no request body limit (uploads of any size stream through).
    /// </summary>
    public static IEndpointRouteBuilder MapS3Proxy(this IEndpointRouteBuilder endpoints)
    {
        ArgumentNullException.ThrowIfNull(endpoints);
        // Read the switch from configuration, not IOptions: resolving the options here would validate them while the
        // app is being built, and start-up validation belongs to StartAsync.
        // A value that is not a boolean fails options binding at start-up with the key named.
        var enabled = endpoints.ServiceProvider.GetRequiredService<IConfiguration>()[$"{S3ProxyOptions.SectionName}:{nameof(S3ProxyOptions.Enabled)}"];
        if (!bool.TryParse(enabled, out var on) || !on)
        {
            return endpoints;
        }

        endpoints.MapMethods(RoutePattern, Methods,
                (HttpContext context, string bucket, S3ProxyForwarder forwarder) => forwarder.ForwardAsync(context, bucket))
            .SkipHyphaAuthentication()
            .AllowUnlimitedRequestBody()
            .ExcludeFromDescription()
            .WithName("S3Proxy");
        return endpoints;
    }
}
