using WorkspaceStorage.Core.Policies;
using Microsoft.Extensions.DependencyInjection.Extensions;
using Microsoft.Extensions.Options;
using Prometheus;
using WorkspaceStorage.Api.Auth;
using WorkspaceStorage.Api.Errors;
using WorkspaceStorage.Api.Proxy;
using WorkspaceStorage.Api.Http;
using WorkspaceStorage.Api.HyphaRpc;
using WorkspaceStorage.Api.Json;
using WorkspaceStorage.Api.OnDemand;
using WorkspaceStorage.Api.Workspaces;

namespace WorkspaceStorage.Api.Hosting;

/// <summary>
/// Builds the companion API: configuration and validated options, Kestrel, CORS, Hypha authentication, error
/// shapes, health, metrics and API docs. <c>Program</c> runs it; tests build it with their own configuration,
/// bind it to <c>http://127.0.0.1:0</c>, and start it on a real Kestrel.
/// </summary>
public static class ApiApplication
{
    /// <summary>
    /// Builds a ready-to-start app. <paramref name="configure"/> runs after the defaults are registered, so it can
    /// add configuration sources, replace services (e.g. <see cref="IWorkspaceDirectory"/>, <see cref="TimeProvider"/>)
    /// or set URLs. Routes may still be mapped on the returned app before it starts.
    /// </summary>
    public static WebApplication Build(string[] args, Action<WebApplicationBuilder>? configure = null)
    {
        var builder = WebApplication.CreateSlimBuilder(args);

        builder.Logging.ClearProviders();
        builder.Logging.AddJsonConsole(o =>
        {
            o.IncludeScopes = true;
            o.UseUtcTimestamp = true;
            o.TimestampFormat = "yyyy-MM-ddTHH:mm:ss.fffZ";
        });

        builder.WebHost.ConfigureKestrel(kestrel =>
        {
            kestrel.AllowSynchronousIO = false;
            kestrel.AddServerHeader = false;
            // MaxRequestBodySize stays at Kestrel's default (30 MB) for JSON routes; file routes opt out per
            // endpoint with AllowUnlimitedRequestBody() (see RequestBodyLimits).
        });

        AddServices(builder.Services);
        configure?.Invoke(builder);
        // After configure: its settings may choose the source, and a directory it registered wins.
        var source = WorkspaceSourceSelection.Choose(builder.Configuration,
            hostProvidesDirectory: builder.Services.Any(d => d.ServiceType == typeof(IWorkspaceStorageDirectory)));
        builder.Services.AddWorkspaceSource(source);
        builder.Services.AddOnDemandProvisioning(builder.Configuration, source);
        builder.Services.AddHyphaRegistration(builder.Configuration);

        var app = builder.Build();
        ConfigurePipeline(app);
        app.MapApiRoutes();
        return app;
    }

    private static void AddServices(IServiceCollection services)
    {
        services.AddOptions<ApiOptions>().BindConfiguration(ApiOptions.SectionName).ValidateOnStart();
        services.AddSingleton<IValidateOptions<ApiOptions>, ApiOptionsValidator>();

        services.TryAddSingleton(TimeProvider.System);
        services.AddApiJson();
        services.AddHyphaAuthentication();
        services.AddHttpAuthorization();
        // The storage routes' directory also answers "is W public?" (plus Api:PublicWorkspaces).
        services.AddWorkspaceStorage();
        services.AddSingleton<ApiMetrics>();

        services.AddCors();
        services.AddSingleton<IConfigureOptions<Microsoft.AspNetCore.Cors.Infrastructure.CorsOptions>, CorsSetup>();
        services.AddHealthChecks();
        services.AddOpenApi();
        services.Configure<RouteHandlerOptions>(o => o.ThrowOnBadRequest = true);
        services.AddS3Proxy();
    }

    private static void ConfigurePipeline(WebApplication app)
    {
        var metrics = app.Services.GetRequiredService<ApiMetrics>();

        app.UseRouting();
        app.UseCors();
        app.UseHttpMetrics(o => o.SetMetricFactory(metrics.Factory));
        app.UseMiddleware<ApiExceptionMiddleware>();
        app.UseStatusCodePages(status =>
        {
            var code = status.HttpContext.Response.StatusCode;
            var detail = Microsoft.AspNetCore.WebUtilities.ReasonPhrases.GetReasonPhrase(code);
            return ApiErrors.WriteAsync(status.HttpContext, code, string.IsNullOrEmpty(detail) ? "error" : detail.ToLowerInvariant());
        });
        // Authenticates and authorizes per endpoint (its policy; see HttpAuthorization), before any body is bound.
        app.UseAuthorization();
        app.UseUnlimitedRequestBodyWhereAllowed();
    }

    /// <summary>CORS as Hypha sets it: origin echoed (or the configured list), credentials, any method and header (Range included), and the range/ETag headers exposed.</summary>
    private sealed class CorsSetup(IOptions<ApiOptions> api) : IConfigureOptions<Microsoft.AspNetCore.Cors.Infrastructure.CorsOptions>
    {
        public void Configure(Microsoft.AspNetCore.Cors.Infrastructure.CorsOptions options) =>
            options.AddDefaultPolicy(policy =>
            {
                var origins = api.Value.CorsOrigins;
                if (origins.Count == 0)
                {
                    policy.SetIsOriginAllowed(_ => true);
                }
                else
                {
                    policy.WithOrigins([.. origins]);
                }

                policy.AllowCredentials()
                    .AllowAnyMethod()
                    .AllowAnyHeader()
                    .WithExposedHeaders(BucketCorsRule.ExposedHeaders)
                    .SetPreflightMaxAge(TimeSpan.FromSeconds(3000));
            });
    }
}
