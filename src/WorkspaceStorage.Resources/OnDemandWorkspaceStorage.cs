using WorkspaceStorage.Core.Model;
using k8s.Models;
using WorkspaceStorage.Core.Workspaces;

namespace WorkspaceStorage.Resources;

/// <summary>
/// WorkspaceStorages the companion API creates when a Hypha workspace with no storage is first used: how they are
/// named and marked, so that clean-up can find them and never touches one that someone declared.
/// </summary>
public static class OnDemandWorkspaceStorage
{
    /// <summary>Label on every WorkspaceStorage made on demand (value <see cref="OnDemandLabelValue"/>).</summary>
    public const string OnDemandLabel = ApiGroup.Group + "/provisioned-by";

    public const string OnDemandLabelValue = "on-demand";

    /// <summary>Selector for <see cref="OnDemandLabel"/>.</summary>
    public const string Selector = OnDemandLabel + "=" + OnDemandLabelValue;

    /// <summary>
    /// When a companion replica last served the workspace (RFC 3339), written at most once per
    /// <c>OnDemand:UsageRecordInterval</c>, so clean-up by idle time does not cost a write per call.
    /// </summary>
    public const string LastUsedAnnotation = ApiGroup.Group + "/last-used";

    /// <summary>Kubernetes object names are kept to a DNS label (63) so every derived name (Secret, label values) fits.</summary>
    private const int MaxNameLength = 63;

    private const int DigestHexChars = 10;

    /// <summary>
    /// The object name for <paramref name="workspace"/>: the id with '|' turned into '-', cut to fit, and always
    /// followed by a digest of the exact id, so <c>ws-a|b</c> and <c>ws-a-b</c> (and two long ids sharing a start)
    /// never share a name. The same id always gives the same name: concurrent creators, in any replica, meet on it.
    /// </summary>
    public static string ObjectName(WorkspaceId workspace)
    {
        ArgumentNullException.ThrowIfNull(workspace);
        var head = workspace.Value.Replace('|', '-');
        var keep = MaxNameLength - DigestHexChars - 1;
        if (head.Length > keep)
        {
            head = head[..keep];
        }

        return head.TrimEnd('-') + "-" + workspace.Digest(DigestHexChars);
    }

    /// <summary>True when the object carries the on-demand label: the only objects clean-up may delete.</summary>
    public static bool IsOnDemand(WorkspaceStorageResource resource) =>
        resource?.Metadata?.Labels?.TryGetValue(OnDemandLabel, out var value) == true && value == OnDemandLabelValue;

    /// <summary>A new on-demand WorkspaceStorage for <paramref name="workspace"/> in <paramref name="namespace"/>, from <paramref name="template"/>.</summary>
    public static WorkspaceStorageResource Create(WorkspaceId workspace, string @namespace, WorkspaceStorageSpec template, DateTimeOffset now)
    {
        ArgumentNullException.ThrowIfNull(workspace);
        ArgumentNullException.ThrowIfNull(template);
        return new WorkspaceStorageResource
        {
            Metadata = new V1ObjectMeta
            {
                Name = ObjectName(workspace),
                NamespaceProperty = @namespace,
                Labels = new Dictionary<string, string> { [OnDemandLabel] = OnDemandLabelValue },
                Annotations = new Dictionary<string, string> { [LastUsedAnnotation] = FormatTime(now) },
            },
            Spec = template with { Workspace = workspace.Value },
        };
    }

    public static string FormatTime(DateTimeOffset time) =>
        time.UtcDateTime.ToString("yyyy-MM-ddTHH:mm:ssZ", System.Globalization.CultureInfo.InvariantCulture);

    /// <summary>The last-used time recorded on the object, or its creation time when none was recorded.</summary>
    public static DateTimeOffset? LastUsed(WorkspaceStorageResource resource)
    {
        ArgumentNullException.ThrowIfNull(resource);
        if (resource.Metadata.Annotations?.TryGetValue(LastUsedAnnotation, out var text) == true
            && DateTimeOffset.TryParse(text, System.Globalization.CultureInfo.InvariantCulture,
                System.Globalization.DateTimeStyles.AssumeUniversal | System.Globalization.DateTimeStyles.AdjustToUniversal, out var parsed))
        {
            return parsed;
        }

        return resource.Metadata.CreationTimestamp is { } created ? new DateTimeOffset(DateTime.SpecifyKind(created, DateTimeKind.Utc)) : null;
    }
}
