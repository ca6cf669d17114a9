using System.Globalization;
using System.Text.Json;
using WorkspaceStorage.Api.Errors;
using WorkspaceStorage.Api.Json;

namespace WorkspaceStorage.Api.S3Storage;

/// <summary>
/// The keyword arguments of one service call, whichever front door brought them: the HTTP query string or JSON body
/// (where numbers may arrive as text), or the keyword map of a Hypha RPC call. Every accessor throws a 400 naming the
/// argument and the rule it broke.
/// </summary>
public sealed class ServiceArguments
{
    private readonly Dictionary<string, JsonElement> values;

    public ServiceArguments(Dictionary<string, JsonElement> values) => this.values = values;

    /// <summary>Arguments from plain values (an RPC call's keyword map, tests): strings, numbers, booleans, null, lists and maps of them.</summary>
    public static ServiceArguments Of(IEnumerable<KeyValuePair<string, object?>> values) =>
        new(values.ToDictionary(p => p.Key, p => ToJson(p.Key, p.Value), StringComparer.Ordinal));

    /// <summary>The same arguments with <paramref name="from"/> renamed to <paramref name="to"/> (Hypha's HTTP multipart routes say path for file_path).</summary>
    public ServiceArguments Renamed(string from, string to)
    {
        var copy = new Dictionary<string, JsonElement>(values, StringComparer.Ordinal);
        if (copy.Remove(from, out var value))
        {
            copy[to] = value;
        }

        return new ServiceArguments(copy);
    }

    /// <summary>Names the caller sent that the method does not take (names starting with '_' are Hypha's own and ignored).</summary>
    public void RejectUnknown(IReadOnlyCollection<string> known)
    {
        foreach (var name in values.Keys)
        {
            if (!name.StartsWith('_') && !known.Contains(name))
            {
                throw new ApiArgumentException(name, $"is not an argument of this method (it takes: {string.Join(", ", known)})");
            }
        }
    }

    public bool Has(string name) => values.TryGetValue(name, out var v) && v.ValueKind is not (JsonValueKind.Null or JsonValueKind.Undefined);

    public string? OptionalString(string name)
    {
        if (!Has(name))
        {
            return null;
        }

        var value = values[name];
        return value.ValueKind switch
        {
            JsonValueKind.String => value.GetString(),
            _ => throw new ApiArgumentException(name, "must be a string"),
        };
    }

    public string RequiredString(string name) => OptionalString(name) ?? throw new ApiArgumentException(name, "is required");

    public int Int(string name, int defaultValue, int min, int max)
    {
        if (!Has(name))
        {
            return defaultValue;
        }

        return CheckRange(name, ReadInt(name, values[name]), min, max);
    }

    public int RequiredInt(string name, int min, int max) =>
        Has(name) ? CheckRange(name, ReadInt(name, values[name]), min, max) : throw new ApiArgumentException(name, "is required");

    /// <summary>true/false, also as the text "true"/"false" (query strings).</summary>
    public bool? OptionalBool(string name)
    {
        if (!Has(name))
        {
            return null;
        }

        var value = values[name];
        return value.ValueKind switch
        {
            JsonValueKind.True => true,
            JsonValueKind.False => false,
            JsonValueKind.String when bool.TryParse(value.GetString(), out var parsed) => parsed,
            _ => throw new ApiArgumentException(name, "must be true or false"),
        };
    }

    public int? OptionalInt(string name, int min, int max) => Has(name) ? CheckRange(name, ReadInt(name, values[name]), min, max) : null;

    /// <summary>A string or a list of strings; <paramref name="isList"/> says which the caller sent.</summary>
    public IReadOnlyList<string> StringOrList(string name, out bool isList, int maxItems = 1000)
    {
        if (!Has(name))
        {
            throw new ApiArgumentException(name, "is required");
        }

        var value = values[name];
        switch (value.ValueKind)
        {
            case JsonValueKind.String:
                isList = false;
                return [value.GetString()!];
            case JsonValueKind.Array:
                isList = true;
                var items = new List<string>();
                foreach (var item in value.EnumerateArray())
                {
                    if (item.ValueKind != JsonValueKind.String)
                    {
                        throw new ApiArgumentException(name, "must be a string or a list of strings");
                    }

                    items.Add(item.GetString()!);
                }

                if (items.Count == 0 || items.Count > maxItems)
                {
                    throw new ApiArgumentException(name, $"must hold between 1 and {maxItems} paths");
                }

                return items;
            default:
                throw new ApiArgumentException(name, "must be a string or a list of strings");
        }
    }

    /// <summary>An int applying to every item, or a list of ints (null entries allowed) with exactly <paramref name="count"/> items.</summary>
    public IReadOnlyList<int?> IntOrList(string name, int count, int min, int max)
    {
        if (!Has(name))
        {
            return new int?[count];
        }

        var value = values[name];
        if (value.ValueKind == JsonValueKind.Array)
        {
            var items = new List<int?>();
            foreach (var item in value.EnumerateArray())
            {
                items.Add(item.ValueKind == JsonValueKind.Null ? null : CheckRange(name, ReadInt(name, item), min, max));
            }

            if (items.Count != count)
            {
                throw new ApiArgumentException(name, $"must be one integer or a list with one entry per path ({count})");
            }

            return items;
        }

        var single = CheckRange(name, ReadInt(name, value), min, max);
        return Enumerable.Repeat<int?>(single, count).ToList();
    }

    /// <summary>The raw JSON value (for structured arguments such as multipart parts).</summary>
    public JsonElement? Raw(string name) => Has(name) ? values[name] : null;

    private static JsonElement ToJson(string name, object? value)
    {
        try
        {
            return JsonSerializer.SerializeToElement(value, ApiJsonContext.Default.Object);
        }
        catch (NotSupportedException)
        {
            // A type Json.ApiJsonContext does not know (a msgpack extension, say): no function takes one.
            throw new ApiArgumentException(name, "must be a string, number, boolean, null, or a list or map of those");
        }
    }

    private static int CheckRange(string name, long value, int min, int max) =>
        value < min || value > max ? throw new ApiArgumentException(name, $"must be between {min} and {max}") : (int)value;

    private static long ReadInt(string name, JsonElement value)
    {
        if (value.ValueKind == JsonValueKind.Number && value.TryGetInt64(out var number))
        {
            return number;
        }

        if (value.ValueKind == JsonValueKind.Number && value.TryGetDouble(out var real) && real == Math.Floor(real) && Math.Abs(real) < 1e15)
        {
            return (long)real;
        }

        if (value.ValueKind == JsonValueKind.String && long.TryParse(value.GetString(), NumberStyles.AllowLeadingSign, CultureInfo.InvariantCulture, out var parsed))
        {
            return parsed;
        }

        throw new ApiArgumentException(name, "must be an integer");
    }
}
