using System.ComponentModel;
using System.Diagnostics.CodeAnalysis;
using System.Globalization;
using System.Reflection;
using System.Text.Json.Serialization;
using k8s.Models;
using WorkspaceStorage.Core.Model;
using WorkspaceStorage.Core.Model.Schema;
using YamlDotNet.Core;
using YamlDotNet.Serialization;

namespace WorkspaceStorage.Operator.Crds;

/// <summary>
/// Builds the CustomResourceDefinition YAML from the C# model and its schema attributes, the way controller-gen builds
/// it from Go types and markers. The files in <c>crds/</c> and <c>config/crd/bases/</c> are its output; a test
/// regenerates them and fails on any difference, so the model and the CRDs cannot drift apart.
/// A build-time tool (only the tests call it): it reflects over the model and YamlDotNet's serializer, so it is kept
/// out of the trimmed, AOT-compiled operator by these attributes rather than made reflection-free.
/// </summary>
[RequiresUnreferencedCode("Reflects over the resource model; run by the tests, not by the operator.")]
[RequiresDynamicCode("YamlDotNet's reflection serializer; run by the tests, not by the operator.")]
public static class CrdGenerator
{
    public const string Header =
        "# Generated from the C# model by WorkspaceStorage.Operator/Crds/CrdGenerator.cs; do not edit.\n"
        + "# Regenerate: WSO_UPDATE_CRDS=1 dotnet test tests/WorkspaceStorage.Operator.Tests --filter FullyQualifiedName~Crds\n"
        + "---\n";

    public static string Generate(CrdDefinition definition) => Header + ToYaml(BuildDocument(definition));

    /// <summary>
    /// Block-style YAML with YamlDotNet: keys in the tree's (sorted) order, strings quoted only where YAML would read
    /// them as something else, and no line folding, so the output is byte-stable and diffs stay readable.
    /// </summary>
    private static string ToYaml(SortedDictionary<string, object> document)
    {
        var serializer = new SerializerBuilder().WithQuotingNecessaryStrings().Build();
        using var writer = new StringWriter(CultureInfo.InvariantCulture) { NewLine = "\n" };
        serializer.Serialize(new Emitter(writer, new EmitterSettings(bestIndent: 2, bestWidth: int.MaxValue, isCanonical: false, maxSimpleKeyLength: 1024)), document);
        return writer.ToString();
    }

    /// <summary>The CRD as a tree of sorted maps, lists and scalars (what <see cref="Generate"/> writes).</summary>
    public static SortedDictionary<string, object> BuildDocument(CrdDefinition definition)
    {
        ArgumentNullException.ThrowIfNull(definition);
        var root = ObjectSchema(definition.ResourceType, isRoot: true);

        var names = Map(
            ("categories", definition.Categories.Cast<object>().ToList()),
            ("kind", definition.Kind),
            ("listKind", definition.ListKind),
            ("plural", definition.Plural),
            ("shortNames", definition.ShortNames.Cast<object>().ToList()),
            ("singular", definition.Singular));

        var columns = definition.PrinterColumns.Select(c =>
        {
            var column = Map(("description", c.Description), ("jsonPath", c.JsonPath), ("name", c.Name), ("type", c.Type));
            if (c.Priority != 0)
            {
                column["priority"] = c.Priority;
            }

            return (object)column;
        }).ToList();

        var version = Map(
            ("additionalPrinterColumns", columns),
            ("name", ApiGroup.Version),
            ("schema", Map(("openAPIV3Schema", root))),
            ("served", true),
            ("storage", true),
            ("subresources", Map(("status", Map()))));

        var document = new SortedDictionary<string, object>(StringComparer.Ordinal)
        {
            ["apiVersion"] = "apiextensions.k8s.io/v1",
            ["kind"] = "CustomResourceDefinition",
            ["metadata"] = Map(("name", definition.Name)),
            ["spec"] = Map(
                ("group", ApiGroup.Group),
                ("names", names),
                ("scope", definition.Namespaced ? "Namespaced" : "Cluster"),
                ("versions", new List<object> { version })),
        };

        return document;
    }

    private static SortedDictionary<string, object> ObjectSchema(Type type, bool isRoot)
    {
        var schema = Map(("type", "object"));
        AddDescription(schema, type);
        var properties = new SortedDictionary<string, object>(StringComparer.Ordinal);
        var required = new List<string>();
        foreach (var property in type.GetProperties(BindingFlags.Public | BindingFlags.Instance))
        {
            var jsonName = property.GetCustomAttribute<JsonPropertyNameAttribute>()?.Name;
            if (jsonName is null || property.GetCustomAttribute<JsonIgnoreAttribute>() is not null)
            {
                continue;
            }

            properties[jsonName] = isRoot ? RootPropertySchema(jsonName, property) : PropertySchema(property);
            if (property.GetCustomAttribute<CrdRequiredAttribute>() is not null)
            {
                required.Add(jsonName);
            }
        }

        schema["properties"] = properties;
        if (required.Count > 0)
        {
            required.Sort(StringComparer.Ordinal);
            schema["required"] = required.Cast<object>().ToList();
        }

        AddValidations(schema, type.GetCustomAttributes<CrdValidationAttribute>());
        return schema;
    }

    private static SortedDictionary<string, object> RootPropertySchema(string jsonName, PropertyInfo property) => jsonName switch
    {
        "apiVersion" => Map(("description", "APIVersion defines the versioned schema of this representation of an object."), ("type", "string")),
        "kind" => Map(("description", "Kind is a string value representing the REST resource this object represents."), ("type", "string")),
        "metadata" => Map(("type", "object")),
        _ => PropertySchema(property),
    };

    private static SortedDictionary<string, object> PropertySchema(PropertyInfo property)
    {
        var schema = TypeSchema(property.PropertyType);
        if (property.GetCustomAttribute<DescriptionAttribute>() is { } description)
        {
            schema["description"] = description.Description;
        }

        if (property.GetCustomAttribute<CrdDefaultAttribute>() is { } defaultValue)
        {
            schema["default"] = DefaultValue(defaultValue.Value, schema);
        }

        if (property.GetCustomAttribute<CrdPatternAttribute>() is { } pattern)
        {
            schema["pattern"] = pattern.Pattern;
        }

        if (property.GetCustomAttribute<CrdLengthAttribute>() is { } length)
        {
            SetIfSet(schema, "minLength", length.MinLength);
            SetIfSet(schema, "maxLength", length.MaxLength);
        }

        if (property.GetCustomAttribute<CrdItemsAttribute>() is { } items)
        {
            SetIfSet(schema, "minItems", items.MinItems);
            SetIfSet(schema, "maxItems", items.MaxItems);
        }

        if (property.GetCustomAttribute<CrdFormatAttribute>() is { } format)
        {
            schema["format"] = format.Format;
        }

        if (property.GetCustomAttribute<CrdListTypeAttribute>() is { } listType)
        {
            schema["x-kubernetes-list-type"] = listType.ListType;
            if (listType.MapKeys.Count > 0)
            {
                schema["x-kubernetes-list-map-keys"] = listType.MapKeys.Cast<object>().ToList();
            }
        }

        AddValidations(schema, property.GetCustomAttributes<CrdValidationAttribute>());
        return schema;
    }

    private static SortedDictionary<string, object> TypeSchema(Type type)
    {
        type = Nullable.GetUnderlyingType(type) ?? type;
        if (type == typeof(string))
        {
            return Map(("type", "string"));
        }

        if (type == typeof(bool))
        {
            return Map(("type", "boolean"));
        }

        if (type == typeof(long))
        {
            return Map(("type", "integer"), ("format", "int64"));
        }

        if (type == typeof(int))
        {
            return Map(("type", "integer"), ("format", "int32"));
        }

        if (type == typeof(DateTime) || type == typeof(DateTimeOffset))
        {
            return Map(("type", "string"), ("format", "date-time"));
        }

        if (type.IsEnum)
        {
            return Map(("type", "string"), ("enum", EnumValues(type).Cast<object>().ToList()));
        }

        if (type == typeof(V1Condition))
        {
            return ConditionSchema();
        }

        if (ElementType(type) is { } element)
        {
            return Map(("type", "array"), ("items", TypeSchema(element)));
        }

        if (type.IsGenericType && type.GetGenericTypeDefinition() is var map
            && (map == typeof(Dictionary<,>) || map == typeof(IDictionary<,>) || map == typeof(IReadOnlyDictionary<,>))
            && type.GetGenericArguments()[0] == typeof(string))
        {
            return Map(("type", "object"), ("additionalProperties", TypeSchema(type.GetGenericArguments()[1])));
        }

        if (type.IsClass && type.Namespace?.StartsWith("WorkspaceStorage.", StringComparison.Ordinal) == true)
        {
            return ObjectSchema(type, isRoot: false);
        }

        throw new NotSupportedException($"no CRD schema mapping for {type.FullName}");
    }

    /// <summary>The JSON names of an enum, as its JsonStringEnumConverter writes them.</summary>
    public static IReadOnlyList<string> EnumValues(Type enumType) =>
        enumType.GetFields(BindingFlags.Public | BindingFlags.Static)
            .Select(f => f.GetCustomAttribute<JsonStringEnumMemberNameAttribute>()?.Name ?? f.Name)
            .ToList();

    private static Type? ElementType(Type type)
    {
        if (type.IsArray)
        {
            return type.GetElementType();
        }

        if (type.IsGenericType && type.GetGenericTypeDefinition() is var definition
            && (definition == typeof(List<>) || definition == typeof(IList<>) || definition == typeof(IReadOnlyList<>) || definition == typeof(IEnumerable<>)))
        {
            return type.GetGenericArguments()[0];
        }

        return null;
    }

    private static object DefaultValue(object value, SortedDictionary<string, object> schema) => value switch
    {
        "{}" when (string)schema["type"] == "object" => Map(),
        string[] strings => strings.Cast<object>().ToList(),
        string or bool or int or long => value,
        _ => throw new NotSupportedException($"unsupported default {value}"),
    };

    /// <summary>metav1.Condition, as controller-gen writes it.</summary>
    private static SortedDictionary<string, object> ConditionSchema() => Map(
        ("description", "Condition contains details for one aspect of the current state of this API Resource."),
        ("type", "object"),
        ("required", new List<object> { "lastTransitionTime", "message", "reason", "status", "type" }),
        ("properties", Map(
            ("lastTransitionTime", Map(("description", "When the condition last changed status."), ("type", "string"), ("format", "date-time"))),
            ("message", Map(("description", "Human-readable details."), ("type", "string"), ("maxLength", 32768))),
            ("observedGeneration", Map(("description", "The metadata.generation the condition was set for."), ("type", "integer"), ("format", "int64"), ("minimum", 0))),
            ("reason", Map(
                ("description", "CamelCase reason for the last transition."),
                ("type", "string"),
                ("minLength", 1),
                ("maxLength", 1024),
                ("pattern", "^[A-Za-z]([A-Za-z0-9_,:]*[A-Za-z0-9_])?$"))),
            ("status", Map(("description", "True, False or Unknown."), ("type", "string"), ("enum", new List<object> { "True", "False", "Unknown" }))),
            ("type", Map(
                ("description", "Condition type: Ready, Reconciling or Stalled."),
                ("type", "string"),
                ("maxLength", 316),
                ("pattern", "^([a-z0-9]([-a-z0-9]*[a-z0-9])?(\\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*/)?(([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9])$"))))));

    private static void AddDescription(SortedDictionary<string, object> schema, Type type)
    {
        if (type.GetCustomAttribute<DescriptionAttribute>() is { } description)
        {
            schema["description"] = description.Description;
        }
    }

    private static void AddValidations(SortedDictionary<string, object> schema, IEnumerable<CrdValidationAttribute> validations)
    {
        var rules = validations.Select(v =>
        {
            var rule = Map(("message", v.Message), ("rule", v.Rule));
            if (v.Reason is not null)
            {
                rule["reason"] = v.Reason;
            }

            if (v.FieldPath is not null)
            {
                rule["fieldPath"] = v.FieldPath;
            }

            return (object)rule;
        }).ToList();

        if (rules.Count > 0)
        {
            schema["x-kubernetes-validations"] = rules;
        }
    }

    private static void SetIfSet(SortedDictionary<string, object> schema, string key, int value)
    {
        if (value >= 0)
        {
            schema[key] = value;
        }
    }

    private static SortedDictionary<string, object> Map(params (string Key, object Value)[] entries)
    {
        var map = new SortedDictionary<string, object>(StringComparer.Ordinal);
        foreach (var (key, value) in entries)
        {
            map[key] = value;
        }

        return map;
    }
}
