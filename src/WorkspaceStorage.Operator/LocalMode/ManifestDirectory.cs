using System.Security.Cryptography;
using System.Text;
using System.Text.Json.Nodes;
using Microsoft.Extensions.Logging;
using WorkspaceStorage.Kubernetes.Runtime;
using YamlDotNet.Core;

namespace WorkspaceStorage.Operator.LocalMode;

/// <summary>
/// Reads the local mode's manifest directory: every *.yaml/*.yml (not hidden, not under the output directory), each
/// parsed once per content (by hash). A file that cannot be read or parsed keeps its previous objects, so a half-saved
/// edit is not a deletion; warnings name the file and position, never the content.
/// </summary>
internal sealed class ManifestDirectory(string root, string outputRoot, ILogger logger)
{
    private readonly Dictionary<string, ParsedFile> files = new(StringComparer.Ordinal);

    public string Root { get; } = root;

    /// <summary>The objects the manifests define, by kind and key (the first definition wins).</summary>
    public Dictionary<(string Kind, ResourceKey Key), JsonObject> Read()
    {
        var desired = new Dictionary<(string Kind, ResourceKey Key), JsonObject>();
        var seen = new HashSet<string>(StringComparer.Ordinal);
        var paths = Directory.EnumerateFiles(Root, "*", SearchOption.AllDirectories)
            .Where(p => p.EndsWith(".yaml", StringComparison.OrdinalIgnoreCase) || p.EndsWith(".yml", StringComparison.OrdinalIgnoreCase))
            .Where(p => !p.StartsWith(outputRoot + Path.DirectorySeparatorChar, StringComparison.Ordinal))
            .Where(p => !Path.GetFileName(p).StartsWith('.'))
            .Order(StringComparer.Ordinal);
        foreach (var path in paths)
        {
            seen.Add(path);
            foreach (var document in Documents(path))
            {
                if (ManifestKind.Of(document) is not { } kind)
                {
                    continue; // Kustomization, Namespace …: not objects the operator reads
                }

                var normalized = kind.Normalize(document);
                if (normalized.Error is not null)
                {
                    logger.LogWarning("Local mode: {File}: skipping a {Kind}: {Error}", path, kind.Name, normalized.Error);
                    continue;
                }

                var id = (kind.Name, normalized.Key);
                if (!desired.TryAdd(id, normalized.Object))
                {
                    logger.LogWarning("Local mode: {File}: {Kind} {Key} is defined twice; keeping the first", path, kind.Name, normalized.Key.ToString());
                }
            }
        }

        foreach (var gone in files.Keys.Where(p => !seen.Contains(p)).ToList())
        {
            files.Remove(gone);
        }

        return desired;
    }

    private IReadOnlyList<JsonObject> Documents(string path)
    {
        byte[] bytes;
        try
        {
            bytes = File.ReadAllBytes(path);
        }
        catch (Exception error) when (error is IOException or UnauthorizedAccessException)
        {
            logger.LogWarning("Local mode: cannot read {File} ({Error}); keeping its previous objects", path, error.GetType().Name);
            return files.TryGetValue(path, out var previous) ? previous.Documents : [];
        }

        var hash = Convert.ToHexString(SHA256.HashData(bytes));
        if (files.TryGetValue(path, out var cached) && cached.Hash == hash)
        {
            return cached.Documents;
        }

        try
        {
            var documents = YamlJson.ParseDocuments(Encoding.UTF8.GetString(bytes));
            files[path] = new ParsedFile(hash, documents);
            return documents;
        }
        catch (YamlException error)
        {
            // Position only: the message of a YAML error can quote the text, and the text can hold a key.
            logger.LogWarning("Local mode: {File} is not valid YAML (line {Line}, column {Column}); keeping its previous objects",
                path, error.Start.Line, error.Start.Column);
            return cached?.Documents ?? [];
        }
    }

    private sealed record ParsedFile(string Hash, IReadOnlyList<JsonObject> Documents);
}
