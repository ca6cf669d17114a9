using System.Diagnostics.CodeAnalysis;
using System.Reflection;
using System.Text.Json;
using System.Text.Json.Serialization;

namespace WorkspaceStorage.Core.Model;

/// <summary>
/// Reads an enum from its JSON name (<see cref="JsonStringEnumMemberNameAttribute"/> or the member name, case-sensitive
/// as the API server compares) and maps any other string to the undefined value -1 instead of throwing. One object
/// with a value this operator does not know (a newer CRD, a server that skips schema validation) then becomes a
/// validation error on that object (<c>Enum.IsDefined</c> in the validators), not a failure to read the whole list.
/// An undefined value is written as <see cref="UndefinedName"/>, which the CRD's enum rejects, so it is never stored.
/// </summary>
// PublicFields: the member names are read from the enum's fields, which the trimmer then keeps.
public sealed class TolerantEnumConverter<[DynamicallyAccessedMembers(DynamicallyAccessedMemberTypes.PublicFields)] TEnum> : JsonConverter<TEnum>
    where TEnum : struct, Enum
{
    public const string UndefinedName = "(unknown)";

    private static readonly Dictionary<string, TEnum> ByName = typeof(TEnum)
        .GetFields(BindingFlags.Public | BindingFlags.Static)
        .ToDictionary(f => f.GetCustomAttribute<JsonStringEnumMemberNameAttribute>()?.Name ?? f.Name, f => (TEnum)f.GetValue(null)!, StringComparer.Ordinal);

    private static readonly Dictionary<TEnum, string> ToName = ByName.ToDictionary(p => p.Value, p => p.Key);

    /// <summary>The value that stands for "a name this version does not know".</summary>
    private static readonly TEnum Undefined = (TEnum)Enum.ToObject(typeof(TEnum), -1);

    public override TEnum Read(ref Utf8JsonReader reader, Type typeToConvert, JsonSerializerOptions options)
    {
        if (reader.TokenType != JsonTokenType.String)
        {
            reader.Skip();
            return Undefined;
        }

        return ByName.TryGetValue(reader.GetString()!, out var value) ? value : Undefined;
    }

    public override void Write(Utf8JsonWriter writer, TEnum value, JsonSerializerOptions options)
    {
        ArgumentNullException.ThrowIfNull(writer);
        writer.WriteStringValue(ToName.TryGetValue(value, out var name) ? name : UndefinedName);
    }
}

/// <summary>A list of enums read with <see cref="TolerantEnumConverter{TEnum}"/> rules.</summary>
/// <remarks>
/// Put on the property (not only the enum type): KubernetesJson registers a JsonStringEnumConverter in its options,
/// and options-level converters win over type-level attributes; property-level ones win over both.
/// </remarks>
public sealed class TolerantEnumListConverter<[DynamicallyAccessedMembers(DynamicallyAccessedMemberTypes.PublicFields)] TEnum> : JsonConverter<IReadOnlyList<TEnum>>
    where TEnum : struct, Enum
{
    private static readonly TolerantEnumConverter<TEnum> Item = new();

    public override IReadOnlyList<TEnum>? Read(ref Utf8JsonReader reader, Type typeToConvert, JsonSerializerOptions options)
    {
        if (reader.TokenType == JsonTokenType.Null)
        {
            return null;
        }

        if (reader.TokenType != JsonTokenType.StartArray)
        {
            throw new JsonException($"expected an array of {typeof(TEnum).Name}");
        }

        var items = new List<TEnum>();
        while (reader.Read() && reader.TokenType != JsonTokenType.EndArray)
        {
            items.Add(Item.Read(ref reader, typeof(TEnum), options));
        }

        return items;
    }

    public override void Write(Utf8JsonWriter writer, IReadOnlyList<TEnum> value, JsonSerializerOptions options)
    {
        ArgumentNullException.ThrowIfNull(writer);
        ArgumentNullException.ThrowIfNull(value);
        writer.WriteStartArray();
        foreach (var item in value)
        {
            Item.Write(writer, item, options);
        }

        writer.WriteEndArray();
    }
}
