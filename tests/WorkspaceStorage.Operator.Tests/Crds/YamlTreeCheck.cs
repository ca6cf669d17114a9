using YamlDotNet.Core;
using YamlDotNet.RepresentationModel;

namespace WorkspaceStorage.Operator.Tests.Crds;

/// <summary>Compares parsed YAML with the tree it was written from, including whether strings stayed strings.</summary>
internal static class YamlTreeCheck
{
    public static void Compare(YamlNode node, object expected, string path, List<string> mismatches)
    {
        switch (expected)
        {
            case IReadOnlyDictionary<string, object> map:
                if (node is not YamlMappingNode mapping)
                {
                    mismatches.Add($"{path}: expected a mapping");
                    return;
                }

                var keys = mapping.Children.Keys.Select(k => ((YamlScalarNode)k).Value!).ToList();
                if (!keys.SequenceEqual(map.Keys))
                {
                    mismatches.Add($"{path}: keys [{string.Join(",", keys)}] instead of [{string.Join(",", map.Keys)}]");
                    return;
                }

                foreach (var (key, value) in map)
                {
                    Compare(mapping.Children[new YamlScalarNode(key)], value, $"{path}.{key}", mismatches);
                }

                break;
            case IReadOnlyList<object> list:
                if (node is not YamlSequenceNode sequence || sequence.Children.Count != list.Count)
                {
                    mismatches.Add($"{path}: expected a sequence of {list.Count}");
                    return;
                }

                for (var i = 0; i < list.Count; i++)
                {
                    Compare(sequence.Children[i], list[i], $"{path}[{i}]", mismatches);
                }

                break;
            default:
                if (node is not YamlScalarNode scalar)
                {
                    mismatches.Add($"{path}: expected a scalar");
                    return;
                }

                var text = expected switch { bool b => b ? "true" : "false", _ => Convert.ToString(expected, System.Globalization.CultureInfo.InvariantCulture) };
                if (scalar.Value != text)
                {
                    mismatches.Add($"{path}: '{scalar.Value}' instead of '{text}'");
                }

                // A plain scalar that a YAML 1.1 reader (sigs.k8s.io/yaml, kubectl) would not read as a string.
                var isString = expected is string;
                var plain = scalar.Style == ScalarStyle.Plain;
                if (isString && plain && LooksTyped(scalar.Value!))
                {
                    mismatches.Add($"{path}: string '{scalar.Value}' written plain would be read as another type");
                }

                if (!isString && !plain)
                {
                    mismatches.Add($"{path}: {expected.GetType().Name} written quoted would be read as a string");
                }

                break;
        }
    }

    private static bool LooksTyped(string value) =>
        System.Text.RegularExpressions.Regex.IsMatch(
            value,
            "^(?i:y|yes|n|no|true|false|on|off|null|~)$|^[-+]?[0-9._]+([eE][-+]?[0-9]+)?$|^[-+]?\\.(inf|nan)$|^0x[0-9a-fA-F]+$|^$");
}
