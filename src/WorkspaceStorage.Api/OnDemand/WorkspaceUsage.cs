using System.Collections.Concurrent;
using Microsoft.Extensions.Options;
using WorkspaceStorage.Resources;
using WorkspaceStorage.Core.Workspaces;
using WorkspaceStorage.Kubernetes.Runtime;

namespace WorkspaceStorage.Api.OnDemand;

/// <summary>
/// Records when on-demand workspaces are used, for idle clean-up, without a write per call: each call only compares a
/// timestamp in memory; the object's last-used annotation is patched in the background when the one it carries is
/// older than <see cref="OnDemandOptions.UsageRecordInterval"/>, at most once per interval per workspace and replica.
/// </summary>
public sealed class WorkspaceUsage(IOnDemandStore store, IOptions<OnDemandOptions> options, TimeProvider clock, ILogger<WorkspaceUsage> logger)
{
    private readonly TimeSpan interval = options.Value.UsageRecordInterval;
    private readonly ConcurrentDictionary<string, DateTimeOffset> recordedAt = new(StringComparer.Ordinal);

    public void Record(WorkspaceId workspace)
    {
        var now = clock.GetUtcNow();
        if (recordedAt.TryGetValue(workspace.Value, out var last) && now - last < interval)
        {
            return;
        }

        recordedAt[workspace.Value] = now;
        _ = RecordAsync(workspace, now);
    }

    private async Task RecordAsync(WorkspaceId workspace, DateTimeOffset now)
    {
        try
        {
            foreach (var resource in store.Claiming(workspace))
            {
                if (!OnDemandWorkspaceStorage.IsOnDemand(resource) || resource.Metadata.DeletionTimestamp is not null
                    || (OnDemandWorkspaceStorage.LastUsed(resource) is { } last && now - last < interval))
                {
                    continue;
                }

                using var timeout = new CancellationTokenSource(TimeSpan.FromSeconds(30));
                await store.AnnotateAsync(ResourceKey.Of(resource), OnDemandWorkspaceStorage.LastUsedAnnotation,
                    OnDemandWorkspaceStorage.FormatTime(now), timeout.Token);
            }
        }
        catch (Exception ex) when (ex is ResourceClientException or OperationCanceledException)
        {
            // A missed record only makes the workspace look idle sooner by one interval; try again on the next call.
            recordedAt.TryRemove(workspace.Value, out _);
            logger.LogWarning("Could not record use of workspace {Workspace}: {Error}", workspace, ex.GetType().Name);
        }
    }
}
