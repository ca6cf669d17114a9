using System.Text.Json;
using Microsoft.AspNetCore.Http.Features;
using WorkspaceStorage.Api.Errors;
using WorkspaceStorage.Api.Json;
using WorkspaceStorage.Api.S3Storage;

namespace WorkspaceStorage.Api.Http;

/// <summary>
/// Reads a service call's keyword arguments from an HTTP request as Hypha's gateway accepts them: the query string
/// (GET, and POST too), and for a POST a JSON object body. In a query string a list is either repeated
/// (<c>?file_path=a&amp;file_path=b</c>) or one JSON-encoded value (<c>?file_path=["a","b"]</c>).
/// </summary>
public static class HttpServiceArguments
{
    private const int MaxBodyBytes = 4 * 1024 * 1024;

    public static async ValueTask<ServiceArguments> ReadAsync(HttpRequest request, CancellationToken cancellationToken)
    {
        var values = new Dictionary<string, JsonElement>(StringComparer.Ordinal);
        foreach (var (name, raw) in request.Query)
        {
            values[name] = FromQuery(name, raw);
        }

        // A POST with its arguments in the query string and no body at all (curl -X POST, no Content-Length and not
        // chunked) is Hypha's documented form for the multipart routes: only a body that can exist is parsed.
        var canHaveBody = request.HttpContext.Features.Get<IHttpRequestBodyDetectionFeature>()?.CanHaveBody ?? true;
        if (HttpMethods.IsPost(request.Method) && canHaveBody && (request.ContentLength is null or > 0))
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

    private static JsonElement FromQuery(string name, Microsoft.Extensions.Primitives.StringValues raw)
    {
        if (raw.Count > 1)
        {
            return JsonSerializer.SerializeToElement(raw.ToArray(), ApiJsonContext.Default.StringArray);
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

        return JsonSerializer.SerializeToElement(text, ApiJsonContext.Default.String);
    }
}
