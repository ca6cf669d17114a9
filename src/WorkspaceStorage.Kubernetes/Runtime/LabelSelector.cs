namespace WorkspaceStorage.Kubernetes.Runtime;

/// <summary>
/// The equality-based subset of Kubernetes label selectors ("a=b", "a==b", "a!=b", "a", "!a", comma-separated),
/// for stores that filter in process. Set-based forms ("a in (x,y)") are refused with an error naming the rule.
/// </summary>
public sealed class LabelSelector
{
    private readonly List<Func<IDictionary<string, string>?, bool>> requirements = [];

    private LabelSelector()
    {
    }

    public static LabelSelector Everything { get; } = new();

    public static LabelSelector Parse(string? selector)
    {
        if (string.IsNullOrWhiteSpace(selector))
        {
            return Everything;
        }

        var parsed = new LabelSelector();
        foreach (var raw in selector.Split(',', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries))
        {
            if (raw.Contains(" in ", StringComparison.Ordinal) || raw.Contains("notin", StringComparison.Ordinal) || raw.Contains('('))
            {
                throw new ArgumentException($"labelSelector: set-based requirement '{raw}' is not supported here; use key=value, key!=value, key or !key.", nameof(selector));
            }

            var notEqual = raw.IndexOf("!=", StringComparison.Ordinal);
            var equal = raw.IndexOf('=', StringComparison.Ordinal);
            if (notEqual > 0)
            {
                var key = raw[..notEqual].Trim();
                var value = raw[(notEqual + 2)..].Trim();
                parsed.requirements.Add(labels => labels is null || !labels.TryGetValue(key, out var actual) || actual != value);
            }
            else if (equal > 0)
            {
                var key = raw[..equal].Trim();
                var value = raw[(equal + 1)..].TrimStart('=').Trim();
                parsed.requirements.Add(labels => labels is not null && labels.TryGetValue(key, out var actual) && actual == value);
            }
            else if (raw.StartsWith('!'))
            {
                var key = raw[1..].Trim();
                parsed.requirements.Add(labels => labels is null || !labels.ContainsKey(key));
            }
            else
            {
                var key = raw;
                parsed.requirements.Add(labels => labels is not null && labels.ContainsKey(key));
            }
        }

        return parsed;
    }

    public bool Matches(IDictionary<string, string>? labels) => requirements.TrueForAll(requirement => requirement(labels));
}
