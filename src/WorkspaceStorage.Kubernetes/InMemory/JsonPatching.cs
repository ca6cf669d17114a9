using System.Text.Json.Nodes;

namespace WorkspaceStorage.Kubernetes.InMemory;

/// <summary>The two patch formats KubernetesClient sends: JSON merge patch (RFC 7386) and JSON patch (RFC 6902).</summary>
public static class JsonPatching
{
    public static JsonNode? MergePatch(JsonNode? target, JsonNode? patch)
    {
        if (patch is not JsonObject patchObject)
        {
            return patch?.DeepClone();
        }

        var result = target as JsonObject ?? new JsonObject();
        foreach (var (key, value) in patchObject)
        {
            if (value is null)
            {
                result.Remove(key);
                continue;
            }

            var existing = result[key];
            var merged = MergePatch(existing, value);
            if (!ReferenceEquals(merged, existing))
            {
                result[key] = merged;
            }
        }

        return result;
    }

    /// <summary>Applies RFC 6902 operations to <paramref name="document"/> in place; returns the (possibly new) root.</summary>
    public static JsonNode ApplyJsonPatch(JsonNode document, JsonArray operations, Func<string, Exception> fail)
    {
        var root = new JsonObject { ["r"] = document.Parent is null ? document : document.DeepClone() };
        foreach (var node in operations)
        {
            if (node is not JsonObject operation)
            {
                throw fail("each JSON patch operation must be an object");
            }

            var op = operation["op"]?.GetValue<string>() ?? throw fail("JSON patch operation lacks \"op\"");
            var path = "/r" + (operation["path"]?.GetValue<string>() ?? throw fail("JSON patch operation lacks \"path\""));
            switch (op)
            {
                case "add":
                    Add(root, path, operation["value"]?.DeepClone(), fail);
                    break;
                case "remove":
                    Remove(root, path, fail);
                    break;
                case "replace":
                    Remove(root, path, fail);
                    Add(root, path, operation["value"]?.DeepClone(), fail);
                    break;
                case "test":
                    if (!JsonNode.DeepEquals(Resolve(root, path, fail), operation["value"]))
                    {
                        throw fail($"test operation failed at {path[2..]}");
                    }

                    break;
                case "move":
                case "copy":
                    var from = "/r" + (operation["from"]?.GetValue<string>() ?? throw fail($"{op} lacks \"from\""));
                    var value = Resolve(root, from, fail)?.DeepClone();
                    if (op == "move")
                    {
                        Remove(root, from, fail);
                    }

                    Add(root, path, value, fail);
                    break;
                default:
                    throw fail($"unknown JSON patch operation \"{op}\"");
            }
        }

        var result = root["r"] ?? throw fail("JSON patch removed the whole object");
        root.Remove("r");
        return result;
    }

    private static (JsonNode Parent, string Token) Locate(JsonObject root, string pointer, Func<string, Exception> fail)
    {
        var tokens = pointer.Split('/')[1..].Select(t => t.Replace("~1", "/", StringComparison.Ordinal).Replace("~0", "~", StringComparison.Ordinal)).ToArray();
        JsonNode current = root;
        for (var i = 0; i < tokens.Length - 1; i++)
        {
            current = Child(current, tokens[i]) ?? throw fail($"path {pointer[2..]} does not exist");
        }

        return (current, tokens[^1]);
    }

    private static JsonNode? Child(JsonNode node, string token) => node switch
    {
        JsonObject o => o[token],
        JsonArray a when int.TryParse(token, out var i) && i >= 0 && i < a.Count => a[i],
        _ => null,
    };

    private static JsonNode? Resolve(JsonObject root, string pointer, Func<string, Exception> fail)
    {
        var (parent, token) = Locate(root, pointer, fail);
        return Child(parent, token);
    }

    private static void Add(JsonObject root, string pointer, JsonNode? value, Func<string, Exception> fail)
    {
        var (parent, token) = Locate(root, pointer, fail);
        switch (parent)
        {
            case JsonObject o:
                o[token] = value;
                break;
            case JsonArray a when token == "-":
                a.Add(value);
                break;
            case JsonArray a when int.TryParse(token, out var i) && i >= 0 && i <= a.Count:
                a.Insert(i, value);
                break;
            default:
                throw fail($"cannot add at {pointer[2..]}");
        }
    }

    private static void Remove(JsonObject root, string pointer, Func<string, Exception> fail)
    {
        var (parent, token) = Locate(root, pointer, fail);
        switch (parent)
        {
            case JsonObject o when o.ContainsKey(token):
                o.Remove(token);
                break;
            case JsonArray a when int.TryParse(token, out var i) && i >= 0 && i < a.Count:
                a.RemoveAt(i);
                break;
            default:
                throw fail($"path {pointer[2..]} does not exist");
        }
    }
}
