using Microsoft.Extensions.Options;
using WorkspaceStorage.Api.Workspaces;

namespace WorkspaceStorage.Api.OnDemand;

/// <summary>Registers on-demand provisioning and its clean-up when <c>OnDemand:Enabled</c> is true.</summary>
public static class OnDemandRegistration
{
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

        if (source != WorkspaceSource.Kubernetes)
        {
            throw Invalid($"OnDemand:Enabled needs workspaces from Kubernetes (Api:WorkspaceSource), not '{source.ToString().ToLowerInvariant()}'");
        }

        services.AddSingleton<IOnDemandStore>(sp =>
        {
            var directory = sp.GetRequiredService<KubernetesWorkspaceDirectory>();
            var own = sp.GetRequiredService<IOptions<OnDemandOptions>>().Value.Namespace;
            // Its own claims always count (refused, their Stalled condition says why at once); others' only within the ceiling.
            return new ResourceOnDemandStore(directory.WorkspaceStorages, sp.GetRequiredService<KubernetesDirectorySources>().WorkspaceStorageClient,
                claim => claim.Metadata.NamespaceProperty == own || directory.IsWithinCeiling(claim));
        });

        services.AddSingleton<OnDemandProvisioner>();
        services.AddSingleton<WorkspaceUsage>();
        services.AddSingleton<OnDemandCleanup>();
        services.AddHostedService(sp => sp.GetRequiredService<OnDemandCleanup>());
        return services;
    }
}
