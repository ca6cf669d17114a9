using Microsoft.Extensions.DependencyInjection.Extensions;
using Microsoft.Extensions.Diagnostics.HealthChecks;
using Microsoft.Extensions.Options;
using WorkspaceStorage.Api.Hosting;
using WorkspaceStorage.Storage.Backends;

namespace WorkspaceStorage.Api.Workspaces;

/// <summary>Where the API reads workspaces from (<c>Api:WorkspaceSource</c>).</summary>
public enum WorkspaceSource
{
    /// <summary>Held in memory, filled by the host (tests, benchmarks); never the default of the program.</summary>
    Memory,

    /// <summary>The cluster: informers on WorkspaceStorages, StorageBackends and the operator's Secrets.</summary>
    Kubernetes,
}

/// <summary>
/// Chooses and registers the <see cref="IWorkspaceStorageDirectory"/>. <c>Api:WorkspaceSource</c> = kubernetes | memory;
/// without it: kubernetes when KUBERNETES_SERVICE_HOST is set or a kubeconfig is given (<c>--kubeconfig</c> /
/// <c>Kubernetes:Kubeconfig</c>); memory only when the host registered a directory of its own (tests, benchmarks).
/// Otherwise the API refuses to start: an empty in-memory directory would answer 404 for every workspace and look healthy.
/// </summary>
public static class WorkspaceSourceSelection
{
    /// <param name="hostProvidesDirectory">Whether the host registered an <see cref="IWorkspaceStorageDirectory"/> itself.</param>
    public static WorkspaceSource Choose(IConfiguration configuration, bool hostProvidesDirectory)
    {
        var configured = configuration["Api:WorkspaceSource"];
        if (!string.IsNullOrEmpty(configured))
        {
            return Enum.TryParse<WorkspaceSource>(configured, ignoreCase: true, out var source) && Enum.IsDefined(source)
                ? source
                : throw new OptionsValidationException("Api:WorkspaceSource", typeof(WorkspaceSource),
                    [$"Api:WorkspaceSource must be one of kubernetes, memory (was '{configured}')"]);
        }

        if (!string.IsNullOrEmpty(Environment.GetEnvironmentVariable("KUBERNETES_SERVICE_HOST")) || !string.IsNullOrEmpty(Kubeconfig(configuration)))
        {
            return WorkspaceSource.Kubernetes;
        }

        return hostProvidesDirectory
            ? WorkspaceSource.Memory
            : throw new OptionsValidationException("Api:WorkspaceSource", typeof(WorkspaceSource),
                ["no cluster to read workspaces from: run in a pod (KUBERNETES_SERVICE_HOST), or give a kubeconfig with --kubeconfig or "
                 + "Kubernetes:Kubeconfig (Api:WorkspaceSource=kubernetes)"]);
    }

    internal static string? Kubeconfig(IConfiguration configuration) =>
        configuration["Kubernetes:Kubeconfig"] is { Length: > 0 } path ? path : configuration["kubeconfig"];

    /// <summary>Registers the directory for <paramref name="source"/> (as a fallback: a host's own registration wins).</summary>
    public static IServiceCollection AddWorkspaceSource(this IServiceCollection services, WorkspaceSource source)
    {
        switch (source)
        {
            case WorkspaceSource.Kubernetes:
                services.TryAddSingleton(sp =>
                {
                    var configuration = sp.GetRequiredService<IConfiguration>();
                    var config = WorkspaceStorage.Kubernetes.Runtime.KubeconfigFile.Discover(Kubeconfig(configuration),
                        Environment.GetEnvironmentVariable, "Kubernetes:Kubeconfig");
                    return KubernetesDirectorySources.FromKubernetes(new k8s.Kubernetes(config));
                });
                services.TryAddSingleton(sp =>
                {
                    var loggers = sp.GetRequiredService<ILoggerFactory>();
                    var clock = sp.GetRequiredService<TimeProvider>();
                    return new KubernetesWorkspaceDirectory(sp.GetRequiredService<KubernetesDirectorySources>(),
                        new StorageBackendFactory(NullBackendCallObserver.Instance, loggers, time: clock),
                        sp.GetRequiredService<IConfiguration>()["Kubernetes:WatchNamespace"] is { Length: > 0 } ns ? ns : null,
                        clock, loggers);
                });
                services.TryAddSingleton<IWorkspaceStorageDirectory>(sp => sp.GetRequiredService<KubernetesWorkspaceDirectory>());
                services.Replace(ServiceDescriptor.Singleton<Proxy.IS3ProxyTargets>(sp => new Proxy.ClusterS3ProxyTargets(sp.GetRequiredService<KubernetesWorkspaceDirectory>())));
                services.AddHostedService<KubernetesDirectoryRunner>();
                services.AddReadinessCheck<KubernetesDirectorySyncCheck>("workspace-informers");
                break;
            default:
                services.TryAddSingleton<IWorkspaceStorageDirectory, InMemoryWorkspaceDirectory>();
                break;
        }

        return services;
    }
}

/// <summary>Runs the Kubernetes directory's informers for the life of the process.</summary>
internal sealed class KubernetesDirectoryRunner(KubernetesWorkspaceDirectory directory) : BackgroundService
{
    protected override Task ExecuteAsync(CancellationToken stoppingToken) => directory.RunAsync(stoppingToken);
}

/// <summary>/readyz stays 503 until the informers listed WorkspaceStorages, StorageBackends and Secrets once.</summary>
internal sealed class KubernetesDirectorySyncCheck(KubernetesWorkspaceDirectory directory) : IHealthCheck
{
    public Task<HealthCheckResult> CheckHealthAsync(HealthCheckContext context, CancellationToken cancellationToken = default) =>
        Task.FromResult(directory.HasSynced
            ? HealthCheckResult.Healthy("informers synced")
            : HealthCheckResult.Unhealthy("waiting for the WorkspaceStorage, StorageBackend and Secret informers to sync"));
}
