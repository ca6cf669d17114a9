namespace WorkspaceStorage.Api.S3Storage;

/// <summary>
/// One keyword argument of a service function, as Hypha describes it: a JSON Schema fragment (type, bounds, default,
/// description) and whether it is required. The same description feeds the HTTP service description and the schema
/// registered in Hypha, so the two front doors cannot describe a function differently.
/// </summary>
public sealed record ServiceParameter(string Name, IReadOnlyDictionary<string, object?> Schema, bool Required = false)
{
    public static ServiceParameter String(string name, string description, string? defaultValue = null, bool required = false) =>
        new(name, Fragment("string", description, defaultValue), required);

    public static ServiceParameter Boolean(string name, string description) => new(name, Fragment("boolean", description, null));

    public static ServiceParameter Integer(string name, string description, int? defaultValue, int minimum, int maximum, bool required = false)
    {
        var schema = Fragment("integer", description, defaultValue);
        schema["minimum"] = minimum;
        schema["maximum"] = maximum;
        return new ServiceParameter(name, schema, required);
    }

    /// <summary>A string, or a list of strings (the batch form of get_file and put_file).</summary>
    public static ServiceParameter StringOrList(string name, string description) =>
        new(name, new Dictionary<string, object?>
        {
            ["description"] = description,
            ["anyOf"] = new object[]
            {
                new Dictionary<string, object?> { ["type"] = "string" },
                new Dictionary<string, object?> { ["type"] = "array", ["items"] = new Dictionary<string, object?> { ["type"] = "string" } },
            },
        }, Required: true);

    /// <summary>An integer, or a list of integers or nulls (one per path of a batch).</summary>
    public static ServiceParameter IntegerOrList(string name, string description, int minimum, int maximum) =>
        new(name, new Dictionary<string, object?>
        {
            ["description"] = description,
            ["anyOf"] = new object[]
            {
                new Dictionary<string, object?> { ["type"] = "integer", ["minimum"] = minimum, ["maximum"] = maximum },
                new Dictionary<string, object?>
                {
                    ["type"] = "array",
                    ["items"] = new Dictionary<string, object?> { ["type"] = new[] { "integer", "null" }, ["minimum"] = minimum, ["maximum"] = maximum },
                },
                new Dictionary<string, object?> { ["type"] = "null" },
            },
        });

    /// <summary>A list of objects with the given required integer and string properties.</summary>
    public static ServiceParameter ObjectList(string name, string description, string integerProperty, string stringProperty) =>
        new(name, new Dictionary<string, object?>
        {
            ["type"] = "array",
            ["description"] = description,
            ["items"] = new Dictionary<string, object?>
            {
                ["type"] = "object",
                ["properties"] = new Dictionary<string, object?>
                {
                    [integerProperty] = new Dictionary<string, object?> { ["type"] = "integer" },
                    [stringProperty] = new Dictionary<string, object?> { ["type"] = "string" },
                },
                ["required"] = new[] { integerProperty, stringProperty },
            },
        }, Required: true);

    private static Dictionary<string, object?> Fragment(string type, string description, object? defaultValue)
    {
        var schema = new Dictionary<string, object?> { ["type"] = type, ["description"] = description };
        if (defaultValue is not null)
        {
            schema["default"] = defaultValue;
        }

        return schema;
    }
}
