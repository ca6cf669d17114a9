using System.Globalization;
using System.Numerics;
using WorkspaceStorage.Core.Workspaces;

namespace WorkspaceStorage.Core.Model;

/// <summary>
/// Every quota rule in one place (pure, no I/O): parsing sizes, the admin's default and ceiling, whether a workspace is
/// over, what access it keeps, and whether an upload would go over.
/// </summary>
/// <remarks>
/// Enforcement is by policy on every backend, not by the server's own quota: Ceph RGW charges quota and usage to the
/// bucket's OWNER (the admin user, who owns the one shared bucket), not to the workspace user writing into it, so an RGW
/// user quota on a workspace user never fires (measured: a workspace user with max-size 1000 wrote 9000 bytes unrefused).
/// Instead a workspace at its quota keeps <see cref="AccessLevel.ReadDelete"/>: its identity's policy loses s3:PutObject
/// and the storage server itself refuses every put (403) until usage falls back under the quota.
/// </remarks>
public static class QuotaRules
{
    /// <summary>A Kubernetes quantity of bytes: digits, an optional fraction, an optional binary or decimal suffix.</summary>
    public const string QuantityPattern = "^[0-9]+(\\.[0-9]+)?(Ki|Mi|Gi|Ti|Pi|Ei|k|M|G|T|P|E)?$";

    /// <summary>Parses a size such as <c>10Gi</c>, <c>500M</c>, <c>1.5Ki</c> or <c>1000</c> into bytes (fractions of a byte round up).</summary>
    public static bool TryParseSize(string? value, out long bytes, out string rule)
    {
        bytes = 0;
        rule = string.Empty;
        if (string.IsNullOrEmpty(value))
        {
            rule = "must not be empty";
            return false;
        }

        var digits = value.Length;
        while (digits > 0 && !char.IsAsciiDigit(value[digits - 1]))
        {
            digits--;
        }

        var suffix = value[digits..];
        BigInteger multiplier = suffix switch
        {
            "" => 1,
            "k" => BigInteger.Pow(1000, 1),
            "M" => BigInteger.Pow(1000, 2),
            "G" => BigInteger.Pow(1000, 3),
            "T" => BigInteger.Pow(1000, 4),
            "P" => BigInteger.Pow(1000, 5),
            "E" => BigInteger.Pow(1000, 6),
            "Ki" => BigInteger.One << 10,
            "Mi" => BigInteger.One << 20,
            "Gi" => BigInteger.One << 30,
            "Ti" => BigInteger.One << 40,
            "Pi" => BigInteger.One << 50,
            "Ei" => BigInteger.One << 60,
            _ => BigInteger.MinusOne,
        };
        var number = value[..digits];
        var dot = number.IndexOf('.', StringComparison.Ordinal);
        var whole = dot < 0 ? number : number[..dot];
        var fraction = dot < 0 ? string.Empty : number[(dot + 1)..];
        if (multiplier < 0 || whole.Length == 0 || !whole.All(char.IsAsciiDigit) || (dot >= 0 && (fraction.Length == 0 || !fraction.All(char.IsAsciiDigit))))
        {
            rule = $"must be a quantity of bytes such as '10Gi', '500M' or '1000' (got '{value}')";
            return false;
        }

        var scale = BigInteger.Pow(10, fraction.Length);
        var numerator = BigInteger.Parse(whole + fraction, CultureInfo.InvariantCulture) * multiplier;
        var result = BigInteger.DivRem(numerator, scale, out var remainder) + (remainder.IsZero ? 0 : 1);
        if (result > long.MaxValue)
        {
            rule = $"is too large (got '{value}')";
            return false;
        }

        bytes = (long)result;
        return true;
    }

    /// <summary>Bytes as the largest binary unit that holds them whole (<c>10Gi</c>, <c>1000</c>), for messages.</summary>
    public static string FormatSize(long bytes)
    {
        string[] units = ["Ei", "Pi", "Ti", "Gi", "Mi", "Ki"];
        for (var i = 0; i < units.Length; i++)
        {
            var unit = 1L << (10 * (units.Length - i));
            if (bytes >= unit && bytes % unit == 0)
            {
                return (bytes / unit).ToString(CultureInfo.InvariantCulture) + units[i];
            }
        }

        return bytes.ToString(CultureInfo.InvariantCulture);
    }

    /// <summary>The limits one <see cref="QuotaSpec"/> states; <paramref name="errors"/> gets its broken rules under <paramref name="field"/>.</summary>
    public static QuotaLimits LimitsOf(QuotaSpec? quota, string field, List<FieldError> errors)
    {
        ArgumentNullException.ThrowIfNull(errors);
        if (quota is null)
        {
            return QuotaLimits.None;
        }

        long? maxBytes = null;
        if (quota.MaxSize is not null)
        {
            if (TryParseSize(quota.MaxSize, out var bytes, out var rule))
            {
                maxBytes = bytes;
            }
            else
            {
                errors.Add(new(field + ".maxSize", rule));
            }
        }

        if (quota.MaxObjects is < 0)
        {
            errors.Add(new(field + ".maxObjects", $"must not be negative (got {quota.MaxObjects})"));
        }

        return new QuotaLimits(maxBytes, quota.MaxObjects is >= 0 ? quota.MaxObjects : null);
    }

    /// <summary>A StorageBackend's quota rules; the default must lie within the ceiling.</summary>
    public static BackendQuota BackendQuotaOf(BackendQuotaSpec? quota, List<FieldError> errors)
    {
        ArgumentNullException.ThrowIfNull(errors);
        if (quota is null)
        {
            return BackendQuota.None;
        }

        var defaults = LimitsOf(quota.Default, "spec.quota.default", errors);
        var ceiling = LimitsOf(quota.Ceiling, "spec.quota.ceiling", errors);
        if (defaults.MaxBytes > ceiling.MaxBytes)
        {
            errors.Add(new("spec.quota.default.maxSize", $"must not be above spec.quota.ceiling.maxSize ({quota.Default!.MaxSize} > {quota.Ceiling!.MaxSize})"));
        }

        if (defaults.MaxObjects > ceiling.MaxObjects)
        {
            errors.Add(new("spec.quota.default.maxObjects", $"must not be above spec.quota.ceiling.maxObjects ({defaults.MaxObjects} > {ceiling.MaxObjects})"));
        }

        return new BackendQuota(defaults, ceiling);
    }

    /// <summary>
    /// The limits that apply to a workspace: per field, what it asks for (<paramref name="requested"/>, already parsed),
    /// else the backend's default, else the ceiling. Asking above the ceiling is an error naming the field and the rule:
    /// a tenant cannot raise its own ceiling.
    /// </summary>
    /// <param name="backendName">For messages: the StorageBackend's name ("" for the operator's default backend).</param>
    public static ValidationResult<QuotaLimits> Effective(QuotaLimits requested, BackendQuota backend, string backendName)
    {
        ArgumentNullException.ThrowIfNull(requested);
        ArgumentNullException.ThrowIfNull(backend);
        var who = backendName.Length == 0 ? "the default backend" : $"StorageBackend '{backendName}'";
        var errors = new List<FieldError>();
        if (requested.MaxBytes > backend.Ceiling.MaxBytes)
        {
            errors.Add(new("spec.quota.maxSize",
                $"must not be above the ceiling of {who} (spec.quota.ceiling.maxSize {FormatSize(backend.Ceiling.MaxBytes!.Value)}; asked for {FormatSize(requested.MaxBytes!.Value)}); only the backend's admin can raise it"));
        }

        if (requested.MaxObjects > backend.Ceiling.MaxObjects)
        {
            errors.Add(new("spec.quota.maxObjects",
                $"must not be above the ceiling of {who} (spec.quota.ceiling.maxObjects {backend.Ceiling.MaxObjects}; asked for {requested.MaxObjects}); only the backend's admin can raise it"));
        }

        return errors.Count > 0
            ? ValidationResult.Invalid<QuotaLimits>(errors)
            : ValidationResult.Valid(new QuotaLimits(
                requested.MaxBytes ?? backend.Default.MaxBytes ?? backend.Ceiling.MaxBytes,
                requested.MaxObjects ?? backend.Default.MaxObjects ?? backend.Ceiling.MaxObjects));
    }

    /// <summary>At or over a limit: one more object, or one more byte, would go over. Unknown usage is never over.</summary>
    public static bool IsReached(UsageFigures? usage, QuotaLimits limits)
    {
        ArgumentNullException.ThrowIfNull(limits);
        return usage is not null && (usage.Bytes >= limits.MaxBytes || usage.Objects >= limits.MaxObjects);
    }

    /// <summary>
    /// The access a workspace's identity gets: what its spec asks for, narrowed to <see cref="AccessLevel.ReadDelete"/>
    /// (read, list, delete; no put) while a ReadWrite workspace is at or over its quota, so the server refuses new data
    /// and the workspace can still free space. Back under the quota (or a raised quota): the full access again.
    /// </summary>
    public static AccessLevel AccessWithin(UsageFigures? usage, QuotaLimits limits, AccessLevel access) =>
        access == AccessLevel.ReadWrite && IsReached(usage, limits) ? AccessLevel.ReadDelete : access;

    /// <summary>
    /// Why an upload of <paramref name="declaredLength"/> bytes (a new object) would exceed the quota, or null when it
    /// fits or usage is unknown. Used before any body is streamed.
    /// </summary>
    public static string? UploadRefusal(UsageFigures? usage, QuotaLimits limits, long declaredLength)
    {
        ArgumentNullException.ThrowIfNull(limits);
        if (usage is null)
        {
            return null;
        }

        if (usage.Objects + 1 > limits.MaxObjects)
        {
            return $"the workspace holds {usage.Objects} objects and its quota allows {limits.MaxObjects}";
        }

        if (usage.Bytes + Math.Max(declaredLength, 0) > limits.MaxBytes)
        {
            return $"the workspace holds {usage.Bytes} bytes; {declaredLength} more would exceed its quota of {limits.MaxBytes} bytes";
        }

        return IsReached(usage, limits) ? $"the workspace is at its quota ({Describe(usage, limits)})" : null;
    }

    /// <summary>Usage against limits, for conditions and errors: <c>9000 of 1000 bytes, 3 objects (no object limit)</c>.</summary>
    public static string Describe(UsageFigures usage, QuotaLimits limits)
    {
        ArgumentNullException.ThrowIfNull(usage);
        ArgumentNullException.ThrowIfNull(limits);
        var bytes = limits.MaxBytes is { } maxBytes ? $"{usage.Bytes} of {maxBytes} bytes" : $"{usage.Bytes} bytes (no size limit)";
        var objects = limits.MaxObjects is { } maxObjects ? $"{usage.Objects} of {maxObjects} objects" : $"{usage.Objects} objects (no object limit)";
        return $"{bytes}, {objects}" + (usage.Complete ? "" : " (at least: the listing was capped)");
    }
}
