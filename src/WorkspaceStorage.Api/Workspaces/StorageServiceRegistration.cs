using WorkspaceStorage.Api.Audit;
using WorkspaceStorage.Kubernetes.Audit;
using WorkspaceStorage.Kubernetes.Runtime;
using Microsoft.Extensions.DependencyInjection.Extensions;
using Microsoft.Extensions.Options;
using WorkspaceStorage.Api.Auth;
using WorkspaceStorage.Api.Hosting;
using WorkspaceStorage.Api.Multipart;
using WorkspaceStorage.Api.Presigning;
using WorkspaceStorage.Api.S3Storage;
using WorkspaceStorage.Api.Ttl;
using WorkspaceStorage.Core.Workspaces;
using WorkspaceStorage.Storage.S3;

namespace WorkspaceStorage.Api.Workspaces;

/// <summary>Registers the storage services (the s3-storage functions, multipart, TTL markers and sweeper); routes are in <see cref="Http.ApiRoutes"/>.</summary>
public static class StorageServiceRegistration
{
    /// <summary>
    /// Registers the storage services (the <see cref="IWorkspaceStorageDirectory"/> itself comes from
    /// <see cref="WorkspaceSourceSelection.AddWorkspaceSource"/>, once configuration is complete). Replace <see cref="IWorkspaceStorageDirectory"/> (tests: an
    /// <see cref="InMemoryWorkspaceDirectory"/>), <see cref="ISweepLease"/> (a Kubernetes Lease in a cluster) or
    /// <see cref="IPresignedUrlRewriter"/> (the /s3 proxy) after this runs.
    /// </summary>
    public static IServiceCollection AddWorkspaceStorage(this IServiceCollection services)
    {
        services.AddOptions<StorageOptions>().BindConfiguration(StorageOptions.SectionName).ValidateOnStart();
        services.AddSingleton<IValidateOptions<StorageOptions>, StorageOptionsValidator>();
        services.TryAddSingleton(_ => new S3ClientFactory());
        // Authorisation asks the same directory whether W is public (plus the configured Api:PublicWorkspaces).
        services.TryAddSingleton<IWorkspaceDirectory>(sp => new PublicWorkspacesOf(
            sp.GetRequiredService<IWorkspaceStorageDirectory>(),
            sp.GetRequiredService<IOptions<ApiOptions>>().Value.PublicWorkspaces));
        services.TryAddSingleton<IPresignedUrlRewriter, IdentityPresignedUrlRewriter>();
        services.TryAddSingleton<ISweepLease>(CreateSweepLease);
        services.TryAddSingleton<WorkspaceStorageResolver>();
        services.TryAddSingleton<MultipartUploadTokens>();
        services.TryAddSingleton<MultipartUploads>();
        services.TryAddSingleton<TtlMarkerStore>();
        services.TryAddSingleton(CreateEventRecorder);
        services.TryAddSingleton(sp => new CompanionAuditTrail(
            new AuditTrail(sp.GetRequiredService<IEventRecorder>(), AuditTrail.CreateLogger(sp.GetRequiredService<ILoggerFactory>())),
            sp.GetRequiredService<TimeProvider>(), sp.GetRequiredService<ILogger<CompanionAuditTrail>>()));
        services.TryAddSingleton<S3StorageService>();
        services.TryAddSingleton<S3StorageInvoker>();
        services.TryAddSingleton<TtlSweeper>();
        services.AddHostedService(sp => sp.GetRequiredService<TtlSweeper>());
        return services;
    }

    /// <summary>The audit trail's Events: on WorkspaceStorages when the directory reads a cluster, else none (audit log records only).</summary>
    private static IEventRecorder CreateEventRecorder(IServiceProvider services) =>
        services.GetService<KubernetesDirectorySources>()?.Events is { } client
            ? new EventRecorder(client, services.GetRequiredService<ILogger<EventRecorder>>(), services.GetRequiredService<TimeProvider>(), component: "workspace-storage-api")
            : NullEventRecorder.Instance;

    /// <summary>In a cluster a Kubernetes Lease elects one sweeping replica; outside a pod this process sweeps alone.</summary>
    private static ISweepLease CreateSweepLease(IServiceProvider services)
    {
        if (string.IsNullOrEmpty(Environment.GetEnvironmentVariable("KUBERNETES_SERVICE_HOST")))
        {
            return new ProcessSweepLease();
        }

        var options = services.GetRequiredService<IOptions<StorageOptions>>().Value;
        var config = k8s.KubernetesClientConfiguration.InClusterConfig();
        var ns = options.TtlSweepLeaseNamespace ?? config.Namespace ?? "default";
        var identity = Environment.GetEnvironmentVariable("POD_NAME") is { Length: > 0 } pod ? pod : $"{Environment.MachineName}-{Guid.NewGuid():N}";
        return new KubernetesSweepLease(new k8s.Kubernetes(config), ns, options.TtlSweepLeaseName, identity,
            services.GetRequiredService<TimeProvider>(), services.GetRequiredService<ILogger<KubernetesSweepLease>>());
    }

    private sealed class PublicWorkspacesOf(IWorkspaceStorageDirectory directory, IEnumerable<string> configured) : IWorkspaceDirectory
    {
        private readonly HashSet<string> configured = new(configured, StringComparer.Ordinal);

        public async ValueTask<bool> IsPublicAsync(WorkspaceId workspace, CancellationToken cancellationToken) =>
            configured.Contains(workspace.Value) || await directory.IsPublicAsync(workspace, cancellationToken);
    }
}
