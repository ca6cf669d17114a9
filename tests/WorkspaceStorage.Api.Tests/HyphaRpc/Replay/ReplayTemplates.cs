using System.Text;
using System.Text.RegularExpressions;

namespace WorkspaceStorage.Api.Tests.HyphaRpc.Replay;

/// <summary>
/// The values of a recording that differ from run to run, implemented once. A <see cref="ClientVariable"/> is a value
/// the client chooses (its client ids, the session ids of its calls): the first time a recorded frame from the client
/// holds one, the value the companion sent in its place is bound to it; from then on that recorded value stands for the
/// bound one everywhere — in later frames from the client (which must send exactly it, even inside longer strings such as
/// <c>public/wso-s3-storage-20466372:built-in</c>) and in the frames the server sends (<c>SESSION.resolve</c>,
/// <c>parent</c>). Binding is one to one: two recorded values cannot stand for one sent value. Values the server chose
/// (manager ids, Hypha's session ids, anonymous workspaces) are replayed as recorded, so the companion's answers must
/// carry them exactly. Secrets and times are the server's to choose: see <see cref="ServerValues"/>.
/// </summary>
internal sealed partial class ReplayTemplates(ServerValues server)
{
    private static readonly ClientVariable[] Variables =
    [
        new("token-exchange client id", TokenExchangeClient()),
        new("companion client id", CompanionClient()),
        new("C# session id", CSharpSession()),
    ];

    private readonly Dictionary<string, string> bound = new(StringComparer.Ordinal);
    private readonly Dictionary<string, string> boundBack = new(StringComparer.Ordinal);

    public ServerValues Server => server;

    /// <summary>Recorded value → sent value, in binding order (for the report).</summary>
    public IReadOnlyDictionary<string, string> Bindings => bound;

    /// <summary>
    /// Compares a recorded frame from the client with what the companion sent: maps by key (unordered), arrays in
    /// order, numbers by value and msgpack type, strings after templating. Every difference is collected with its path.
    /// </summary>
    public void Compare(RecordedFrame frame, object? recorded, object? sent, string path, List<FieldDifference> differences)
    {
        switch (recorded, sent)
        {
            case (Dictionary<string, object?> r, Dictionary<string, object?> s):
                foreach (var (key, value) in r)
                {
                    if (s.TryGetValue(key, out var other))
                    {
                        Compare(frame, value, other, $"{path}.{key}", differences);
                    }
                    else
                    {
                        differences.Add(new FieldDifference($"{path}.{key}", PlainValues.Show(value), "(absent)"));
                    }
                }

                foreach (var (key, value) in s.Where(kv => !r.ContainsKey(kv.Key)))
                {
                    differences.Add(new FieldDifference($"{path}.{key}", "(absent)", PlainValues.Show(value)));
                }

                return;
            case (List<object?> r, List<object?> s):
                if (r.Count != s.Count)
                {
                    differences.Add(new FieldDifference(path, $"{r.Count} items", $"{s.Count} items"));
                }

                for (var i = 0; i < Math.Max(r.Count, s.Count); i++)
                {
                    if (i >= r.Count)
                    {
                        differences.Add(new FieldDifference($"{path}[{i}]", "(absent)", PlainValues.Show(s[i])));
                    }
                    else if (i >= s.Count)
                    {
                        differences.Add(new FieldDifference($"{path}[{i}]", PlainValues.Show(r[i]), "(absent)"));
                    }
                    else
                    {
                        Compare(frame, r[i], s[i], $"{path}[{i}]", differences);
                    }
                }

                return;
            case (string r, _) when server.IsSecretPlaceholder(r):
                if (server.ExpectedSecret(frame, path) is not { } expected)
                {
                    differences.Add(new FieldDifference(path, r, "(the replay has no secret for this field)"));
                }
                else if (!Equals(sent, expected.Value))
                {
                    differences.Add(new FieldDifference(path, $"{r} ({expected.Name})",
                        sent is string text ? $"another string of {text.Length} characters (not shown: it may be a secret)" : PlainValues.Show(sent)));
                }

                return;
            case (string r, string s):
                if (Match(r, s) is { } problem)
                {
                    differences.Add(new FieldDifference(path, PlainValues.Show(r), PlainValues.Show(s) + problem));
                }

                return;
            case var (r, s) when PlainValues.IsNumber(r) && PlainValues.IsNumber(s):
                if (!NumbersEqual(r!, s!))
                {
                    differences.Add(new FieldDifference(path, PlainValues.Show(r), PlainValues.Show(s)));
                }
                else if (PlainValues.TypeName(r) != PlainValues.TypeName(s))
                {
                    differences.Add(new FieldDifference(path, $"{PlainValues.Show(r)} (msgpack {PlainValues.TypeName(r)})",
                        $"{PlainValues.Show(s)} (msgpack {PlainValues.TypeName(s)}: same value, another type to a Python caller)"));
                }

                return;
            default:
                if (PlainValues.TypeName(recorded) != PlainValues.TypeName(sent) || !Equals(recorded, sent))
                {
                    differences.Add(new FieldDifference(path, PlainValues.Show(recorded), PlainValues.Show(sent)));
                }

                return;
        }
    }

    /// <summary>A recorded frame of the server, ready to send: secrets and times chosen, bound client values substituted.</summary>
    public object? ForSending(RecordedFrame frame, object? recorded, string path = "$")
    {
        return recorded switch
        {
            Dictionary<string, object?> map => map.ToDictionary(kv => kv.Key, kv => ForSending(frame, kv.Value, $"{path}.{kv.Key}"), StringComparer.Ordinal),
            List<object?> list => list.Select((item, i) => ForSending(frame, item, $"{path}[{i}]")).ToList(),
            string text when server.IsSecretPlaceholder(text) => server.SecretToSend(frame, path),
            string text => Substitute(frame, path, text),
            _ => server.Overrides(frame, path, recorded),
        };
    }

    /// <summary>Null when <paramref name="sent"/> is <paramref name="recorded"/> with every client value templated; else why not.</summary>
    private string? Match(string recorded, string sent)
    {
        var found = Occurrences(recorded);
        if (found.Count == 0)
        {
            return recorded == sent ? null : "";
        }

        // The recorded string as a regex: literal text, bound values as their sent value, unbound ones as a capture.
        var pattern = new StringBuilder("^");
        var captures = new List<(string Recorded, ClientVariable Variable)>();
        var position = 0;
        foreach (var (index, value, variable) in found)
        {
            pattern.Append(Regex.Escape(recorded[position..index]));
            if (bound.TryGetValue(value, out var actual))
            {
                pattern.Append(Regex.Escape(actual));
            }
            else
            {
                pattern.Append('(').Append(variable.Shape).Append(')');
                captures.Add((value, variable));
            }

            position = index + value.Length;
        }

        pattern.Append(Regex.Escape(recorded[position..])).Append('$');
        var match = Regex.Match(sent, pattern.ToString(), RegexOptions.CultureInvariant, TimeSpan.FromSeconds(1));
        if (!match.Success)
        {
            return "  [templated: " + string.Join(", ", found.Select(f => bound.TryGetValue(f.Value, out var b)
                ? $"{f.Value} is bound to {b}"
                : $"{f.Value} is a {f.Variable.Name} of shape {f.Variable.Shape}")) + "]";
        }

        for (var i = 0; i < captures.Count; i++)
        {
            var (value, variable) = captures[i];
            var actual = match.Groups[i + 1].Value;
            if (bound.TryGetValue(value, out var earlier))
            {
                // The same recorded value twice in one string: both places must carry one sent value.
                if (earlier != actual)
                {
                    return $"  [{value} stands for both {earlier} and {actual}]";
                }

                continue;
            }

            if (boundBack.TryGetValue(actual, out var other))
            {
                return $"  [{actual} was already sent for recorded {other}; recorded {value} ({variable.Name}) needs a value of its own]";
            }

            bound[value] = actual;
            boundBack[actual] = value;
        }

        return null;
    }

    private string Substitute(RecordedFrame frame, string path, string recorded)
    {
        var found = Occurrences(recorded);
        var text = new StringBuilder();
        var position = 0;
        foreach (var (index, value, variable) in found)
        {
            if (!bound.TryGetValue(value, out var actual))
            {
                throw new ReplayException($"{frame} {path}: the server's frame names {value} ({variable.Name}), which the companion has not sent yet; " +
                    "the replay is out of step with the recording");
            }

            text.Append(recorded, position, index - position).Append(actual);
            position = index + value.Length;
        }

        return text.Append(recorded, position, recorded.Length - position).ToString();
    }

    private static List<(int Index, string Value, ClientVariable Variable)> Occurrences(string recorded) =>
        [.. Variables
            .SelectMany(v => v.Pattern.Matches(recorded).Select(m => (m.Index, m.Value, Variable: v)))
            .OrderBy(m => m.Index)];

    private static bool NumbersEqual(object recorded, object sent) => (recorded, sent) switch
    {
        (long a, long b) => a == b,
        (ulong a, ulong b) => a == b,
        (double a, double b) => a.Equals(b),
        (long a, double b) => a == b,
        (double a, long b) => a == b,
        (ulong a, double b) => a == b,
        (double a, ulong b) => a == b,
        _ => false,
    };

    [GeneratedRegex("token-exchange-[0-9a-f]{10}(?![0-9a-f])")]
    private static partial Regex TokenExchangeClient();

    [GeneratedRegex("wso-s3-storage-[0-9a-f]{8}(?![0-9a-f])")]
    private static partial Regex CompanionClient();

    // 24 lowercase hex digits standing alone (PendingCalls.NewSessionId); Hypha's own session ids are 22 base57 characters.
    [GeneratedRegex("(?<![0-9A-Za-z])[0-9a-f]{24}(?![0-9A-Za-z])")]
    private static partial Regex CSharpSession();

    private sealed record ClientVariable(string Name, Regex Pattern)
    {
        /// <summary>The pattern without its look-arounds, for capturing inside a longer string.</summary>
        public string Shape { get; } = Regex.Replace(Pattern.ToString(), @"\(\?<?[!=][^)]*\)", "");
    }
}

/// <summary>One field that differs, by JSON path, with the recorded and the sent value.</summary>
internal sealed record FieldDifference(string Path, string Recorded, string Sent)
{
    public override string ToString() => $"{Path}: recorded {Recorded}, sent {Sent}";
}

/// <summary>
/// A recorded field the companion now sends differently on purpose: frame <paramref name="Line"/> of the recording, the
/// field's JSON path, what it sends now (as <see cref="PlainValues.Show"/> prints it) and why. Every entry must be met
/// exactly once in a run; one that no longer differs (the recording was redone, the change undone) fails as stale.
/// </summary>
internal sealed record IntendedChange(int Line, string Path, string SentNow, string Why)
{
    /// <summary>Leaves out of <paramref name="differences"/> those that an intended change explains, noting each one met.</summary>
    public static void Explain(IReadOnlyList<IntendedChange> changes, int line, List<FieldDifference> differences, HashSet<IntendedChange> met) =>
        differences.RemoveAll(difference => changes.FirstOrDefault(c => c.Line == line && c.Path == difference.Path && c.SentNow == difference.Sent) is { } change
            && met.Add(change));

    public override string ToString() => $"line {Line} {Path}: now {SentNow} ({Why})";
}

/// <summary>The replay cannot go on (out of step with the recording, or the companion broke the protocol).</summary>
internal sealed class ReplayException(string message) : Exception(message);
