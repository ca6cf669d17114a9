using System.Text.Json.Nodes;

namespace WorkspaceStorage.Operator.Tests.Crds;

/// <summary>
/// Walks a CRD's OpenAPI v3 schema for its field paths, to check that the model covers every field the schema has.
/// Validation against the schema is the real API server's (CrdSchemaAgreementTests, Kubernetes.Tests' CRD table).
/// </summary>
internal static class SchemaCheck
{
    public static void CollectPaths(JsonObject schema, string path, List<string> selected, Func<string, bool> select)
    {
        switch ((string?)schema["type"])
        {
            case "object" when schema["properties"] is JsonObject properties && properties.Count > 0:
                foreach (var (name, child) in properties)
                {
                    CollectPaths(child!.AsObject(), $"{path}.{name}", selected, select);
                }

                break;
            case "array":
                CollectPaths(schema["items"]!.AsObject(), path + "[0]", selected, select);
                break;
            default:
                if (select(path))
                {
                    selected.Add(path);
                }

                break;
        }
    }

    public static JsonNode? Lookup(JsonNode? node, string path)
    {
        foreach (var part in path.Split('.', StringSplitOptions.RemoveEmptyEntries))
        {
            var name = part;
            var index = -1;
            if (part.EndsWith("[0]", StringComparison.Ordinal))
            {
                name = part[..^3];
                index = 0;
            }

            node = node?[name];
            if (index >= 0)
            {
                node = node is JsonArray { Count: > 0 } array ? array[0] : null;
            }
        }

        return node;
    }
}
