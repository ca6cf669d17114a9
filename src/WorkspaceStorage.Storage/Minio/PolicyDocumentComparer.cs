using System.Text.Json;
using System.Text.Json.Nodes;

namespace WorkspaceStorage.Storage.Minio;

/// <summary>
/// Compares IAM policy documents by meaning. MinIO stores the parsed policy and gives back its own serialisation:
/// keys reordered, sets (Action, Resource, condition values) sorted, a single value written as a one-element array
/// or the other way round. Comparing text would see drift on every reconcile and rewrite the policy each time.
/// </summary>
public static class PolicyDocumentComparer
{
    public static bool AreEquivalent(string left, string right)
    {
        try
        {
            return JsonNode.DeepEquals(Canonical(JsonNode.Parse(left)), Canonical(JsonNode.Parse(right)));
        }
        catch (JsonException)
        {
            return false;
        }
    }

    /// <summary>
    /// Objects: keys sorted. Arrays of strings: sorted and de-duplicated (IAM treats them as sets), a single element
    /// unwrapped so that "s3:*" equals ["s3:*"]. Statement arrays keep their order but are sorted by their canonical text.
    /// </summary>
    private static JsonNode? Canonical(JsonNode? node)
    {
        switch (node)
        {
            case JsonObject obj:
                var sorted = new JsonObject();
                foreach (var (key, value) in obj.OrderBy(p => p.Key, StringComparer.Ordinal))
                {
                    sorted[key] = Canonical(value);
                }

                return sorted;
            case JsonArray array when array.All(e => e is JsonValue v && v.GetValueKind() == JsonValueKind.String):
                var strings = array.Select(e => e!.GetValue<string>()).Distinct(StringComparer.Ordinal).Order(StringComparer.Ordinal).ToArray();
                return strings.Length == 1 ? JsonValue.Create(strings[0]) : new JsonArray([.. strings.Select(s => (JsonNode?)JsonValue.Create(s))]);
            case JsonArray array:
                var items = array.Select(Canonical).OrderBy(e => e?.ToJsonString() ?? "null", StringComparer.Ordinal).ToArray();
                return new JsonArray(items);
            default:
                return node?.DeepClone();
        }
    }
}
