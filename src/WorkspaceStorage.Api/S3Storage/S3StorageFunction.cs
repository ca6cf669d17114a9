using WorkspaceStorage.Api.Auth;
using WorkspaceStorage.Api.Workspaces;
using WorkspaceStorage.Core.Workspaces;

namespace WorkspaceStorage.Api.S3Storage;

/// <summary>
/// One function of the <c>s3-storage</c> service: its name, description and parameters (Hypha's schema), the permission
/// it needs given its arguments, and its body. Bodies return plain values (dictionaries, lists, strings, numbers)
/// that either front door can serialise: JSON over HTTP, msgpack over Hypha's RPC.
/// </summary>
public sealed record S3StorageFunction(
    string Name,
    string Description,
    IReadOnlyList<ServiceParameter> Parameters,
    Func<ServiceArguments, Permission> RequiredPermission,
    Func<S3StorageCall, Task<object?>> Invoke)
{
    public IReadOnlyCollection<string> ArgumentNames { get; } = Parameters.Select(p => p.Name).ToArray();

    /// <summary>The JSON Schema of the keyword arguments: <c>{type: object, properties, required}</c>.</summary>
    public Dictionary<string, object?> ParametersSchema() => new()
    {
        ["type"] = "object",
        ["properties"] = Parameters.ToDictionary(p => p.Name, p => (object?)p.Schema, StringComparer.Ordinal),
        ["required"] = Parameters.Where(p => p.Required).Select(p => p.Name).ToArray(),
    };
}

/// <summary>Everything one call has: who is calling and with what access, W's storage, and the arguments.</summary>
public sealed record S3StorageCall(WorkspaceGrant Access, ResolvedWorkspace Storage, ServiceArguments Arguments, CancellationToken CancellationToken)
{
    public WorkspaceId Workspace => Storage.Workspace;
}
