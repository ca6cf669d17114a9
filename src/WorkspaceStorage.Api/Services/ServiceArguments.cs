using System.Globalization;
using System.Text.Json;
using WorkspaceStorage.Api.Errors;

namespace WorkspaceStorage.Api.Services;

/// <summary>
/// The keyword arguments of one service call, from the query string (GET) or a JSON object body (POST), as Hypha
/// accepts them. In a query string a list is either repeated (<c>?file_path=a&amp;file_path=b</c>) or one JSON-encoded
/// value (<c>?file_path=["a","b"]</c>), and numbers arrive as text. Every accessor throws a 400 naming the argument.
/// </summary>
public sealed class ServiceArguments
{
    private const int MaxBodyBytes = 4 * 1024 * 1024;
    private readonly Dictionary<string, JsonElement> values;

    private ServiceArguments(Dictionary<string, JsonElement> values) => this.values = values;

    public static ServiceArguments Of(IReadOnlyDictionary<string, object?> values) =>
        new(values.ToDictionary(p => p.Key, p => JsonSerializer.SerializeToElement(p.Value), StringComparer.Ordinal));

    public static async Task<ServiceArguments> ReadAsync(HttpRequest request, CancellationToken cancellationToken)
    {
        var values = new Dictionary<string, JsonElement>(StringComparer.Ordinal);
        foreach (var (name, raw) in request.Query)
        {
            values[name] = FromQuery(name, raw);
        }

        if (HttpMethods.IsPost(request.Method) && (request.ContentLength is null or > 0))
        {
            if (request.ContentLength > MaxBodyBytes)
            {
                throw new ApiException(StatusCodes.Status413PayloadTooLarge, "request body is too large");
            }

            JsonDocument document;
            try
            {
                document = await JsonDocument.ParseAsync(request.Body, default, cancellationToken);
            }
            catch (JsonException)
            {
                throw new ApiArgumentException("body", "must be a JSON object of keyword arguments");
            }

            using (document)
            {
                if (document.RootElement.ValueKind == JsonValueKind.Object)
                {
                    foreach (var property in document.RootElement.EnumerateObject())
                    {
                        values[property.Name] = property.Value.Clone();
                    }
                }
                else if (document.RootElement.ValueKind != JsonValueKind.Null)
                {
                    throw new ApiArgumentException("body", "must be a JSON object of keyword arguments");
                }
            }
        }

        return new ServiceArguments(values);
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

    private static JsonElement FromQuery(string name, Microsoft.Extensions.Primitives.StringValues raw)
    {
        if (raw.Count > 1)
        {
            return JsonSerializer.SerializeToElement(raw.ToArray());
        }

        var text = raw.ToString();
        if (text.StartsWith('[') || text.StartsWith('{'))
        {
            try
            {
                using var document = JsonDocument.Parse(text);
                return document.RootElement.Clone();
            }
            catch (JsonException)
            {
                throw new ApiArgumentException(name, "looks like JSON but is not valid JSON");
            }
        }

        return JsonSerializer.SerializeToElement(text);
    }
}
