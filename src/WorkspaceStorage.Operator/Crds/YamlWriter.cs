using System.Globalization;
using System.Text;
using System.Text.Encodings.Web;
using System.Text.Json;
using System.Text.RegularExpressions;

namespace WorkspaceStorage.Operator.Crds;

/// <summary>
/// A small, deterministic YAML writer for trees of maps (<see cref="IReadOnlyDictionary{TKey,TValue}"/> of string to
/// value), lists, strings, booleans and integers. Output is byte-stable, so generated files can be compared with
/// the committed ones. Strings that YAML would read as something else are written double-quoted with JSON escapes
/// (JSON strings are valid YAML).
/// </summary>
public static partial class YamlWriter
{
    // Keeps non-ASCII (e.g. 'µs') and '<', '>', '+', '\'' readable instead of \uXXXX; still escapes '"', '\\' and controls.
    private static readonly JsonSerializerOptions QuotedStrings = new() { Encoder = JavaScriptEncoder.UnsafeRelaxedJsonEscaping };

    public static string Write(IReadOnlyDictionary<string, object> document)
    {
        var sb = new StringBuilder();
        WriteMap(sb, document, 0, firstLineInline: false);
        return sb.ToString();
    }

    private static void WriteMap(StringBuilder sb, IReadOnlyDictionary<string, object> map, int indent, bool firstLineInline)
    {
        var first = true;
        foreach (var (key, value) in map)
        {
            if (!(first && firstLineInline))
            {
                sb.Append(' ', indent);
            }

            first = false;
            sb.Append(Scalar(key)).Append(':');
            WriteValueAfterKey(sb, value, indent);
        }
    }

    private static void WriteValueAfterKey(StringBuilder sb, object value, int indent)
    {
        switch (value)
        {
            case IReadOnlyDictionary<string, object> { Count: 0 }:
                sb.Append(" {}\n");
                break;
            case IReadOnlyDictionary<string, object> nested:
                sb.Append('\n');
                WriteMap(sb, nested, indent + 2, firstLineInline: false);
                break;
            case IReadOnlyList<object> { Count: 0 }:
                sb.Append(" []\n");
                break;
            case IReadOnlyList<object> list:
                sb.Append('\n');
                WriteList(sb, list, indent);
                break;
            default:
                sb.Append(' ').Append(Scalar(value)).Append('\n');
                break;
        }
    }

    private static void WriteList(StringBuilder sb, IReadOnlyList<object> list, int indent)
    {
        foreach (var item in list)
        {
            sb.Append(' ', indent).Append("- ");
            switch (item)
            {
                case IReadOnlyDictionary<string, object> { Count: > 0 } map:
                    WriteMap(sb, map, indent + 2, firstLineInline: true);
                    break;
                case IReadOnlyDictionary<string, object>:
                    sb.Append("{}\n");
                    break;
                case IReadOnlyList<object>:
                    throw new NotSupportedException("lists of lists are not used in CRDs");
                default:
                    sb.Append(Scalar(item)).Append('\n');
                    break;
            }
        }
    }

    private static string Scalar(object value) => value switch
    {
        bool b => b ? "true" : "false",
        int i => i.ToString(CultureInfo.InvariantCulture),
        long l => l.ToString(CultureInfo.InvariantCulture),
        string s => NeedsQuotes(s) ? JsonSerializer.Serialize(s, QuotedStrings) : s,
        _ => throw new NotSupportedException($"cannot write a {value.GetType().Name} as a YAML scalar"),
    };

    private static bool NeedsQuotes(string s) =>
        !PlainSafe().IsMatch(s)
        || s.Contains(": ", StringComparison.Ordinal)
        || s.Contains(" #", StringComparison.Ordinal)
        || s.EndsWith(':')
        || Ambiguous().IsMatch(s);

    // Starts with a letter, digit, '/', '.', '(' or '^'-free safe character; holds only printable ASCII without
    // YAML indicators that matter mid-scalar in block context.
    [GeneratedRegex("^[A-Za-z0-9_./(][A-Za-z0-9 _./()'=,:;+<>!?$*-]*$", RegexOptions.CultureInvariant)]
    private static partial Regex PlainSafe();

    // Words and numbers YAML 1.1/1.2 would read as booleans, null or numbers.
    [GeneratedRegex("^(?i:y|yes|n|no|true|false|on|off|null|~)$|^[-+]?(\\.[0-9]+|[0-9][0-9_]*(\\.[0-9]*)?)([eE][-+]?[0-9]+)?$|^0[xob]|^[0-9]+:[0-9]", RegexOptions.CultureInvariant)]
    private static partial Regex Ambiguous();
}
