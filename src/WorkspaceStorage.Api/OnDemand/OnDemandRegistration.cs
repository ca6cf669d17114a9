using Microsoft.Extensions.Options;
using WorkspaceStorage.Api.Workspaces;

namespace WorkspaceStorage.Api.OnDemand;

/// <summary>Registers on-demand provisioning and its clean-up when <c>OnDemand:Enabled</c> is true.</summary>
public static class OnDemandRegistration
{
    /// <summary>The operator's local-mode manifest directory, where on-demand manifests are written when there is no cluster.</summary>
    public const string LocalManifestDirSetting = "Api:LocalManifestDir";

    private static OptionsValidationException Invalid(string message) =>
        new(OnDemandOptions.SectionName, typeof(OnDemandOptions), [message]);

    public static IServiceCollection AddOnDemandProvisioning(this IServiceCollection services, IConfiguration configuration, WorkspaceSource source)
    {
        services.AddOptions<OnDemandOptions>().BindConfiguration(OnDemandOptions.SectionName).ValidateOnStart();
        services.AddSingleton<IValidateOptions<OnDemandOptions>, OnDemandOptionsValidator>();
        if (!configuration.GetValue<bool>($"{OnDemandOptions.SectionName}:{nameof(OnDemandOptions.Enabled)}"))
        {
            return services;
        }

        switch (source)
        {
            case WorkspaceSource.Kubernetes:
                services.AddSingleton<IOnDemandStore>(sp =>
                {
                    var directory = sp.GetRequiredService<KubernetesWorkspaceDirectory>();
                    return new ResourceOnDemandStore(directory.WorkspaceStorages, sp.GetRequiredService<KubernetesDirectorySources>().WorkspaceStorageClient);
                });
                break;
            case WorkspaceSource.Local when configuration[LocalManifestDirSetting] is { Length: > 0 } manifests:
                services.AddSingleton<IOnDemandStore>(sp => new LocalManifestOnDemandStore(manifests,
                    WorkspaceSourceSelection.LocalDirectory(configuration)!, sp.GetRequiredService<ILogger<LocalManifestOnDemandStore>>()));
                break;
            case WorkspaceSource.Local:
                throw Invalid($"OnDemand:Enabled with the local-mode workspace source needs {LocalManifestDirSetting} (the operator's --local-dir)");
            default:
                throw Invalid($"OnDemand:Enabled needs workspaces from Kubernetes or the operator's local mode (Api:WorkspaceSource), not '{source.ToString().ToLowerInvariant()}'");
        }

        services.AddSingleton<OnDemandProvisioner>();
        services.AddSingleton<WorkspaceUsage>();
        services.AddSingleton<OnDemandCleanup>();
        services.AddHostedService(sp => sp.GetRequiredService<OnDemandCleanup>());
        return services;
    }
}
