using System.Diagnostics.CodeAnalysis;
using System.Text.Json;
using System.Text.Json.Serialization;
using Microsoft.AspNetCore.Diagnostics.HealthChecks;
using Microsoft.Extensions.Diagnostics.HealthChecks;
using WorkspaceStorage.Api.Auth;
using WorkspaceStorage.Api.Json;

namespace WorkspaceStorage.Api.Hosting;

/// <summary>
/// <c>/healthz</c> (liveness: the process serves HTTP) and <c>/readyz</c> (readiness: every health check tagged
/// <see cref="ReadinessTag"/> passes). Other parts register readiness checks with
/// <see cref="AddReadinessCheck{T}"/>.
/// </summary>
public static class HealthEndpoints
{
    public const string ReadinessTag = "ready";

    /// <summary>Registers a readiness check; <c>/readyz</c> answers 503 while it reports Unhealthy.</summary>
    public static IServiceCollection AddReadinessCheck<[DynamicallyAccessedMembers(DynamicallyAccessedMemberTypes.PublicConstructors)] T>(
        this IServiceCollection services, string name)
        where T : class, IHealthCheck
    {
        services.AddHealthChecks().AddCheck<T>(name, tags: [ReadinessTag]);
        return services;
    }

    internal static void MapHealthEndpoints(this IEndpointRouteBuilder endpoints)
    {
        endpoints.MapHealthChecks("/healthz", new HealthCheckOptions { Predicate = _ => false, ResponseWriter = WriteAsync })
            .SkipHyphaAuthentication();
        endpoints.MapHealthChecks("/readyz", new HealthCheckOptions { Predicate = c => c.Tags.Contains(ReadinessTag), ResponseWriter = WriteAsync })
            .SkipHyphaAuthentication();
    }

    private static Task WriteAsync(HttpContext context, HealthReport report)
    {
        context.Response.ContentType = "application/json; charset=utf-8";
        var body = new HealthAnswer(report.Status.ToString(),
            report.Entries.ToDictionary(e => e.Key, e => new HealthCheckAnswer(e.Value.Status.ToString(), e.Value.Description)));
        return JsonSerializer.SerializeAsync(context.Response.Body, body, ApiJsonContext.Default.HealthAnswer, context.RequestAborted);
    }
}

/// <summary>The body of <c>/healthz</c> and <c>/readyz</c>: the overall status and each check's.</summary>
internal sealed record HealthAnswer(
    [property: JsonPropertyName("status")] string Status,
    [property: JsonPropertyName("checks")] Dictionary<string, HealthCheckAnswer> Checks);

internal sealed record HealthCheckAnswer(
    [property: JsonPropertyName("status")] string Status,
    [property: JsonPropertyName("description")] string? Description);
