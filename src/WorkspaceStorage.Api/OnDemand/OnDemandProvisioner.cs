using System.Collections.Concurrent;
using Microsoft.Extensions.Options;
using WorkspaceStorage.Api.Errors;
using WorkspaceStorage.Api.Workspaces;
using WorkspaceStorage.Core.Model;
using WorkspaceStorage.Resources;
using WorkspaceStorage.Core.Workspaces;
using WorkspaceStorage.Kubernetes.Runtime;

namespace WorkspaceStorage.Api.OnDemand;

/// <summary>
/// Gives a workspace with no storage a WorkspaceStorage on its first call, when the allow-list lets it: creates one
/// from the template under a name derived from the workspace id, then waits until the operator has made it Ready and
/// the directory serves it. Concurrent first calls in this process share one attempt; across replicas they meet on the
/// derived name (the API server accepts one create and answers the others 409, which is success here). A workspace that
/// another WorkspaceStorage already claims (a declared one, not Ready yet) is waited for, never doubled.
/// </summary>
public sealed class OnDemandProvisioner
{
    private static readonly TimeSpan FirstPoll = TimeSpan.FromMilliseconds(20);
    private static readonly TimeSpan LongestPoll = TimeSpan.FromMilliseconds(100);
    private static readonly TimeSpan ConditionCheckInterval = TimeSpan.FromSeconds(1);

    private readonly IOnDemandStore store;
    private readonly IWorkspaceStorageDirectory directory;
    private readonly OnDemandOptions options;
    private readonly WorkspacePatterns allowed;
    private readonly TimeProvider clock;
    private readonly ILogger<OnDemandProvisioner> logger;
    private readonly ConcurrentDictionary<string, Lazy<Task<WorkspaceStorageHandle>>> inFlight = new(StringComparer.Ordinal);

    public OnDemandProvisioner(IOnDemandStore store, IWorkspaceStorageDirectory directory, IOptions<OnDemandOptions> options, TimeProvider clock,
        ILogger<OnDemandProvisioner> logger)
    {
        this.store = store;
        this.directory = directory;
        this.options = options.Value;
        allowed = new WorkspacePatterns(this.options.AllowedWorkspaces);
        this.clock = clock;
        this.logger = logger;
    }

    /// <summary>W's storage, provisioned if needed. 403 naming the rule when the allow-list refuses W; 503 when it is not Ready in time.</summary>
    public async Task<WorkspaceStorageHandle> ProvisionAsync(WorkspaceId workspace, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(workspace);
        if (allowed.Refusal(workspace) is { } rule)
        {
            throw new ApiException(StatusCodes.Status403Forbidden,
                $"workspace '{workspace}' has no storage, and on-demand provisioning does not cover it: {rule}");
        }

        // The shared attempt runs on its own deadline, not on the first caller's token: a caller that gives up must not
        // cancel the others' wait.
        var attempt = inFlight.GetOrAdd(workspace.Value, _ => new Lazy<Task<WorkspaceStorageHandle>>(() => RunAttemptAsync(workspace)));
        return await attempt.Value.WaitAsync(cancellationToken);
    }

    private async Task<WorkspaceStorageHandle> RunAttemptAsync(WorkspaceId workspace)
    {
        try
        {
            // Waiting and polling run on real time: they are mechanism, not the workspace's business clock.
            using var deadline = new CancellationTokenSource(options.ReadyTimeout);
            return await EnsureReadyAsync(workspace, deadline.Token);
        }
        finally
        {
            inFlight.TryRemove(workspace.Value, out _);
        }
    }

    private async Task<WorkspaceStorageHandle> EnsureReadyAsync(WorkspaceId workspace, CancellationToken deadline)
    {
        var started = System.Diagnostics.Stopwatch.GetTimestamp();
        var key = new ResourceKey(options.Namespace!, OnDemandWorkspaceStorage.ObjectName(workspace));
        var poll = FirstPoll;
        var lastConditionCheck = System.Diagnostics.Stopwatch.GetTimestamp();
        var createdHere = false;

        // One create per attempt: the cache may not show the new object for a few polls, and creating again would only
        // earn 409s. Only when a claim was seen and then vanished (an idle clean-up finishing) is creating again right.
        var mayCreate = true;
        var sawClaim = false;
        // With a directory that reports changes, the wait ends as soon as the operator's status write reaches its cache;
        // polling stays as the fallback (a Secret cached after the Ready status, directories without notice).
        var changes = directory as IWorkspaceChangeNotifier;
        try
        {
            while (true)
            {
                var changed = changes?.WhenChanged(workspace);
                if (await directory.FindAsync(workspace, deadline) is { } handle)
                {
                    if (createdHere)
                    {
                        logger.LogInformation("On-demand storage for workspace {Workspace} ({Namespace}/{Name}) ready after {ElapsedMs} ms",
                            workspace, key.Namespace, key.Name, (int)System.Diagnostics.Stopwatch.GetElapsedTime(started).TotalMilliseconds);
                    }

                    return handle;
                }

                var claims = store.Claiming(workspace);
                if (claims.Count == 0 && (mayCreate || sawClaim))
                {
                    createdHere |= await TryCreateAsync(workspace, key, deadline);
                    mayCreate = sawClaim = false;
                }
                else if (claims.Count > 0)
                {
                    sawClaim = true;
                }

                if (claims.Count > 0 && System.Diagnostics.Stopwatch.GetElapsedTime(lastConditionCheck) >= ConditionCheckInterval)
                {
                    lastConditionCheck = System.Diagnostics.Stopwatch.GetTimestamp();
                    ThrowIfStuck(workspace, claims);
                }

                var delay = Task.Delay(poll, deadline);
                if (changed is null)
                {
                    await delay;
                }
                else
                {
                    await Task.WhenAny(changed, delay);
                    deadline.ThrowIfCancellationRequested();
                }

                poll = TimeSpan.FromTicks(Math.Min(poll.Ticks * 2, LongestPoll.Ticks));
            }
        }
        catch (OperationCanceledException) when (deadline.IsCancellationRequested)
        {
            throw new ApiException(StatusCodes.Status503ServiceUnavailable,
                $"the storage for workspace '{workspace}' is being created and was not ready within {options.ReadyTimeout.TotalSeconds:0} s; retry shortly")
            {
                RetryAfter = TimeSpan.FromSeconds(5),
            };
        }
        finally
        {
            changes?.StopWaiting(workspace);
        }
    }

    /// <summary>True when this call created the object; false when someone else had (409), which is just as good.</summary>
    private async Task<bool> TryCreateAsync(WorkspaceId workspace, ResourceKey key, CancellationToken deadline)
    {
        var resource = OnDemandWorkspaceStorage.Create(workspace, key.Namespace!, options.Template.ToSpec(), clock.GetUtcNow());
        try
        {
            await store.CreateAsync(resource, deadline);
            logger.LogInformation("Created on-demand WorkspaceStorage {Namespace}/{Name} for workspace {Workspace}", key.Namespace, key.Name, workspace);
            return true;
        }
        catch (ResourceAlreadyExistsException)
        {
            return false;
        }
        catch (ResourceRejectedException ex)
        {
            // RBAC or admission refused it: no retry will help until an admin changes something.
            logger.LogWarning("Could not create on-demand WorkspaceStorage {Namespace}/{Name}: {Reason}", key.Namespace, key.Name, ex.Message);
            throw new ApiException(StatusCodes.Status503ServiceUnavailable,
                $"on-demand provisioning could not create the storage for workspace '{workspace}' ({ex.Message}); ask the administrator");
        }
    }

    /// <summary>A claiming object that is Stalled will not become Ready by waiting: say why at once.</summary>
    private static void ThrowIfStuck(WorkspaceId workspace, IReadOnlyList<WorkspaceStorageResource> claims)
    {
        foreach (var claim in claims)
        {
            if (claim.Metadata.DeletionTimestamp is null
                && claim.Status?.Conditions.FirstOrDefault(c => c.Type == ConditionTypes.Stalled && c.Status == "True") is { } stalled)
            {
                throw new ApiException(StatusCodes.Status503ServiceUnavailable,
                    $"the storage for workspace '{workspace}' ({claim.Metadata.NamespaceProperty}/{claim.Metadata.Name}) is stalled: {stalled.Reason}: {stalled.Message}");
            }
        }
    }
}
