using System.Collections.Concurrent;
using WorkspaceStorage.Core.Model;
using WorkspaceStorage.Resources;

namespace WorkspaceStorage.Api.Workspaces;

/// <summary>
/// What the companion reads from a StorageBackend, judged once per resourceVersion by the core's rules (the
/// operator's): its claim ceiling, usable on its own (who may be served needs no CA bundle parsed), and the validated
/// backend (endpoints normalized and defaulted as in the Secrets the operator writes), null when invalid.
/// </summary>
internal sealed class StorageBackendViews
{
    private readonly ConcurrentDictionary<string, StorageBackendView> views = new(StringComparer.Ordinal);

    public StorageBackendView Of(StorageBackendResource resource)
    {
        var name = resource.Metadata.Name;
        var version = resource.Metadata.ResourceVersion;
        if (views.TryGetValue(name, out var cached) && cached.Version == version && version is not null)
        {
            return cached;
        }

        var errors = new List<FieldError>();
        var ceiling = resource.CeilingOf(errors);
        var view = new StorageBackendView(version, errors.Count == 0 ? ceiling : null, resource.Validate().Value);
        views[name] = view;
        return view;
    }
}

/// <param name="Ceiling">Null when the ceiling is invalid: nobody is served.</param>
/// <param name="Backend">Null when the StorageBackend is invalid.</param>
internal sealed record StorageBackendView(string? Version, ClaimCeiling? Ceiling, ValidatedStorageBackend? Backend);
