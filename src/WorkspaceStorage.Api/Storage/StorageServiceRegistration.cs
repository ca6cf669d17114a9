using Microsoft.Extensions.DependencyInjection.Extensions;
using Microsoft.Extensions.Options;
using WorkspaceStorage.Api.Auth;
using WorkspaceStorage.Api.Files;
using WorkspaceStorage.Api.Hosting;
using WorkspaceStorage.Api.Multipart;
using WorkspaceStorage.Api.Presigning;
using WorkspaceStorage.Api.Services;
using WorkspaceStorage.Api.Ttl;
using WorkspaceStorage.Api.Workspaces;
using WorkspaceStorage.Core.Workspaces;
using WorkspaceStorage.Storage.S3;

namespace WorkspaceStorage.Api.Storage;

/// <summary>Registers and maps the storage routes (service methods, /files, multipart) and the TTL sweeper.</summary>
public static class StorageServiceRegistration
{
    /// <summary>
    /// Registers the storage services. Replace <see cref="IWorkspaceStorageDirectory"/> (tests: an
    /// <see cref="InMemoryWorkspaceDirectory"/>), <see cref="ISweepLease"/> (a Kubernetes Lease in a cluster) or
    /// <see cref="IPresignedUrlRewriter"/> (the /s3 proxy) after this runs.
    /// </summary>
    public static IServiceCollection AddWorkspaceStorage(this IServiceCollection services)
    {
        services.AddOptions<StorageOptions>().BindConfiguration(StorageOptions.SectionName).ValidateOnStart();
        services.AddSingleton<IValidateOptions<StorageOptions>, StorageOptionsValidator>();
        services.TryAddSingleton(_ => new S3ClientFactory());
        services.TryAddSingleton<IWorkspaceStorageDirectory>(sp =>
        {
            var storage = sp.GetRequiredService<IOptions<StorageOptions>>().Value;
            return string.IsNullOrEmpty(storage.LocalModeDirectory)
                ? new InMemoryWorkspaceDirectory()
                : ActivatorUtilities.CreateInstance<LocalModeWorkspaceDirectory>(sp);
        });
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
        services.TryAddSingleton<S3StorageService>();
        services.TryAddSingleton<TtlSweeper>();
        services.AddHostedService(sp => sp.GetRequiredService<TtlSweeper>());
        return services;
    }

    public static IEndpointRouteBuilder MapWorkspaceStorage(this IEndpointRouteBuilder endpoints)
    {
        endpoints.MapS3StorageService();
        endpoints.MapFileRoutes();
        endpoints.MapMultipartRoutes();
        return endpoints;
    }

    /// <summary>In a cluster a Kubernetes Lease elects one sweeping replica; elsewhere (local mode) this process sweeps alone.</summary>
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
