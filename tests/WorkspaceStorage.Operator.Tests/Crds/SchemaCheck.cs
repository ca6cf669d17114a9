using System.Text.Json;
using System.Text.Json.Nodes;
using System.Text.RegularExpressions;

namespace WorkspaceStorage.Operator.Tests.Crds;

/// <summary>A small structural OpenAPI v3 check (type, properties, required, enum, pattern, lengths, items), enough to tell the model and the schema apart.</summary>
internal static class SchemaCheck
{
    public static void Validate(JsonNode? value, JsonObject schema, string path, List<string> errors, bool skipMetadata = false)
    {
        var type = (string?)schema["type"];
        switch (type)
        {
            case "object":
                if (value is not JsonObject obj)
                {
                    errors.Add($"{path}: expected object, got {value?.GetValueKind()}");
                    return;
                }

                if (skipMetadata && path.Length == 0 && obj.ContainsKey("metadata"))
                {
                    obj = new JsonObject(obj.Where(p => p.Key != "metadata").Select(p => KeyValuePair.Create(p.Key, p.Value?.DeepClone())));
                }

                var properties = schema["properties"]?.AsObject();
                foreach (var (name, child) in obj)
                {
                    if (properties is null || !properties.ContainsKey(name))
                    {
                        if (properties is not null)
                        {
                            errors.Add($"{path}.{name}: not in the schema (the API server would prune it)");
                        }

                        continue;
                    }

                    Validate(child, properties[name]!.AsObject(), $"{path}.{name}", errors);
                }

                foreach (var required in schema["required"]?.AsArray() ?? [])
                {
                    if (!obj.ContainsKey((string)required!))
                    {
                        errors.Add($"{path}.{required}: required by the schema but not written");
                    }
                }

                break;
            case "array":
                if (value is not JsonArray array)
                {
                    errors.Add($"{path}: expected array");
                    return;
                }

                for (var i = 0; i < array.Count; i++)
                {
                    Validate(array[i], schema["items"]!.AsObject(), $"{path}[{i}]", errors);
                }

                break;
            case "string":
                if (value?.GetValueKind() != JsonValueKind.String)
                {
                    errors.Add($"{path}: expected string, got {value?.GetValueKind()}");
                    return;
                }

                var text = (string)value!;
                if (schema["enum"] is JsonArray values && !values.Any(v => (string?)v == text))
                {
                    errors.Add($"{path}: '{text}' is not one of the schema's enum values");
                }

                if (schema["pattern"] is { } pattern && !Regex.IsMatch(text, (string)pattern!))
                {
                    errors.Add($"{path}: '{text}' does not match {pattern}");
                }

                if (schema["maxLength"] is { } max && text.Length > (int)max)
                {
                    errors.Add($"{path}: longer than {max}");
                }

                if ((string?)schema["format"] == "date-time" && !DateTimeOffset.TryParse(text, out _))
                {
                    errors.Add($"{path}: '{text}' is not a date-time");
                }

                break;
            case "integer":
                if (value?.GetValueKind() != JsonValueKind.Number)
                {
                    errors.Add($"{path}: expected integer");
                }

                break;
            case "boolean":
                if (value?.GetValueKind() is not (JsonValueKind.True or JsonValueKind.False))
                {
                    errors.Add($"{path}: expected boolean");
                }

                break;
            default:
                errors.Add($"{path}: schema without a type");
                break;
        }
    }

    /// <summary>Collects the paths of schema leaves for which <paramref name="select"/> is true.</summary>
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
