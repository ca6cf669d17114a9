using System.Text.Json.Nodes;

namespace WorkspaceStorage.Operator.LocalMode;

/// <summary>How the local mode updates an object from its changed manifest, as <c>kubectl apply</c> does.</summary>
internal static class ApplyMerge
{
    /// <summary>As <c>kubectl apply</c>: the manifest's fields win, fields it dropped since the last apply go, others stay.</summary>
    public static JsonObject ThreeWayMerge(JsonObject current, JsonObject desired, JsonObject? lastApplied)
    {
        var next = (JsonObject)current.DeepClone();
        MergeFields(next, desired, lastApplied, skip: ["apiVersion", "kind", "metadata", "status"]);
        var metadata = next["metadata"] as JsonObject ?? [];
        next["metadata"] = metadata;
        foreach (var field in (string[])["labels", "annotations"])
        {
            var target = metadata[field] as JsonObject ?? [];
            MergeFields(target, desired["metadata"]?[field] as JsonObject ?? [], lastApplied?["metadata"]?[field] as JsonObject, skip: []);
            metadata[field] = target.Count == 0 ? null : target;
            if (target.Count == 0)
            {
                metadata.Remove(field);
            }
        }

        if (desired["metadata"]?["finalizers"] is JsonArray wanted)
        {
            var finalizers = metadata["finalizers"] as JsonArray ?? [];
            foreach (var name in wanted.Select(f => f?.ToString()).Where(f => f is not null && !finalizers.Any(have => have?.ToString() == f)))
            {
                finalizers.Add(name);
            }

            metadata["finalizers"] = finalizers;
        }

        return next;
    }

    private static void MergeFields(JsonObject target, JsonObject desired, JsonObject? lastApplied, string[] skip)
    {
        foreach (var (name, value) in desired)
        {
            if (!skip.Contains(name))
            {
                target[name] = value?.DeepClone();
            }
        }

        foreach (var (name, _) in lastApplied ?? [])
        {
            if (!skip.Contains(name) && !desired.ContainsKey(name))
            {
                target.Remove(name);
            }
        }
    }
}
