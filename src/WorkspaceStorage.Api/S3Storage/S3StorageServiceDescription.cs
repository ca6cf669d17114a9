namespace WorkspaceStorage.Api.S3Storage;

/// <summary>
/// The service as Hypha describes a registered service: id, name, type, description, config, and per function
/// <c>{type: "function", function: {name, description, parameters}}</c> with a JSON Schema. Served over HTTP at
/// <c>GET /public/services/s3-storage</c> and registered in Hypha as <c>service_schema</c>, from the same table.
/// </summary>
public static class S3StorageServiceDescription
{
    public const string DefaultServiceId = "s3-storage";
    public const string DefaultWorkspace = "public";
    public const string Name = "S3 Storage Service";
    public const string Type = "s3-storage";

    public const string Description =
        "S3-compatible object storage for Hypha workspaces: credentials and presigned URLs scoped to the caller's workspace, " +
        "file listing, upload and download, multipart uploads. Served by WorkspaceStorageOperator's companion API.";

    /// <summary>The <c>config</c> Hypha keeps with the service: public, and every call carries the caller's context.</summary>
    public static Dictionary<string, object?> Config(string workspace) => new()
    {
        ["visibility"] = "public",
        ["require_context"] = true,
        ["workspace"] = workspace,
    };

    /// <summary>Function name → <c>{type: "function", function: {name, description, parameters}}</c>.</summary>
    public static Dictionary<string, object?> FunctionSchemas(S3StorageService service)
    {
        ArgumentNullException.ThrowIfNull(service);
        return service.Functions.ToDictionary(f => f.Name, f => (object?)new Dictionary<string, object?>
        {
            ["type"] = "function",
            ["function"] = new Dictionary<string, object?>
            {
                ["name"] = f.Name,
                ["description"] = f.Description,
                ["parameters"] = f.ParametersSchema(),
            },
        }, StringComparer.Ordinal);
    }

    /// <summary>The whole description, as <c>GET /public/services/s3-storage</c> returns it.</summary>
    public static Dictionary<string, object?> Describe(S3StorageService service, string serviceId = DefaultServiceId, string workspace = DefaultWorkspace)
    {
        var description = new Dictionary<string, object?>
        {
            ["id"] = $"{workspace}/{serviceId}",
            ["name"] = Name,
            ["type"] = Type,
            ["description"] = Description,
            ["config"] = Config(workspace),
        };
        foreach (var (name, schema) in FunctionSchemas(service))
        {
            description[name] = schema;
        }

        return description;
    }
}
