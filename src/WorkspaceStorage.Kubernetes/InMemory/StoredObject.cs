using System.Text.Json;
using System.Text.Json.Nodes;

namespace WorkspaceStorage.Kubernetes.InMemory;

/// <summary>One stored version of an object. Immutable once stored: writers always build a new one.</summary>
public sealed class StoredObject
{
    public StoredObject(JsonObject json, long resourceVersion)
    {
        // Parsed JsonNodes build their children lazily; build them now so later concurrent reads never race.
        Materialize(json);
        Json = json;
        ResourceVersion = resourceVersion;
        var meta = json["metadata"] as JsonObject;
        Name = meta?["name"]?.GetValue<string>() ?? "";
        Namespace = meta?["namespace"]?.GetValue<string>() ?? "";
        Labels = meta?["labels"] is JsonObject labels
            ? labels.Where(l => l.Value is not null).ToDictionary(l => l.Key, l => l.Value!.ToString(), StringComparer.Ordinal)
            : EmptyLabels;
        Bytes = JsonSerializer.SerializeToUtf8Bytes(json);
    }

    private static void Materialize(JsonNode? node)
    {
        switch (node)
        {
            case JsonObject obj:
                foreach (var (_, child) in obj)
                {
                    Materialize(child);
                }

                break;
            case JsonArray array:
                foreach (var child in array)
                {
                    Materialize(child);
                }

                break;
        }
    }

    public static readonly IReadOnlyDictionary<string, string> EmptyLabels = new Dictionary<string, string>();

    public JsonObject Json { get; }
    public byte[] Bytes { get; }
    public string Name { get; }
    public string Namespace { get; }
    public IReadOnlyDictionary<string, string> Labels { get; }
    public long ResourceVersion { get; }
}

/// <summary>A write as watchers see it; the previous labels let label-filtered watches see objects enter and leave.</summary>
public sealed record ChangeEvent(
    long ResourceVersion,
    ResourceType Type,
    string EventType,
    StoredObject Object,
    IReadOnlyDictionary<string, string>? PreviousLabels);
