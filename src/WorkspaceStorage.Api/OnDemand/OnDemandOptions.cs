using Microsoft.Extensions.Options;
using WorkspaceStorage.Core.Model;
using WorkspaceStorage.Resources;
using WorkspaceStorage.Core.Workspaces;

namespace WorkspaceStorage.Api.OnDemand;

/// <summary>
/// On-demand provisioning (<c>OnDemand</c> section), off by default: a call for a workspace with no WorkspaceStorage
/// creates one from <see cref="Template"/> in <see cref="Namespace"/>, when <see cref="AllowedWorkspaces"/> allows it.
/// </summary>
public sealed class OnDemandOptions
{
    public const string SectionName = "OnDemand";

    public bool Enabled { get; set; }

    /// <summary>Where on-demand WorkspaceStorages are created (the companion's RBAC allows creating them here only).</summary>
    public string? Namespace { get; set; }

    /// <summary>
    /// Workspace id patterns ('*' matches any run of characters), read in order; the last one that matches decides, and
    /// a pattern starting with '!' refuses. <c>["ws-user-*", "!ws-user-anonymouz-*"]</c>: every user's personal
    /// workspace, but not Hypha's temporary anonymous ones.
    /// </summary>
    public List<string> AllowedWorkspaces { get; set; } = [];

    public OnDemandTemplate Template { get; set; } = new();

    /// <summary>How long a first call waits for its new WorkspaceStorage to become Ready.</summary>
    public TimeSpan ReadyTimeout { get; set; } = TimeSpan.FromSeconds(60);

    /// <summary>Delete an on-demand WorkspaceStorage no call has used for this long; null keeps them until Hypha deletes the workspace.</summary>
    public TimeSpan? IdleTimeout { get; set; }

    /// <summary>Use is recorded on the object (annotation) at most this often per workspace and replica.</summary>
    public TimeSpan UsageRecordInterval { get; set; } = TimeSpan.FromMinutes(10);

    /// <summary>How often the clean-up sweep looks for idle on-demand WorkspaceStorages.</summary>
    public TimeSpan CleanupPeriod { get; set; } = TimeSpan.FromMinutes(1);

    /// <summary>
    /// With a Hypha registration: follow Hypha's loaded workspaces (its <c>list_workspaces</c>, every
    /// <see cref="HyphaWorkspacePollPeriod"/>) and delete the on-demand storage of a temporary workspace once Hypha no
    /// longer has it. Hypha sends workspace events only inside the workspace concerned, so polling is the way to learn it.
    /// </summary>
    public bool FollowHyphaWorkspaces { get; set; } = true;

    public TimeSpan HyphaWorkspacePollPeriod { get; set; } = TimeSpan.FromSeconds(30);

    /// <summary>Workspaces treated as temporary even when Hypha never reported them (an earlier run's anonymous ones).</summary>
    public List<string> TemporaryWorkspaces { get; set; } = ["ws-user-anonymouz-*"];
}

/// <summary>The spec every on-demand WorkspaceStorage gets (its <c>spec.workspace</c> is the Hypha id, verbatim).</summary>
public sealed class OnDemandTemplate
{
    /// <summary>The StorageBackend to use (required).</summary>
    public string? BackendRef { get; set; }

    public WorkspaceAccess Access { get; set; } = WorkspaceAccess.ReadWrite;

    /// <summary>What happens to the data when the WorkspaceStorage is cleaned up: Retain (default) or Delete.</summary>
    public DeletionPolicy DeletionPolicy { get; set; } = DeletionPolicy.Retain;

    public string? RotationInterval { get; set; }

    public string? RotationGracePeriod { get; set; }

    public WorkspaceStorageSpec ToSpec() => new()
    {
        BackendRef = new BackendReference { Name = BackendRef ?? string.Empty },
        Access = Access,
        DeletionPolicy = DeletionPolicy,
        Credentials = RotationInterval is null && RotationGracePeriod is null
            ? null
            : new CredentialsSpec { RotationInterval = RotationInterval, RotationGracePeriod = RotationGracePeriod ?? "10m" },
    };
}

/// <summary>Refuses to start with an on-demand setting that could not work, naming the setting.</summary>
internal sealed class OnDemandOptionsValidator : IValidateOptions<OnDemandOptions>
{
    public ValidateOptionsResult Validate(string? name, OnDemandOptions options)
    {
        if (!options.Enabled)
        {
            return ValidateOptionsResult.Success;
        }

        var failures = new List<string>();
        if (string.IsNullOrWhiteSpace(options.Namespace))
        {
            failures.Add("OnDemand:Namespace is required when OnDemand:Enabled is true");
        }

        if (options.AllowedWorkspaces.Count == 0)
        {
            failures.Add("OnDemand:AllowedWorkspaces must list at least one pattern (e.g. ws-user-*) when OnDemand:Enabled is true");
        }

        foreach (var pattern in options.AllowedWorkspaces)
        {
            if (WorkspacePatterns.Check(pattern) is { } rule)
            {
                failures.Add($"OnDemand:AllowedWorkspaces entry '{pattern}' {rule}");
            }
        }

        if (string.IsNullOrWhiteSpace(options.Template.BackendRef))
        {
            failures.Add("OnDemand:Template:BackendRef is required (the StorageBackend on-demand workspaces use)");
        }

        // The operator would stall such an object; refuse the template here instead, once, with the field named.
        var probe = OnDemandWorkspaceStorage.Create(WorkspaceId.Parse("ws-template-check"), options.Namespace ?? "default", options.Template.ToSpec(), DateTimeOffset.UnixEpoch);
        var validation = probe.Validate(hasDefaultBackend: false);
        foreach (var error in validation.Errors)
        {
            failures.Add($"OnDemand:Template: {error.Field} {error.Rule}");
        }

        if (options.ReadyTimeout <= TimeSpan.Zero || options.ReadyTimeout > TimeSpan.FromMinutes(10))
        {
            failures.Add("OnDemand:ReadyTimeout must be between 0 and 10 minutes");
        }

        if (options.IdleTimeout is { } idle && idle < TimeSpan.FromMinutes(1))
        {
            failures.Add("OnDemand:IdleTimeout must be at least 1 minute");
        }

        if (options.IdleTimeout is { } idleTimeout && options.UsageRecordInterval * 2 > idleTimeout)
        {
            failures.Add("OnDemand:UsageRecordInterval must be at most half of OnDemand:IdleTimeout (or a workspace in use could look idle)");
        }

        foreach (var pattern in options.TemporaryWorkspaces)
        {
            if (WorkspacePatterns.Check(pattern) is { } rule)
            {
                failures.Add($"OnDemand:TemporaryWorkspaces entry '{pattern}' {rule}");
            }
        }

        if (options.HyphaWorkspacePollPeriod < TimeSpan.FromSeconds(1))
        {
            failures.Add("OnDemand:HyphaWorkspacePollPeriod must be at least 1 second");
        }

        if (options.UsageRecordInterval < TimeSpan.FromSeconds(1) || options.CleanupPeriod < TimeSpan.FromSeconds(1))
        {
            failures.Add("OnDemand:UsageRecordInterval and OnDemand:CleanupPeriod must be at least 1 second");
        }

        return failures.Count == 0 ? ValidateOptionsResult.Success : ValidateOptionsResult.Fail(failures);
    }
}
