using Microsoft.AspNetCore.Http.Features;

namespace WorkspaceStorage.Api.Hosting;

/// <summary>Endpoint metadata: this route streams bodies of any size (file uploads, multipart parts).</summary>
public sealed class UnlimitedRequestBodyMetadata
{
    public static UnlimitedRequestBodyMetadata Instance { get; } = new();
}

/// <summary>
/// Kestrel refuses bodies over 30 MB by default, which keeps JSON routes safe. File routes must lift the limit:
/// mark them with <see cref="AllowUnlimitedRequestBody{TBuilder}"/> and this middleware clears the limit for that
/// request only, before anything reads the body.
/// </summary>
public static class RequestBodyLimits
{
    public static TBuilder AllowUnlimitedRequestBody<TBuilder>(this TBuilder builder)
        where TBuilder : IEndpointConventionBuilder => builder.WithMetadata(UnlimitedRequestBodyMetadata.Instance);

    internal static IApplicationBuilder UseUnlimitedRequestBodyWhereAllowed(this IApplicationBuilder app) =>
        app.Use((context, next) =>
        {
            if (context.GetEndpoint()?.Metadata.GetMetadata<UnlimitedRequestBodyMetadata>() is not null
                && context.Features.Get<IHttpMaxRequestBodySizeFeature>() is { IsReadOnly: false } limit)
            {
                limit.MaxRequestBodySize = null;
            }

            return next(context);
        });
}
