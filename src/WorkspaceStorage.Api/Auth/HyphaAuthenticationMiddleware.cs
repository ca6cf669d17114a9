using WorkspaceStorage.Api.Errors;

namespace WorkspaceStorage.Api.Auth;

/// <summary>Marks an endpoint that needs no caller identity (health, metrics, API docs): its requests are not authenticated.</summary>
public sealed class SkipHyphaAuthenticationMetadata
{
    public static SkipHyphaAuthenticationMetadata Instance { get; } = new();
}

public static class HyphaAuthenticationEndpointExtensions
{
    /// <summary>
    /// Do not authenticate this endpoint's requests: for routes whose access control is something else entirely,
    /// such as the <c>/s3/...</c> proxy (the presigned signature), where a stale <c>access_token</c> cookie in the
    /// browser must not turn a valid presigned URL into a 401. Handlers of such routes cannot call GetHyphaPrincipal.
    /// </summary>
    public static TBuilder SkipHyphaAuthentication<TBuilder>(this TBuilder builder)
        where TBuilder : IEndpointConventionBuilder => builder.WithMetadata(SkipHyphaAuthenticationMetadata.Instance);
}

/// <summary>The verified caller, stored on the request's features.</summary>
public sealed record HyphaAuthenticationFeature(HyphaPrincipal Principal, TokenSource Source);

/// <summary>
/// Authenticates every routed request (except endpoints with <see cref="SkipHyphaAuthenticationMetadata"/>):
/// no token → <see cref="HyphaPrincipal.Anonymous"/>; a valid token → its principal; a token that is present but
/// invalid → 401 <c>{"success": false, "detail": "..."}</c> with <c>WWW-Authenticate: Bearer</c>, before the handler runs.
/// Only the failure reason is logged, never the token.
/// </summary>
internal sealed class HyphaAuthenticationMiddleware(RequestDelegate next, HyphaTokenVerifier verifier, ILogger<HyphaAuthenticationMiddleware> logger)
{
    public Task InvokeAsync(HttpContext context)
    {
        var endpoint = context.GetEndpoint();
        if (endpoint is null || endpoint.Metadata.GetMetadata<SkipHyphaAuthenticationMetadata>() is not null)
        {
            return next(context);
        }

        var extracted = TokenExtractor.Extract(context.Request);
        if (extracted.Error is not null)
        {
            return RejectAsync(context, extracted.Error, "bad-credentials");
        }

        if (extracted.Token is null)
        {
            context.Features.Set(new HyphaAuthenticationFeature(HyphaPrincipal.Anonymous, TokenSource.None));
            return next(context);
        }

        var result = verifier.Verify(extracted.Token);
        if (result.Failure is { } failure)
        {
            return RejectAsync(context, failure.Detail, failure.Reason.ToString());
        }

        context.Features.Set(new HyphaAuthenticationFeature(result.Principal!, extracted.Source));
        return next(context);
    }

    private async Task RejectAsync(HttpContext context, string detail, string reason)
    {
        logger.LogInformation("Refused credentials on {Method} {Path}: {Reason}", context.Request.Method, context.Request.Path, reason);
        await ApiErrors.Unauthorized(detail).ExecuteAsync(context);
    }
}
