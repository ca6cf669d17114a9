namespace WorkspaceStorage.Kubernetes.InMemory;

/// <summary>
/// A parsed labelSelector: <c>a=b</c>, <c>a==b</c>, <c>a!=b</c>, <c>a</c>, <c>!a</c>, <c>a in (x,y)</c>, <c>a notin (x,y)</c>.
/// </summary>
public sealed class LabelSelector
{
    private readonly IReadOnlyList<Func<IReadOnlyDictionary<string, string>, bool>> _terms;

    private LabelSelector(IReadOnlyList<Func<IReadOnlyDictionary<string, string>, bool>> terms) => _terms = terms;

    public static LabelSelector Everything { get; } = new([]);

    public bool IsEverything => _terms.Count == 0;

    public bool Matches(IReadOnlyDictionary<string, string> labels)
    {
        foreach (var term in _terms)
        {
            if (!term(labels))
            {
                return false;
            }
        }

        return true;
    }

    public static LabelSelector Parse(string? text)
    {
        if (string.IsNullOrWhiteSpace(text))
        {
            return Everything;
        }

        var terms = new List<Func<IReadOnlyDictionary<string, string>, bool>>();
        foreach (var raw in SplitTopLevel(text))
        {
            var term = raw.Trim();
            if (term.Length == 0)
            {
                continue;
            }

            terms.Add(ParseTerm(term));
        }

        return new LabelSelector(terms);
    }

    private static Func<IReadOnlyDictionary<string, string>, bool> ParseTerm(string term)
    {
        var setMatch = System.Text.RegularExpressions.Regex.Match(term, @"^([^\s!=()]+)\s+(in|notin)\s*\((.*)\)$");
        if (setMatch.Success)
        {
            var key = setMatch.Groups[1].Value;
            var values = setMatch.Groups[3].Value.Split(',', StringSplitOptions.TrimEntries | StringSplitOptions.RemoveEmptyEntries).ToHashSet(StringComparer.Ordinal);
            return setMatch.Groups[2].Value == "in"
                ? labels => labels.TryGetValue(key, out var v) && values.Contains(v)
                : labels => !labels.TryGetValue(key, out var v) || !values.Contains(v);
        }

        var notEquals = term.IndexOf("!=", StringComparison.Ordinal);
        if (notEquals > 0)
        {
            var key = term[..notEquals].Trim();
            var value = term[(notEquals + 2)..].Trim();
            return labels => !labels.TryGetValue(key, out var v) || v != value;
        }

        var equals = term.IndexOf('=', StringComparison.Ordinal);
        if (equals > 0)
        {
            var key = term[..equals].Trim();
            var value = term[(equals + 1)..].TrimStart('=').Trim();
            return labels => labels.TryGetValue(key, out var v) && v == value;
        }

        if (term.StartsWith('!'))
        {
            var key = term[1..].Trim();
            return labels => !labels.ContainsKey(key);
        }

        if (term.IndexOfAny(['(', ')', ' ']) >= 0)
        {
            throw KubeApiException.BadRequest($"unable to parse requirement: {term}");
        }

        return labels => labels.ContainsKey(term);
    }

    private static IEnumerable<string> SplitTopLevel(string text)
    {
        var depth = 0;
        var start = 0;
        for (var i = 0; i < text.Length; i++)
        {
            switch (text[i])
            {
                case '(':
                    depth++;
                    break;
                case ')':
                    depth--;
                    break;
                case ',' when depth == 0:
                    yield return text[start..i];
                    start = i + 1;
                    break;
            }
        }

        yield return text[start..];
    }
}

/// <summary>A parsed fieldSelector; like the real server for custom resources, only metadata.name and metadata.namespace.</summary>
public sealed class FieldSelector
{
    private readonly IReadOnlyList<(string Field, string Value, bool Equal)> _terms;

    private FieldSelector(IReadOnlyList<(string Field, string Value, bool Equal)> terms) => _terms = terms;

    public static FieldSelector Everything { get; } = new([]);

    public bool Matches(string? ns, string name)
    {
        foreach (var (field, value, equal) in _terms)
        {
            var actual = field == "metadata.name" ? name : ns ?? "";
            if ((actual == value) != equal)
            {
                return false;
            }
        }

        return true;
    }

    public static FieldSelector Parse(string? text)
    {
        if (string.IsNullOrWhiteSpace(text))
        {
            return Everything;
        }

        var terms = new List<(string, string, bool)>();
        foreach (var raw in text.Split(',', StringSplitOptions.TrimEntries | StringSplitOptions.RemoveEmptyEntries))
        {
            var notEquals = raw.IndexOf("!=", StringComparison.Ordinal);
            var (field, value, equal) = notEquals > 0
                ? (raw[..notEquals], raw[(notEquals + 2)..], false)
                : raw.IndexOf('=', StringComparison.Ordinal) is var eq and > 0
                    ? (raw[..eq], raw[(eq + 1)..].TrimStart('='), true)
                    : throw KubeApiException.BadRequest($"invalid field selector: {raw}");
            field = field.Trim();
            if (field is not ("metadata.name" or "metadata.namespace"))
            {
                throw KubeApiException.BadRequest($"field label not supported: {field}");
            }

            terms.Add((field, value.Trim(), equal));
        }

        return new FieldSelector(terms);
    }
}
