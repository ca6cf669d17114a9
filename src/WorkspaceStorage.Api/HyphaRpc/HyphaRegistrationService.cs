using System.Security.Cryptography;
using Hypha.Rpc;
using Hypha.Rpc.Tokens;
using Microsoft.Extensions.Diagnostics.HealthChecks;
using Microsoft.Extensions.Options;
using Prometheus;
using WorkspaceStorage.Api.Hosting;

namespace WorkspaceStorage.Api.HyphaRpc;

/// <summary>
/// Keeps the s3-storage service registered in Hypha for the life of the process: connects with the configured token
/// source, registers, reconnects and registers again after Hypha restarts (the client's job), takes over from the
/// built-in in takeover mode after every (re)registration, counts calls for /metrics, and unregisters on shutdown.
/// </summary>
public sealed class HyphaRegistrationService : IHostedService, IAsyncDisposable
{
    private readonly HyphaRegistrationOptions options;
    private readonly HyphaRpcClient client;
    private readonly BuiltInTakeover? takeover;
    private readonly Counter calls;

    public HyphaRegistrationService(IOptions<HyphaRegistrationOptions> options, S3StorageRpcService service, ApiMetrics metrics, ILoggerFactory loggers)
    {
        this.options = options.Value;
        var clientId = this.options.ClientIdPrefix + ClientSuffix();
        client = new HyphaRpcClient(
            new HyphaRpcOptions { ServerUrl = this.options.ServerUrl!, Workspace = this.options.Workspace, ClientId = clientId },
            TokenSource(this.options, loggers),
            [service.Definition(this.options.ServiceId)],
            loggers.CreateLogger<HyphaRpcClient>());
        calls = metrics.Factory.CreateCounter("workspace_storage_api_rpc_calls_total", "Hypha RPC calls of the s3-storage service, by function and result.",
            new CounterConfiguration { LabelNames = ["function", "result"] });
        client.CallCompleted += call => calls.WithLabels(call.Function, call.Result.ToString().ToLowerInvariant()).Inc();
        var registered = metrics.Factory.CreateGauge("workspace_storage_api_hypha_registered", "1 while the s3-storage service is registered in Hypha.");
        metrics.Registry.AddBeforeCollectCallback(() => registered.Set(client.IsRegistered ? 1 : 0));
        if (this.options.Takeover)
        {
            takeover = new BuiltInTakeover(client, this.options, loggers.CreateLogger<BuiltInTakeover>());
            client.Registered += takeover.OnRegisteredAsync;
        }
    }

    public HyphaRpcClient Client => client;

    /// <summary>The takeover of the built-in registration (takeover mode only).</summary>
    public BuiltInTakeover? Takeover => takeover;

    public async Task StartAsync(CancellationToken cancellationToken)
    {
        await client.StartAsync(cancellationToken);
        takeover?.Start();
    }

    public async Task StopAsync(CancellationToken cancellationToken)
    {
        if (takeover is not null)
        {
            await takeover.DisposeAsync();
        }

        await client.StopAsync(cancellationToken);
    }

    public async ValueTask DisposeAsync() => await client.DisposeAsync();

    private static IHyphaTokenSource TokenSource(HyphaRegistrationOptions options, ILoggerFactory loggers) =>
        string.IsNullOrWhiteSpace(options.RootTokenFile)
            ? FixedTokenSource.FromFile(options.TokenFile!)
            : new RootTokenExchangeSource(SecretText.FromFile(options.RootTokenFile), options.TokenLifetime,
                logger: loggers.CreateLogger<RootTokenExchangeSource>());

    /// <summary>The pod's name in a cluster (one registration per replica, recognisable in Hypha), else random.</summary>
    private static string ClientSuffix() =>
        Environment.GetEnvironmentVariable("POD_NAME") is { Length: > 0 } pod
            ? pod.ToLowerInvariant()
            : Convert.ToHexStringLower(RandomNumberGenerator.GetBytes(4));
}

/// <summary>
/// /readyz reports whether the service is registered in Hypha. Not registered is Degraded, not Unhealthy: the HTTP
/// routes work without Hypha, and taking every replica out of its Service while Hypha restarts would break them too.
/// </summary>
internal sealed class HyphaRegistrationReadiness(HyphaRegistrationService registration) : IHealthCheck
{
    public Task<HealthCheckResult> CheckHealthAsync(HealthCheckContext context, CancellationToken cancellationToken = default)
    {
        var client = registration.Client;
        return Task.FromResult(client.Registration is { } live
            ? HealthCheckResult.Healthy($"registered in Hypha as {string.Join(", ", live.ServiceIds)} (connection {live.Connection})")
            : HealthCheckResult.Degraded($"not registered in Hypha ({client.State}{(client.LastError is { } error ? ": " + error : string.Empty)})"));
    }
}

/// <summary>Registers the Hypha front door when <c>HyphaRegistration:ServerUrl</c> is set.</summary>
public static class HyphaRegistrationSetup
{
    public static IServiceCollection AddHyphaRegistration(this IServiceCollection services, IConfiguration configuration)
    {
        services.AddOptions<HyphaRegistrationOptions>().BindConfiguration(HyphaRegistrationOptions.SectionName).ValidateOnStart();
        services.AddSingleton<IValidateOptions<HyphaRegistrationOptions>, HyphaRegistrationOptionsValidator>();
        if (string.IsNullOrWhiteSpace(configuration[$"{HyphaRegistrationOptions.SectionName}:{nameof(HyphaRegistrationOptions.ServerUrl)}"]))
        {
            return services;
        }

        services.AddSingleton<S3StorageRpcService>();
        services.AddSingleton<HyphaRegistrationService>();
        services.AddHostedService(sp => sp.GetRequiredService<HyphaRegistrationService>());
        services.AddReadinessCheck<HyphaRegistrationReadiness>("hypha-registration");
        var onDemand = configuration.GetSection(OnDemand.OnDemandOptions.SectionName);
        if (onDemand.GetValue<bool>(nameof(OnDemand.OnDemandOptions.Enabled)) && onDemand.GetValue(nameof(OnDemand.OnDemandOptions.FollowHyphaWorkspaces), true))
        {
            services.AddSingleton<TemporaryWorkspaceWatcher>();
            services.AddHostedService(sp => sp.GetRequiredService<TemporaryWorkspaceWatcher>());
        }

        return services;
    }
}
