using Microsoft.Extensions.Options;
using WorkspaceStorage.Resources;
using WorkspaceStorage.Core.Workspaces;
using WorkspaceStorage.Kubernetes.Runtime;

namespace WorkspaceStorage.Api.OnDemand;

/// <summary>
/// Removes on-demand WorkspaceStorages whose workspace is gone: when Hypha says it deleted a temporary workspace, and
/// when none was used for <see cref="OnDemandOptions.IdleTimeout"/>. Only objects with the on-demand label are ever
/// deleted; a declared WorkspaceStorage is never touched. Deleting the object lets the operator remove the identity, and
/// the data when the template's deletionPolicy is Delete. Several replicas may sweep: deletion is idempotent.
/// </summary>
public sealed class OnDemandCleanup(IOnDemandStore store, IOptions<OnDemandOptions> options, TimeProvider clock, ILogger<OnDemandCleanup> logger)
    : BackgroundService
{
    private readonly OnDemandOptions settings = options.Value;

    /// <summary>Hypha deleted <paramref name="workspace"/> (or unloaded a temporary one): its on-demand storage goes too.</summary>
    public async Task WorkspaceGoneAsync(WorkspaceId workspace, string why, CancellationToken cancellationToken)
    {
        foreach (var resource in store.Claiming(workspace).Where(OnDemandWorkspaceStorage.IsOnDemand))
        {
            await DeleteAsync(resource, why, cancellationToken);
        }
    }

    /// <summary>One idle sweep: deletes every on-demand object last used before now − IdleTimeout.</summary>
    public async Task SweepIdleAsync(CancellationToken cancellationToken)
    {
        if (settings.IdleTimeout is not { } idle)
        {
            return;
        }

        var cutoff = clock.GetUtcNow() - idle;
        foreach (var cached in store.ListOnDemand())
        {
            if (!IdleSince(cached, cutoff, out _))
            {
                continue;
            }

            // The cache may not have the last-used write of a call a moment ago yet (seen in a test: the workspace in
            // use lost its storage). Idle in the cache is only a candidate: the stored object decides.
            if (await store.GetAsync(ResourceKey.Of(cached), cancellationToken) is { } stored && IdleSince(stored, cutoff, out var last))
            {
                await DeleteAsync(stored, $"unused since {OnDemandWorkspaceStorage.FormatTime(last)}", cancellationToken);
            }
        }
    }

    private static bool IdleSince(WorkspaceStorageResource resource, DateTimeOffset cutoff, out DateTimeOffset last)
    {
        last = OnDemandWorkspaceStorage.LastUsed(resource) ?? DateTimeOffset.MaxValue;
        return resource.Metadata.DeletionTimestamp is null && last < cutoff;
    }

    protected override async Task ExecuteAsync(CancellationToken stoppingToken)
    {
        if (settings.IdleTimeout is null)
        {
            return;
        }

        using var timer = new PeriodicTimer(settings.CleanupPeriod, clock);
        while (await timer.WaitForNextTickAsync(stoppingToken))
        {
            try
            {
                await SweepIdleAsync(stoppingToken);
            }
            catch (Exception ex) when (ex is ResourceClientException)
            {
                logger.LogWarning("Idle clean-up of on-demand WorkspaceStorages failed; next sweep in {Period}: {Error}", settings.CleanupPeriod, ex.Message);
            }
        }
    }

    private async Task DeleteAsync(WorkspaceStorageResource resource, string why, CancellationToken cancellationToken)
    {
        if (!OnDemandWorkspaceStorage.IsOnDemand(resource))
        {
            return; // never a declared one, whatever the caller passed
        }

        var key = ResourceKey.Of(resource);
        if (await store.DeleteAsync(key, cancellationToken))
        {
            logger.LogInformation("Deleted on-demand WorkspaceStorage {Namespace}/{Name} (workspace {Workspace}): {Why}",
                key.Namespace, key.Name, resource.Spec.Workspace, why);
        }
    }
}
