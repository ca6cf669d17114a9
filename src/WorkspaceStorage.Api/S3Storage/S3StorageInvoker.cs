using WorkspaceStorage.Api.Auth;
using WorkspaceStorage.Api.Errors;
using WorkspaceStorage.Api.Workspaces;
using WorkspaceStorage.Core.Workspaces;

namespace WorkspaceStorage.Api.S3Storage;

/// <summary>
/// Calls one s3-storage function for one caller on one workspace: the whole path both front doors share, so the HTTP
/// routes and the Hypha RPC registration cannot drift apart. Order: the workspace id is valid (400), the function exists
/// (404), the caller may read W at all (403, before any argument is read), the arguments are known, the caller holds
/// the permission this call needs (403), W has storage (404/503), W itself is writable when the call writes (403), then
/// the function runs. Failures are exceptions that <see cref="ApiFailure.From"/> maps for either transport.
/// </summary>
public sealed class S3StorageInvoker(S3StorageService service, WorkspaceAuthorizer authorizer, WorkspaceStorageResolver resolver)
{
    public S3StorageService Service => service;

    /// <param name="workspace">The workspace the call acts on: the token's current workspace or the route's (HTTP), <c>context.ws</c> (RPC).</param>
    /// <param name="readArguments">Reads the arguments; called only once the caller is known to have some access to W.</param>
    public async Task<object?> InvokeAsync(HyphaPrincipal caller, string? workspace, string function,
        Func<CancellationToken, ValueTask<ServiceArguments>> readArguments, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(readArguments);
        if (!WorkspaceId.TryParse(workspace, out var id, out var rule))
        {
            throw new ApiArgumentException("workspace", rule);
        }

        var found = service.Find(function)
            ?? throw new ApiException(StatusCodes.Status404NotFound, $"function '{function}' does not exist in service s3-storage");
        var access = await authorizer.RequireAsync(caller, id, Permission.Read, cancellationToken);
        var arguments = await readArguments(cancellationToken);
        arguments.RejectUnknown(found.ArgumentNames);
        var required = found.RequiredPermission(arguments);
        if (required > Permission.Read)
        {
            access = await authorizer.RequireAsync(caller, id, required, cancellationToken);
        }

        var storage = await resolver.ResolveAsync(id, cancellationToken);
        if (required >= Permission.ReadWrite)
        {
            storage.RequireWritable();
        }

        return await found.Invoke(new S3StorageCall(access, storage, arguments, cancellationToken));
    }
}
