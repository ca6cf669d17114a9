using System.Collections.Concurrent;
using WorkspaceStorage.Core.Workspaces;

namespace WorkspaceStorage.Api.Workspaces;

/// <summary>A directory held in memory: tests and benchmarks add workspaces with <see cref="Put"/>.</summary>
public sealed class InMemoryWorkspaceDirectory : IWorkspaceStorageDirectory
{
    private readonly ConcurrentDictionary<string, WorkspaceStorageHandle> handles = new(StringComparer.Ordinal);

    public void Put(WorkspaceStorageHandle handle)
    {
        ArgumentNullException.ThrowIfNull(handle);
        handles[handle.Workspace.Value] = handle;
    }

    public ValueTask<bool> IsPublicAsync(WorkspaceId workspace, CancellationToken cancellationToken) =>
        ValueTask.FromResult(handles.TryGetValue(workspace.Value, out var handle) && handle.IsPublic);

    public ValueTask<WorkspaceStorageHandle?> FindAsync(WorkspaceId workspace, CancellationToken cancellationToken) =>
        ValueTask.FromResult(handles.TryGetValue(workspace.Value, out var handle) ? handle : null);

    public ValueTask<IReadOnlyList<BucketBookkeeping>> ListBookkeepingBucketsAsync(CancellationToken cancellationToken) =>
        ValueTask.FromResult(DistinctBuckets(handles.Values));

    internal static IReadOnlyList<BucketBookkeeping> DistinctBuckets(IEnumerable<WorkspaceStorageHandle> handles) =>
        [.. handles
            .Where(h => h.BucketAdmin is not null)
            .GroupBy(h => (h.Location.Endpoint.GetLeftPart(UriPartial.Authority), h.Location.Bucket))
            .Select(g => new BucketBookkeeping(g.First().Location, g.First().BucketAdmin!))];
}
