using System.Collections.Concurrent;
using k8s.Models;
using WorkspaceStorage.Core.Model;
using WorkspaceStorage.Resources;

namespace WorkspaceStorage.Operator.Hosting;

/// <summary>
/// What the operator's informer caches keep of each object: only the fields their readers use. Every reconcile reads
/// the stored object from the API server, so the caches serve only to map events to keys, to find a second claimant
/// of a workspace (<see cref="Reconciliation.WorkspaceClaims"/>, <see cref="OperatorHost"/>'s claim and backend
/// scans) and to count objects by state (<see cref="OperatorMetrics"/>). Dropped: managedFields, every annotation
/// (kubectl's last-applied-configuration is a second copy of the whole manifest), labels, finalizers, the spec's Secret
/// and credential settings, condition messages and times, and of Secrets everything but name, namespace, version and
/// ownerReferences (a Secret's data is read from the API server when it is needed). Strings that repeat across
/// thousands of objects (namespace, kind, backend name, condition type and status) are shared, not copied per object;
/// the pools belong to one instance (one per operator host), not to the process.
/// </summary>
internal sealed class CacheTrimmer
{
    // Bounded so a cluster with unbounded distinct values (namespaces, say) cannot grow this past a small size; past
    // the bound values are simply not shared.
    private const int MaxShared = 4096;
    private readonly ConcurrentDictionary<string, string> strings = new(StringComparer.Ordinal);
    private readonly ConcurrentDictionary<string, BackendReference> backendReferences = new(StringComparer.Ordinal);

    public WorkspaceStorageResource WorkspaceStorage(WorkspaceStorageResource full)
    {
        ArgumentNullException.ThrowIfNull(full);
        var spec = full.Spec;
        return new WorkspaceStorageResource
        {
            ApiVersion = Shared(full.ApiVersion)!,
            Kind = Shared(full.Kind)!,
            Metadata = new V1ObjectMeta
            {
                Name = full.Metadata.Name,
                NamespaceProperty = Shared(full.Metadata.NamespaceProperty),
                Uid = full.Metadata.Uid,
                ResourceVersion = full.Metadata.ResourceVersion,
                Generation = full.Metadata.Generation,
                CreationTimestamp = full.Metadata.CreationTimestamp,
                DeletionTimestamp = full.Metadata.DeletionTimestamp,
            },
            Spec = spec is null
                ? new WorkspaceStorageSpec()
                : new WorkspaceStorageSpec
                {
                    Workspace = spec.Workspace,
                    BackendRef = SharedBackendReference(spec.BackendRef),
                    Access = spec.Access,
                    DeletionPolicy = spec.DeletionPolicy,
                },
            Status = full.Status is not { } status
                ? null
                : new WorkspaceStorageStatus
                {
                    Workspace = status.Workspace,
                    AccessKeyId = status.AccessKeyId,
                    ObservedGeneration = status.ObservedGeneration,
                    Usage = status.Usage,   // the usage and quota gauges of OperatorMetrics
                    Quota = status.Quota,
                    Conditions = status.Conditions is null
                        ? []
                        : [.. status.Conditions.Select(c => new V1Condition { Type = Shared(c.Type), Status = Shared(c.Status) })],
                },
        };
    }

    public V1Secret Secret(V1Secret full)
    {
        ArgumentNullException.ThrowIfNull(full);
        return new V1Secret
        {
            ApiVersion = Shared(full.ApiVersion),
            Kind = Shared(full.Kind),
            Metadata = new V1ObjectMeta
            {
                Name = full.Metadata.Name,
                NamespaceProperty = Shared(full.Metadata.NamespaceProperty),
                Uid = full.Metadata.Uid,
                ResourceVersion = full.Metadata.ResourceVersion,
                OwnerReferences = full.Metadata.OwnerReferences is { Count: > 0 } owners
                    ? [.. owners.Select(o => new V1OwnerReference
                    {
                        ApiVersion = Shared(o.ApiVersion),
                        Kind = Shared(o.Kind),
                        Name = o.Name,
                        Uid = o.Uid,
                        Controller = o.Controller,
                    })]
                    : null,
            },
        };
    }

    private string? Shared(string? value)
    {
        if (value is null)
        {
            return null;
        }

        if (strings.TryGetValue(value, out var shared))
        {
            return shared;
        }

        return strings.Count < MaxShared ? strings.GetOrAdd(value, value) : value;
    }

    private BackendReference? SharedBackendReference(BackendReference? reference)
    {
        if (reference is null)
        {
            return null;
        }

        if (backendReferences.TryGetValue(reference.Name, out var shared))
        {
            return shared;
        }

        // Records with init-only properties: a shared instance is never changed by a reader.
        return backendReferences.Count < MaxShared ? backendReferences.GetOrAdd(reference.Name, reference) : reference;
    }
}
