using Hypha.Rpc;
using Microsoft.Extensions.Options;
using WorkspaceStorage.Api.OnDemand;
using WorkspaceStorage.Core.Workspaces;

namespace WorkspaceStorage.Api.HyphaRpc;

/// <summary>
/// Clean-up of on-demand storage for Hypha's temporary workspaces (anonymous users', apps' throw-away ones). Hypha sends
/// <c>workspace_deleted</c>/<c>workspace_unloaded</c> only inside the workspace concerned, where the companion is not,
/// so this polls Hypha's <c>list_workspaces</c> (the registration's token is minted by root and may list them all) and
/// removes the on-demand storage of a workspace that was temporary (<c>persistent: false</c> when last seen, or matching
/// <see cref="OnDemandOptions.TemporaryWorkspaces"/>) once two polls in a row no longer list it. A persistent workspace
/// that Hypha merely unloads is never touched here; idle clean-up covers those.
/// </summary>
public sealed class TemporaryWorkspaceWatcher(HyphaRegistrationService registration, IOnDemandStore store, OnDemandCleanup cleanup,
    IOptions<OnDemandOptions> options, ILogger<TemporaryWorkspaceWatcher> logger) : BackgroundService
{
    private const int PageSize = 256;

    private readonly OnDemandOptions settings = options.Value;
    private readonly WorkspacePatterns temporaryPatterns = new(options.Value.TemporaryWorkspaces);
    private readonly HashSet<string> seenTemporary = new(StringComparer.Ordinal);
    private readonly Dictionary<string, int> missedPolls = new(StringComparer.Ordinal);

    protected override async Task ExecuteAsync(CancellationToken stoppingToken)
    {
        using var timer = new PeriodicTimer(settings.HyphaWorkspacePollPeriod);
        while (await timer.WaitForNextTickAsync(stoppingToken))
        {
            if (!registration.Client.IsRegistered)
            {
                continue;
            }

            try
            {
                await PollAsync(stoppingToken);
            }
            catch (Exception ex) when (ex is HyphaConnectionException or HyphaRemoteException or TimeoutException)
            {
                logger.LogWarning("Could not list Hypha's workspaces (next try in {Period}): {Error}", settings.HyphaWorkspacePollPeriod, ex.Message);
            }
        }
    }

    /// <summary>One poll: which temporary workspaces with on-demand storage has Hypha stopped listing.</summary>
    public async Task PollAsync(CancellationToken cancellationToken)
    {
        var loaded = await ListLoadedAsync(cancellationToken);
        foreach (var resource in store.ListOnDemand())
        {
            if (resource.Metadata.DeletionTimestamp is not null || !WorkspaceId.TryParse(resource.Spec.Workspace, out var workspace, out _))
            {
                continue;
            }

            if (loaded.Contains(workspace.Value))
            {
                missedPolls.Remove(workspace.Value);
                continue;
            }

            if (!seenTemporary.Contains(workspace.Value) && temporaryPatterns.Refusal(workspace) is not null)
            {
                continue; // persistent (or unknown): idle clean-up decides
            }

            // Twice, so a workspace caught between unload and reload (or a listing racing a login) is not taken for gone.
            var missed = missedPolls[workspace.Value] = missedPolls.GetValueOrDefault(workspace.Value) + 1;
            if (missed >= 2)
            {
                missedPolls.Remove(workspace.Value);
                seenTemporary.Remove(workspace.Value);
                await cleanup.WorkspaceGoneAsync(workspace, "Hypha no longer has this temporary workspace", cancellationToken);
            }
        }
    }

    private async Task<HashSet<string>> ListLoadedAsync(CancellationToken cancellationToken)
    {
        var loaded = new HashSet<string>(StringComparer.Ordinal);
        for (var offset = 0; ; offset += PageSize)
        {
            var page = await registration.Client.CallManagerAsync("list_workspaces", [],
                new Dictionary<string, object?> { ["offset"] = offset, ["limit"] = PageSize }, cancellationToken: cancellationToken) as IReadOnlyList<object?> ?? [];
            foreach (var entry in page.OfType<IReadOnlyDictionary<string, object?>>())
            {
                if (entry.GetValueOrDefault("id") is string id)
                {
                    loaded.Add(id);
                    if (entry.GetValueOrDefault("persistent") is false)
                    {
                        seenTemporary.Add(id);
                    }
                }
            }

            if (page.Count < PageSize)
            {
                return loaded;
            }
        }
    }
}
