using System.Text.Json;
using Hypha.Rpc;
using Hypha.Rpc.Services;
using WorkspaceStorage.Api.Errors;
using WorkspaceStorage.Api.Json;
using WorkspaceStorage.Api.S3Storage;

namespace WorkspaceStorage.Api.HyphaRpc;

/// <summary>
/// The s3-storage service as a Hypha service definition: one RPC function per function of <see cref="S3StorageService"/>,
/// with its description and JSON Schema, each a thin transport over <see cref="S3StorageInvoker"/> — the same path the
/// HTTP routes take. The workspace is <c>context.ws</c> and the caller is Hypha's stamped user; arguments bind as in
/// Python (keywords by name, positionals in the schema's order). Failures become Hypha errors with the API's detail.
/// </summary>
public sealed class S3StorageRpcService(S3StorageInvoker invoker, ILogger<S3StorageRpcService> logger)
{
    public HyphaServiceDefinition Definition(string serviceId) => new()
    {
        Id = serviceId,
        Name = S3StorageServiceDescription.Name,
        Type = S3StorageServiceDescription.Type,
        Description = S3StorageServiceDescription.Description,
        Visibility = HyphaServiceVisibility.Public,
        RequireContext = true,
        Functions = [.. invoker.Service.Functions.Select(f => new HyphaFunction(f.Name, f.Description, (call, ct) => InvokeAsync(f, call, ct),
            JsonSerializer.SerializeToElement(f.ParametersSchema(), ApiJsonContext.Default.DictionaryStringObject)))],
    };

    private async Task<object?> InvokeAsync(S3StorageFunction function, HyphaCall call, CancellationToken cancellationToken)
    {
        try
        {
            var caller = RpcCaller.From(call.Context);
            return await invoker.InvokeAsync(caller, call.Context.Workspace, function.Name,
                _ => ValueTask.FromResult(Bind(function, call)), cancellationToken);
        }
        catch (Exception ex) when (ex is not OperationCanceledException || !cancellationToken.IsCancellationRequested)
        {
            var failure = ApiFailure.From(ex);
            if (failure.Unexpected)
            {
                logger.LogError(ex, "Unhandled error in RPC call {Function} from {Caller}", function.Name, call.Context.From);
            }
            else if (failure.StatusCode == StatusCodes.Status503ServiceUnavailable)
            {
                logger.LogWarning(ex, "Storage unavailable in RPC call {Function}", function.Name);
            }

            throw new HyphaCallException(ErrorType(failure.StatusCode), failure.Detail);
        }
    }

    /// <summary>Keywords by name; positionals in the order of the function's parameters, as Python binds them.</summary>
    internal static ServiceArguments Bind(S3StorageFunction function, HyphaCall call)
    {
        if (call.Args.Count > function.Parameters.Count)
        {
            throw new ApiArgumentException("arguments", $"{function.Name} takes at most {function.Parameters.Count} positional arguments ({call.Args.Count} given)");
        }

        var values = new Dictionary<string, object?>(call.Kwargs, StringComparer.Ordinal);
        for (var i = 0; i < call.Args.Count; i++)
        {
            var name = function.Parameters[i].Name;
            if (!values.TryAdd(name, call.Args[i]))
            {
                throw new ApiArgumentException(name, "was given both by position and by keyword");
            }
        }

        return ServiceArguments.Of(values);
    }

    /// <summary>The Python exception name a Hypha client sees in front of the detail.</summary>
    internal static string ErrorType(int statusCode) => statusCode switch
    {
        StatusCodes.Status400BadRequest or StatusCodes.Status413PayloadTooLarge or StatusCodes.Status416RangeNotSatisfiable => "ValueError",
        StatusCodes.Status401Unauthorized or StatusCodes.Status403Forbidden => "PermissionError",
        StatusCodes.Status404NotFound => "LookupError",
        StatusCodes.Status501NotImplemented => "NotImplementedError",
        StatusCodes.Status503ServiceUnavailable => "ConnectionError",
        _ => "Exception",
    };
}
