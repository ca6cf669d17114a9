namespace Hypha.Rpc.Services;

/// <summary>
/// The services a client registers, and how Hypha sees them: the <c>register_service</c> argument and the
/// <c>get_service</c> answer (service info plus one method descriptor per function).
/// </summary>
internal sealed class ServiceRegistry
{
    private readonly Dictionary<string, HyphaServiceDefinition> services = new(StringComparer.Ordinal);

    public ServiceRegistry(IEnumerable<HyphaServiceDefinition> definitions)
    {
        foreach (var definition in definitions ?? throw new ArgumentNullException(nameof(definitions)))
        {
            definition.Validate();
            if (!services.TryAdd(definition.Id, definition))
            {
                throw new ArgumentException($"service Id '{definition.Id}' is defined twice");
            }
        }
    }

    public IReadOnlyCollection<HyphaServiceDefinition> Services => services.Values;

    public bool TryGet(string id, out HyphaServiceDefinition definition) => services.TryGetValue(id, out definition!);

    public static string FullId(string address, string serviceId) => $"{address}:{serviceId}";

    /// <summary>The argument of <c>services.default.register_service</c>.</summary>
    public static Dictionary<string, object?> RegistrationInfo(HyphaServiceDefinition service, string address, string workspace) => new(StringComparer.Ordinal)
    {
        ["id"] = FullId(address, service.Id),
        ["name"] = service.Name ?? service.Id,
        ["type"] = service.Type,
        ["description"] = service.Description,
        ["docs"] = service.Docs,
        ["app_id"] = "*",
        ["config"] = Config(service, workspace),
        ["service_schema"] = service.Functions.ToDictionary(f => f.Name, f => (object?)FunctionSchema(f), StringComparer.Ordinal),
    };

    /// <summary>The answer to <c>services.built-in.get_service(id)</c>: the info and a callable descriptor per function.</summary>
    public static Dictionary<string, object?> Describe(HyphaServiceDefinition service, string address, string workspace)
    {
        var info = RegistrationInfo(service, address, workspace);
        foreach (var function in service.Functions)
        {
            info[function.Name] = Descriptor(address, $"services.{service.Id}.{function.Name}", function.Name, function.Description, Schema(function));
        }

        return info;
    }

    /// <summary>The id a caller asked for, reduced to the short service id (<c>WS/CLIENT:ID@APP</c> → <c>ID</c>).</summary>
    public static string ShortId(string requested)
    {
        var id = requested;
        var colon = id.LastIndexOf(':');
        if (colon >= 0)
        {
            id = id[(colon + 1)..];
        }

        var at = id.IndexOf('@', StringComparison.Ordinal);
        return at >= 0 ? id[..at] : id;
    }

    /// <summary>A method descriptor as hypha_rpc encodes a function: the caller invokes it with <c>promise: "*"</c>.</summary>
    public static Dictionary<string, object?> Descriptor(string address, string method, string name, string? doc, object? schema) => new(StringComparer.Ordinal)
    {
        ["_rtype"] = "method",
        ["_rtarget"] = address,
        ["_rmethod"] = method,
        ["_rpromise"] = "*",
        ["_rname"] = name,
        ["_rdoc"] = doc ?? "",
        ["_rschema"] = schema,
        ["_rasync"] = true,
    };

    private static Dictionary<string, object?> Config(HyphaServiceDefinition service, string workspace) => new(StringComparer.Ordinal)
    {
        ["visibility"] = service.Visibility.WireName(),
        ["require_context"] = service.RequireContext,
        ["workspace"] = workspace,
    };

    private static Dictionary<string, object?> FunctionSchema(HyphaFunction function) => new(StringComparer.Ordinal)
    {
        ["type"] = "function",
        ["function"] = Schema(function),
    };

    private static Dictionary<string, object?> Schema(HyphaFunction function) => new(StringComparer.Ordinal)
    {
        ["name"] = function.Name,
        ["description"] = function.Description,
        ["parameters"] = function.Parameters,
    };
}
