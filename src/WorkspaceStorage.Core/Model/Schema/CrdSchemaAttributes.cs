namespace WorkspaceStorage.Core.Model.Schema;

// Attributes that carry the OpenAPI rules of the CRDs on the C# model, so the CRD YAML is generated from the
// model (like controller-gen markers) and the two cannot drift apart. Descriptions come from
// System.ComponentModel.DescriptionAttribute.

/// <summary>The field must be present (OpenAPI <c>required</c> on the parent object).</summary>
[AttributeUsage(AttributeTargets.Property)]
public sealed class CrdRequiredAttribute : Attribute;

/// <summary>The API server fills this value in when the field is absent (OpenAPI <c>default</c>).</summary>
/// <remarks>The C# initializer holds the same value; a test checks the two agree.</remarks>
[AttributeUsage(AttributeTargets.Property)]
public sealed class CrdDefaultAttribute(object value) : Attribute
{
    public object Value { get; } = value;
}

/// <summary>A regular expression (ECMA 262, as the API server evaluates it) the string must match.</summary>
[AttributeUsage(AttributeTargets.Property)]
public sealed class CrdPatternAttribute(string pattern) : Attribute
{
    public string Pattern { get; } = pattern;
}

/// <summary>String length bounds.</summary>
[AttributeUsage(AttributeTargets.Property)]
public sealed class CrdLengthAttribute : Attribute
{
    public int MinLength { get; init; } = -1;

    public int MaxLength { get; init; } = -1;
}

/// <summary>Array size bounds.</summary>
[AttributeUsage(AttributeTargets.Property)]
public sealed class CrdItemsAttribute : Attribute
{
    public int MinItems { get; init; } = -1;

    public int MaxItems { get; init; } = -1;
}

/// <summary>OpenAPI <c>format</c> (e.g. <c>date-time</c>, <c>int64</c>).</summary>
[AttributeUsage(AttributeTargets.Property)]
public sealed class CrdFormatAttribute(string format) : Attribute
{
    public string Format { get; } = format;
}

/// <summary><c>x-kubernetes-list-type</c> (and map keys for <c>map</c> lists).</summary>
[AttributeUsage(AttributeTargets.Property)]
public sealed class CrdListTypeAttribute(string listType, params string[] mapKeys) : Attribute
{
    public string ListType { get; } = listType;

    public IReadOnlyList<string> MapKeys { get; } = mapKeys;
}

/// <summary>
/// A CEL rule (<c>x-kubernetes-validations</c>). On a property it applies to that field's schema; on a class
/// to every schema of that type (the root schema when the class is the resource).
/// </summary>
[AttributeUsage(AttributeTargets.Property | AttributeTargets.Class, AllowMultiple = true)]
public sealed class CrdValidationAttribute(string rule, string message) : Attribute
{
    public string Rule { get; } = rule;

    public string Message { get; } = message;

    /// <summary>Optional machine-readable reason (FieldValueInvalid, FieldValueForbidden, ...).</summary>
    public string? Reason { get; init; }

    /// <summary>Optional field path the error is reported on (e.g. <c>.workspace</c>).</summary>
    public string? FieldPath { get; init; }
}
