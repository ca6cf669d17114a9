using System.Text.Json;
using Hypha.Rpc.Protocol;

namespace Hypha.Rpc.Services;

/// <summary>The handler of one function: it returns a plain value or throws (see <see cref="HyphaCallException"/>).</summary>
public delegate Task<object?> HyphaFunctionHandler(HyphaCall call, CancellationToken cancellationToken);

/// <summary>A service this client registers in Hypha: its description and its functions.</summary>
public sealed record HyphaServiceDefinition
{
    /// <summary>The short id (<c>s3-storage</c>); Hypha's full id is <c>WORKSPACE/CLIENT_ID:ID</c>.</summary>
    public required string Id { get; init; }

    public string? Name { get; init; }

    public string Type { get; init; } = "generic";

    public string? Description { get; init; }

    public string? Docs { get; init; }

    public HyphaServiceVisibility Visibility { get; init; } = HyphaServiceVisibility.Public;

    /// <summary>Tells Hypha (and its HTTP gateway) that the functions take the caller's context. Default true.</summary>
    public bool RequireContext { get; init; } = true;

    public required IReadOnlyList<HyphaFunction> Functions { get; init; }

    /// <summary>Checks the definition; the message names the field and the rule.</summary>
    public void Validate()
    {
        HyphaIds.ValidateSegment(Id, "service Id");
        if (Id == BuiltInService.Id)
        {
            throw new ArgumentException($"service Id '{Id}' is reserved for the client's own built-in service");
        }

        if (Functions is null || Functions.Count == 0)
        {
            throw new ArgumentException($"service '{Id}': Functions must list at least one function");
        }

        var names = new HashSet<string>(StringComparer.Ordinal);
        foreach (var function in Functions)
        {
            function.Validate(Id);
            if (!names.Add(function.Name))
            {
                throw new ArgumentException($"service '{Id}': function name '{function.Name}' appears twice");
            }
        }
    }
}

/// <summary>One function of a service.</summary>
public sealed record HyphaFunction
{
    public HyphaFunction(string name, string description, HyphaFunctionHandler handler, JsonElement? parameters = null)
    {
        Name = name;
        Description = description;
        Handler = handler;
        Parameters = parameters ?? EmptyParameters;
    }

    /// <summary>The JSON schema of a function without parameters.</summary>
    public static JsonElement EmptyParameters { get; } = JsonDocument.Parse("""{"type":"object","properties":{}}""").RootElement.Clone();

    public string Name { get; }

    public string Description { get; }

    /// <summary>The JSON schema of the parameters (an object schema, as Hypha's own functions declare).</summary>
    public JsonElement Parameters { get; }

    public HyphaFunctionHandler Handler { get; }

    /// <summary>A function whose parameter schema is given as JSON text.</summary>
    public static HyphaFunction Create(string name, string description, string parametersJson, HyphaFunctionHandler handler)
    {
        JsonElement schema;
        try
        {
            schema = JsonDocument.Parse(parametersJson).RootElement.Clone();
        }
        catch (JsonException ex)
        {
            throw new ArgumentException($"function '{name}': the parameters schema is not valid JSON ({ex.Message})", nameof(parametersJson));
        }

        return new HyphaFunction(name, description, handler, schema);
    }

    /// <summary>A function whose parameter schema is given as plain values (dictionaries, lists, strings, numbers, booleans), written as JSON.</summary>
    public static HyphaFunction Create(string name, string description, IReadOnlyDictionary<string, object?> parameters, HyphaFunctionHandler handler)
    {
        JsonElement schema;
        try
        {
            schema = JsonValues.FromPlain(parameters);
        }
        catch (NotSupportedException ex)
        {
            throw new ArgumentException($"function '{name}': the parameters schema is not plain values ({ex.Message})", nameof(parameters));
        }

        return new HyphaFunction(name, description, handler, schema);
    }

    internal void Validate(string serviceId)
    {
        HyphaIds.ValidateSegment(Name, $"service '{serviceId}' function Name");
        if (Name.Contains('.', StringComparison.Ordinal))
        {
            throw new ArgumentException($"service '{serviceId}' function '{Name}': a function name must not contain '.'");
        }

        if (Handler is null)
        {
            throw new ArgumentException($"service '{serviceId}' function '{Name}': Handler is required");
        }

        if (Parameters.ValueKind != JsonValueKind.Object)
        {
            throw new ArgumentException($"service '{serviceId}' function '{Name}': Parameters must be a JSON schema object");
        }
    }
}

/// <summary>Who may get and call a service (Hypha's <c>config.visibility</c>).</summary>
public enum HyphaServiceVisibility
{
    /// <summary>Listed and callable from every workspace.</summary>
    Public,

    /// <summary>Callable from every workspace, not listed.</summary>
    Unlisted,

    /// <summary>Only callers in the service's own workspace.</summary>
    Protected,
}

internal static class HyphaIds
{
    /// <summary>Ids are path segments of Hypha addresses: no '/', ':', '@' or whitespace.</summary>
    public static void ValidateSegment(string? value, string field)
    {
        if (string.IsNullOrWhiteSpace(value))
        {
            throw new ArgumentException($"{field} is required");
        }

        if (value.IndexOfAny(['/', ':', '@', ' ', '\t', '\n', '\r', '*']) >= 0)
        {
            throw new ArgumentException($"{field} '{value}' must not contain '/', ':', '@', '*' or whitespace");
        }
    }

    public static string WireName(this HyphaServiceVisibility visibility) => visibility switch
    {
        HyphaServiceVisibility.Unlisted => "unlisted",
        HyphaServiceVisibility.Protected => "protected",
        _ => "public",
    };
}
