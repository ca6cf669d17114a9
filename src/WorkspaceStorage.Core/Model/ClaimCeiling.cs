using System.ComponentModel;
using System.Text.Json.Serialization;
using WorkspaceStorage.Core.Model.Schema;
using WorkspaceStorage.Core.Workspaces;

namespace WorkspaceStorage.Core.Model;

/// <summary>
/// One entry of a StorageBackend's <c>spec.allowedClaims</c>: the namespaces it names (by name, or by their labels)
/// may claim the workspaces its patterns match. Written by whoever may write StorageBackends (cluster-scoped: an admin),
/// never by a tenant: RBAC cannot restrict which workspace id a tenant writes into its own WorkspaceStorage, so the limit
/// lives here.
/// </summary>
public sealed record AllowedClaim
{
    public const int MaxEntries = 256;

    [JsonPropertyName("namespaces")]
    [Description("Namespaces, by name, this entry admits.")]
    [CrdListType("set")]
    [CrdItems(MaxItems = MaxEntries)]
    public IReadOnlyList<string>? Namespaces { get; init; }

    [JsonPropertyName("namespaceSelector")]
    [Description("Namespaces, by their labels, this entry admits (every label listed must match).")]
    public NamespaceSelector? NamespaceSelector { get; init; }

    [JsonPropertyName("workspaces")]
    [Description("Workspace id patterns these namespaces may claim; '*' matches any run of characters (ws-team-a-*), anything else only itself.")]
    [CrdRequired]
    [CrdListType("set")]
    [CrdItems(MinItems = 1, MaxItems = MaxEntries)]
    public IReadOnlyList<string> Workspaces { get; set; } = [];
}

/// <summary>A label selector on namespaces: every label of <see cref="MatchLabels"/> must be on the namespace with that value.</summary>
public sealed record NamespaceSelector
{
    [JsonPropertyName("matchLabels")]
    [Description("Labels the namespace must carry, each with this value.")]
    public IReadOnlyDictionary<string, string>? MatchLabels { get; init; }
}

/// <summary>
/// Which namespaces may claim which workspaces on one backend: the StorageBackend's <c>spec.allowedClaims</c> and
/// <c>spec.allowClaimsFromAnyNamespace</c>, or the operator's flags for its default backend. Nothing admits a claim
/// unless an entry does (deny by default). Pure: the caller supplies the namespace's labels.
/// </summary>
public sealed class ClaimCeiling
{
    private readonly IReadOnlyList<AllowedClaim> entries;

    private ClaimCeiling(string source, bool anyNamespace, IReadOnlyList<AllowedClaim> entries)
    {
        Source = source;
        AnyNamespace = anyNamespace;
        this.entries = entries;
    }

    /// <summary>Where the ceiling is written, for messages: "StorageBackend 'b' spec.allowedClaims", or the default backend's flag.</summary>
    public string Source { get; }

    /// <summary>True when every namespace may claim every workspace (a single-tenant cluster's explicit choice).</summary>
    public bool AnyNamespace { get; }

    /// <summary>True when some entry selects namespaces by label (then the namespace's labels are needed).</summary>
    public bool NeedsLabels => entries.Any(e => e.NamespaceSelector?.MatchLabels is { Count: > 0 });

    /// <summary>The ceiling of a StorageBackend's spec, or the errors (field: rule) that make it unusable.</summary>
    public static ClaimCeiling From(string source, bool anyNamespace, IReadOnlyList<AllowedClaim>? allowedClaims, string field, List<FieldError> errors)
    {
        ArgumentNullException.ThrowIfNull(errors);
        var list = allowedClaims ?? [];
        if (list.Count > AllowedClaim.MaxEntries)
        {
            errors.Add(new(field, $"must have at most {AllowedClaim.MaxEntries} entries"));
        }

        for (var i = 0; i < list.Count; i++)
        {
            var entry = list[i];
            var at = $"{field}[{i}]";
            if (entry is null)
            {
                errors.Add(new(at, "must not be null"));
                continue;
            }

            var names = entry.Namespaces ?? [];
            var labels = entry.NamespaceSelector?.MatchLabels ?? new Dictionary<string, string>();
            if (names.Count == 0 && labels.Count == 0)
            {
                errors.Add(new(at, "must name namespaces or give namespaceSelector.matchLabels (an entry admitting no namespace is a mistake)"));
            }

            foreach (var name in names)
            {
                WorkspaceStorageValidator.AddIfError(errors, $"{at}.namespaces", StorageFieldRules.NamespaceError(name));
            }

            foreach (var (key, value) in labels)
            {
                if (string.IsNullOrEmpty(key) || key.Length > 317 || value is null || value.Length > 63)
                {
                    errors.Add(new($"{at}.namespaceSelector.matchLabels", $"'{key}' is not a label key with a value of at most 63 characters"));
                }
            }

            if (entry.Workspaces is not { Count: > 0 } patterns)
            {
                errors.Add(new($"{at}.workspaces", "must list at least one workspace id pattern"));
                continue;
            }

            foreach (var pattern in patterns)
            {
                if (WorkspaceGlob.Check(pattern) is { } rule)
                {
                    errors.Add(new($"{at}.workspaces", $"'{pattern}' {rule}"));
                }
            }
        }

        return new ClaimCeiling(source, anyNamespace, [.. list.Where(e => e is not null)]);
    }

    /// <summary>The ceiling that admits every claim (the single-tenant choice, spelled out by whoever builds it).</summary>
    public static ClaimCeiling Any(string source) => new(source, anyNamespace: true, []);

    /// <summary>
    /// <see cref="Refusal(string, IReadOnlyDictionary{string, string}?, WorkspaceId)"/> with the namespace's labels looked up
    /// by <paramref name="labelsOf"/> only when an entry selects by label (most ceilings name namespaces).
    /// </summary>
    public string? Refusal(string @namespace, Func<string, IReadOnlyDictionary<string, string>?> labelsOf, WorkspaceId workspace)
    {
        ArgumentNullException.ThrowIfNull(labelsOf);
        return Refusal(@namespace, NeedsLabels ? labelsOf(@namespace) : null, workspace);
    }

    /// <summary>
    /// Null when a WorkspaceStorage in <paramref name="namespace"/> may claim <paramref name="workspace"/>; otherwise
    /// why not, naming the ceiling's field. <paramref name="namespaceLabels"/> null means the labels are not known, so
    /// no label selector matches (unknown is refused, never admitted).
    /// </summary>
    public string? Refusal(string @namespace, IReadOnlyDictionary<string, string>? namespaceLabels, WorkspaceId workspace)
    {
        ArgumentNullException.ThrowIfNull(@namespace);
        ArgumentNullException.ThrowIfNull(workspace);
        if (AnyNamespace)
        {
            return null;
        }

        var namespaceAdmitted = false;
        foreach (var entry in entries)
        {
            if (!Selects(entry, @namespace, namespaceLabels))
            {
                continue;
            }

            namespaceAdmitted = true;
            if (entry.Workspaces.Any(pattern => WorkspaceGlob.Matches(pattern, workspace.Value)))
            {
                return null;
            }
        }

        return namespaceAdmitted
            ? $"{Source} lets namespace '{@namespace}' claim only workspaces matching {string.Join(", ", PatternsFor(@namespace, namespaceLabels))}; '{workspace}' matches none"
            : $"{Source} has no entry for namespace '{@namespace}' (by name or by its labels)";
    }

    private IEnumerable<string> PatternsFor(string @namespace, IReadOnlyDictionary<string, string>? labels) =>
        entries.Where(e => Selects(e, @namespace, labels)).SelectMany(e => e.Workspaces).Distinct(StringComparer.Ordinal).Select(p => $"'{p}'");

    private static bool Selects(AllowedClaim entry, string @namespace, IReadOnlyDictionary<string, string>? labels)
    {
        if (entry.Namespaces?.Contains(@namespace, StringComparer.Ordinal) == true)
        {
            return true;
        }

        // An empty selector would select every namespace: only a selector with labels selects, and only known labels match.
        return entry.NamespaceSelector?.MatchLabels is { Count: > 0 } wanted && labels is not null
            && wanted.All(pair => labels.TryGetValue(pair.Key, out var value) && string.Equals(value, pair.Value, StringComparison.Ordinal));
    }
}
