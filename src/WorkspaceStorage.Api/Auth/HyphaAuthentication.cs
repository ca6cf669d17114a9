using System.Security.Claims;
using System.Text.Encodings.Web;
using Microsoft.AspNetCore.Authentication;
using Microsoft.AspNetCore.Authorization;
using Microsoft.Extensions.DependencyInjection.Extensions;
using Microsoft.Extensions.Options;
using WorkspaceStorage.Api.Errors;

namespace WorkspaceStorage.Api.Auth;

/// <summary>
/// The "Hypha" authentication scheme. The token comes from where Hypha takes it (<see cref="TokenExtractor"/>): no
/// token authenticates as <see cref="HyphaPrincipal.Anonymous"/>; a valid one as its principal; one that is present
/// but invalid fails, and its challenge is a 401 <c>{"success": false, "detail": "..."}</c> with
/// <c>WWW-Authenticate: Bearer</c>. Only the failure reason is logged, never the token.
/// </summary>
public sealed class HyphaAuthenticationHandler(
    IOptionsMonitor<AuthenticationSchemeOptions> options, ILoggerFactory loggers, UrlEncoder encoder, HyphaTokenVerifier verifier)
    : AuthenticationHandler<AuthenticationSchemeOptions>(options, loggers, encoder)
{
    public const string SchemeName = "Hypha";

    private const string DefaultChallenge = "sign in: a valid Hypha token is required";

    protected override async Task<AuthenticateResult> HandleAuthenticateAsync()
    {
        var extracted = TokenExtractor.Extract(Request);
        if (extracted.Error is not null)
        {
            return Refuse(extracted.Error, "bad-credentials");
        }

        if (extracted.Token is null)
        {
            return Authenticated(HyphaPrincipal.Anonymous);
        }

        var result = await verifier.VerifyAsync(extracted.Token);
        return result.Failure is { } failure ? Refuse(failure.Detail, failure.Reason.ToString()) : Authenticated(result.Principal!);
    }

    protected override async Task HandleChallengeAsync(AuthenticationProperties properties)
    {
        var authentication = await HandleAuthenticateOnceSafeAsync();
        await ApiErrors.Unauthorized(authentication.Failure?.Message ?? DefaultChallenge).ExecuteAsync(Context);
    }

    private AuthenticateResult Authenticated(HyphaPrincipal principal) =>
        AuthenticateResult.Success(new AuthenticationTicket(new ClaimsPrincipal(new HyphaIdentity(principal)), SchemeName));

    private AuthenticateResult Refuse(string detail, string reason)
    {
        Logger.LogInformation("Refused credentials on {Method} {Path}: {Reason}", Request.Method, Request.Path, reason);
        return AuthenticateResult.Fail(detail);
    }
}

/// <summary>The ASP.NET identity of a Hypha caller; <see cref="ClaimsIdentity.IsAuthenticated"/> only when a valid token was sent.</summary>
public sealed class HyphaIdentity(HyphaPrincipal principal)
    : ClaimsIdentity(principal.HasToken ? HyphaAuthenticationHandler.SchemeName : null)
{
    public HyphaPrincipal Principal { get; } = principal;

    public override ClaimsIdentity Clone() => new HyphaIdentity(Principal);
}

public static class HyphaAuthenticationRegistration
{
    /// <summary>
    /// Hypha token verification and the "Hypha" scheme, with no default scheme: a request is authenticated only where an
    /// authorization policy names the scheme, so endpoints marked <see cref="HyphaAuthenticationEndpointExtensions.SkipHyphaAuthentication{TBuilder}"/>
    /// never look at credentials (ASP.NET would otherwise make a lone scheme the default and authenticate every request).
    /// </summary>
    public static IServiceCollection AddHyphaAuthentication(this IServiceCollection services)
    {
        services.AddOptions<HyphaAuthOptions>().BindConfiguration(HyphaAuthOptions.SectionName).ValidateOnStart();
        services.AddSingleton<IPostConfigureOptions<HyphaAuthOptions>, HyphaAuthOptionsSetup>();
        services.AddSingleton<IValidateOptions<HyphaAuthOptions>, HyphaAuthOptionsValidator>();
        services.AddSingleton<HyphaTokenVerifier>();
        services.AddSingleton<WorkspaceAuthorizer>();
        services.AddAuthentication().AddScheme<AuthenticationSchemeOptions, HyphaAuthenticationHandler>(HyphaAuthenticationHandler.SchemeName, null);
        services.Replace(ServiceDescriptor.Singleton<IAuthenticationSchemeProvider, NoDefaultSchemeProvider>());
        return services;
    }

    private sealed class NoDefaultSchemeProvider(IOptions<AuthenticationOptions> options) : AuthenticationSchemeProvider(options)
    {
        public override Task<AuthenticationScheme?> GetDefaultAuthenticateSchemeAsync() => Task.FromResult<AuthenticationScheme?>(null);
    }
}

public static class HyphaAuthenticationEndpointExtensions
{
    /// <summary>Authorizes without authenticating: a policy that names no scheme, for endpoints that need no identity.</summary>
    private static readonly AuthorizationPolicy NoIdentity = new AuthorizationPolicyBuilder().RequireAssertion(_ => true).Build();

    /// <summary>
    /// Do not authenticate this endpoint's requests: for health, metrics and docs, and routes whose access control is
    /// something else entirely, such as the <c>/s3/...</c> proxy (the presigned signature), where a stale
    /// <c>access_token</c> cookie in the browser must not turn a valid presigned URL into a 401. Handlers of such routes
    /// cannot call GetHyphaPrincipal.
    /// </summary>
    public static TBuilder SkipHyphaAuthentication<TBuilder>(this TBuilder builder)
        where TBuilder : IEndpointConventionBuilder => builder.RequireAuthorization(NoIdentity).AllowAnonymous();
}
