using Microsoft.AspNetCore.Authentication;
using Microsoft.AspNetCore.Authorization;
using Microsoft.AspNetCore.Authorization.Policy;
using WorkspaceStorage.Api.Auth;
using WorkspaceStorage.Api.Errors;

namespace WorkspaceStorage.Api.Http;

/// <summary>
/// Who may call an HTTP route, as ASP.NET authorization: every endpoint authenticates with the "Hypha" scheme (the
/// fallback policy: a valid token or none) unless it is marked <see cref="HyphaAuthenticationEndpointExtensions.SkipHyphaAuthentication{TBuilder}"/>;
/// <see cref="WorkspacePermissionEndpoints.RequireWorkspacePermission{TBuilder}"/> adds the workspace permission.
/// </summary>
public static class HttpAuthorization
{
    /// <summary>Credentials are valid or absent (the caller may be <see cref="HyphaPrincipal.Anonymous"/>).</summary>
    public static AuthorizationPolicy HyphaCaller { get; } = new AuthorizationPolicyBuilder(HyphaAuthenticationHandler.SchemeName)
        .RequireAssertion(context => context.User.Identity is HyphaIdentity)
        .Build();

    public static IServiceCollection AddHttpAuthorization(this IServiceCollection services)
    {
        services.AddAuthorizationBuilder().SetFallbackPolicy(HyphaCaller);
        services.AddSingleton<IAuthorizationHandler, WorkspacePermissionHandler>();
        services.AddSingleton<IAuthorizationMiddlewareResultHandler, ApiAuthorizationResultHandler>();
        return services;
    }
}

/// <summary>A refusal with the API error to answer (a 400 for a bad route value, a 403 from <see cref="WorkspaceAuthorizer"/>).</summary>
internal sealed class ApiAuthorizationFailure(IAuthorizationHandler handler, ApiException error) : AuthorizationFailureReason(handler, error.Message)
{
    public ApiException Error { get; } = error;
}

/// <summary>
/// Answers authorization outcomes in the API's error shape: refused credentials → the scheme's challenge (401); a
/// refusal with an <see cref="ApiAuthorizationFailure"/> → its status and detail; any other refusal → 403.
/// </summary>
internal sealed class ApiAuthorizationResultHandler : IAuthorizationMiddlewareResultHandler
{
    public Task HandleAsync(RequestDelegate next, HttpContext context, AuthorizationPolicy policy, PolicyAuthorizationResult authorizeResult)
    {
        if (authorizeResult.Succeeded)
        {
            return next(context);
        }

        if (authorizeResult.Challenged)
        {
            return context.ChallengeAsync(HyphaAuthenticationHandler.SchemeName);
        }

        var error = authorizeResult.AuthorizationFailure?.FailureReasons.OfType<ApiAuthorizationFailure>().FirstOrDefault()?.Error;
        return ApiErrors.WriteAsync(context, error?.StatusCode ?? StatusCodes.Status403Forbidden, error?.Message ?? "permission denied");
    }
}
