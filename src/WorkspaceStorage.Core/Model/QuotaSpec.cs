using System.ComponentModel;
using System.Text.Json.Serialization;
using WorkspaceStorage.Core.Model.Schema;

namespace WorkspaceStorage.Core.Model;

/// <summary>A workspace's limits: how many bytes and objects it may hold under its prefix.</summary>
public sealed record QuotaSpec
{
    [JsonPropertyName("maxSize")]
    [Description("Most bytes the workspace may hold, as a Kubernetes quantity ('10Gi', '500M', '1000'). Unset: the StorageBackend's quota.default, else no size limit.")]
    [CrdPattern(QuotaRules.QuantityPattern)]
    [CrdLength(MinLength = 1, MaxLength = 32)]
    public string? MaxSize { get; init; }

    [JsonPropertyName("maxObjects")]
    [Description("Most objects the workspace may hold. Unset: the StorageBackend's quota.default, else no object limit.")]
    [CrdValidation("self >= 0", "must not be negative")]
    public long? MaxObjects { get; init; }
}

/// <summary>The admin's quota rules on a StorageBackend: what a workspace gets unasked, and the most it may ask for.</summary>
[CrdValidation(
    "!has(self.default) || !has(self.ceiling) || !has(self.default.maxObjects) || !has(self.ceiling.maxObjects) || self.default.maxObjects <= self.ceiling.maxObjects",
    "default.maxObjects must not be above ceiling.maxObjects")]
public sealed record BackendQuotaSpec
{
    [JsonPropertyName("default")]
    [Description("The quota of a WorkspaceStorage that sets no spec.quota (per field).")]
    public QuotaSpec? Default { get; init; }

    [JsonPropertyName("ceiling")]
    [Description("The most a WorkspaceStorage may ask for in spec.quota (per field); above it the claim is refused (Stalled, reason QuotaAboveCeiling). A ceiling field without a default also limits workspaces that ask for nothing.")]
    public QuotaSpec? Ceiling { get; init; }
}

/// <summary>Limits in bytes and objects; null: no limit on that dimension.</summary>
public sealed record QuotaLimits(long? MaxBytes, long? MaxObjects)
{
    public static readonly QuotaLimits None = new(null, null);

    public bool IsLimited => MaxBytes is not null || MaxObjects is not null;
}

/// <summary>A StorageBackend's validated quota rules.</summary>
public sealed record BackendQuota(QuotaLimits Default, QuotaLimits Ceiling)
{
    public static readonly BackendQuota None = new(QuotaLimits.None, QuotaLimits.None);
}

/// <summary>What a workspace holds under its prefix, as last measured.</summary>
/// <param name="Complete">False when the listing stopped at its page cap: the figures are a lower bound.</param>
public sealed record UsageFigures(long Bytes, long Objects, bool Complete);
