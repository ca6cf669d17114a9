using System.Buffers;
using System.Globalization;
using System.Text;
using System.Text.Json;
using System.Text.Json.Nodes;
using Microsoft.AspNetCore.Http;
using WorkspaceStorage.Kubernetes.InMemory;

namespace WorkspaceStorage.Testing.Kubernetes;

/// <summary>Turns HTTP requests on the real Kubernetes API paths into store operations.</summary>
internal sealed class KubeApiHandler(KubeTestServer server, InMemoryApiServer store, IReadOnlyDictionary<(string Group, string Version, string Plural), ResourceType> types)
{
    private static readonly byte[] Newline = "\n"u8.ToArray();

    public async Task HandleAsync(HttpContext context)
    {
        try
        {
            var request = Route(context.Request);
            server.Count(request);
            var fault = server.FindFault(request);
            if (fault is not null)
            {
                throw new KubeApiException(fault.StatusCode, KubeApiException.ReasonFor(fault.StatusCode),
                    $"injected fault: {fault.StatusCode} for {request.Verb} {request.Type}", request.Type, request.Name);
            }

            await DispatchAsync(context, request);
        }
        catch (KubeApiException error)
        {
            if (!context.Response.HasStarted)
            {
                await WriteJsonAsync(context, error.Code, JsonSerializer.SerializeToUtf8Bytes(error.ToStatus()));
            }
        }
        catch (Exception error) when (error is not OperationCanceledException and not JsonException)
        {
            // A bug in the test server itself: answer 500 with the reason so the failing test shows it.
            server.RecordUnexpected(error);
            if (!context.Response.HasStarted)
            {
                var status = new KubeApiException(500, "InternalError", $"test API server bug: {error}").ToStatus();
                await WriteJsonAsync(context, 500, JsonSerializer.SerializeToUtf8Bytes(status));
            }
        }
        catch (JsonException error)
        {
            if (!context.Response.HasStarted)
            {
                var status = KubeApiException.BadRequest($"the body of the request was in an unknown format: {error.Message}").ToStatus();
                await WriteJsonAsync(context, 400, JsonSerializer.SerializeToUtf8Bytes(status));
            }
        }
    }

    private KubeRequest Route(HttpRequest http)
    {
        // The paths are parsed as the proxy in front of the real server parses them; what this server serves is narrower.
        var parsed = KubeRequest.Parse(http.Method, http.Path.Value ?? "", http.Query) ?? throw NotServed(http);
        if (!types.TryGetValue((parsed.Type.Group, parsed.Type.Version, parsed.Type.Plural), out var type) ||
            (!type.Namespaced && parsed.Namespace is not null) || (type.Namespaced && parsed.Namespace is null && parsed.Name is not null) ||
            (parsed.Subresource is not null && !(parsed.Subresource == "status" && type.HasStatusSubresource)) ||
            (http.Path.Value ?? "").Trim('/').Split('/').Length > (type.Group.Length == 0 ? 3 : 4) + (parsed.Namespace is null ? 0 : 2) + 2)
        {
            throw NotServed(http);
        }

        if (parsed.Verb is not ("get" or "list" or "watch" or "create" or "update" or "patch" or "delete"))
        {
            throw new KubeApiException(405, "MethodNotAllowed", $"the server does not allow this method on the requested resource ({http.Method} {type})");
        }

        return parsed with { Type = type };
    }

    private static KubeApiException NotServed(HttpRequest http) =>
        new(404, "NotFound", $"the server could not find the requested resource ({http.Method} {http.Path})");

    private async Task DispatchAsync(HttpContext context, KubeRequest request)
    {
        var type = request.Type;
        var ns = type.Namespaced ? request.Namespace ?? "" : "";
        var statusOnly = request.Subresource == "status";
        if (!string.IsNullOrEmpty(context.Request.Query["dryRun"]))
        {
            // Loud instead of silently persisting what the caller meant as a trial.
            throw KubeApiException.BadRequest("dryRun is not supported by the test API server");
        }

        switch (request.Verb)
        {
            case "list":
                await ListAsync(context, request);
                break;
            case "watch":
                await WatchAsync(context, request);
                break;
            case "get":
                var found = store.Get(type, ns, request.Name!) ?? throw KubeApiException.NotFound(type, request.Name!);
                await WriteJsonAsync(context, 200, found.Bytes);
                break;
            case "create":
                if (type.Namespaced && request.Namespace is null)
                {
                    throw new KubeApiException(405, "MethodNotAllowed", $"create of {type} needs a namespace in the path");
                }

                var created = store.Create(type, ns, await ReadObjectAsync(context), seed: false);
                await WriteJsonAsync(context, 201, created.Bytes);
                break;
            case "update":
                var body = await ReadObjectAsync(context);
                var replaced = store.Update(type, ns, request.Name!, statusOnly, isPatch: false, _ => body);
                await WriteJsonAsync(context, 200, replaced.Bytes);
                break;
            case "patch":
                var patched = await PatchAsync(context, type, ns, request.Name!, statusOnly);
                await WriteJsonAsync(context, 200, patched.Bytes);
                break;
            case "delete":
                await DeleteAsync(context, type, ns, request.Name!);
                break;
        }
    }

    private async Task ListAsync(HttpContext context, KubeRequest request)
    {
        var type = request.Type;
        var query = context.Request.Query;
        var (items, rv) = store.List(type, type.Namespaced ? request.Namespace : null,
            LabelSelector.Parse(query["labelSelector"]), FieldSelector.Parse(query["fieldSelector"]));

        // limit/continue: pages of the sorted list. Later pages show the current objects (not a snapshot) but keep
        // the first page's resourceVersion, so a watch from it still delivers every change made meanwhile.
        var start = 0;
        if (!string.IsNullOrEmpty(query["continue"]))
        {
            (rv, var afterNamespace, var afterName) = ParseContinue(query["continue"]!);
            while (start < items.Count && Compare(items[start], afterNamespace, afterName) <= 0)
            {
                start++;
            }
        }

        var end = items.Count;
        string? continueToken = null;
        if (int.TryParse(query["limit"], NumberStyles.None, CultureInfo.InvariantCulture, out var limit) && limit > 0 && start + limit < items.Count)
        {
            end = start + limit;
            var last = items[end - 1];
            continueToken = Convert.ToBase64String(Encoding.UTF8.GetBytes($"{rv}|{last.Namespace}|{last.Name}"));
        }

        context.Response.StatusCode = 200;
        context.Response.ContentType = "application/json";
        var writer = context.Response.BodyWriter;
        var listMeta = new JsonObject { ["resourceVersion"] = rv.ToString(CultureInfo.InvariantCulture) };
        if (continueToken is not null)
        {
            listMeta["continue"] = continueToken;
            listMeta["remainingItemCount"] = items.Count - end;
        }

        var head = $"{{\"apiVersion\":\"{type.ApiVersion}\",\"kind\":\"{type.Kind}List\",\"metadata\":{listMeta.ToJsonString()},\"items\":[";
        writer.Write(Encoding.UTF8.GetBytes(head));
        for (var i = start; i < end; i++)
        {
            if (i > start)
            {
                writer.Write(","u8);
            }

            writer.Write(items[i].Bytes);
            if (i % 256 == 255)
            {
                await writer.FlushAsync(context.RequestAborted);
            }
        }

        writer.Write("]}"u8);
        await writer.FlushAsync(context.RequestAborted);
    }

    private static int Compare(StoredObject item, string ns, string name)
    {
        var byNamespace = string.CompareOrdinal(item.Namespace, ns);
        return byNamespace != 0 ? byNamespace : string.CompareOrdinal(item.Name, name);
    }

    private static (long ResourceVersion, string Namespace, string Name) ParseContinue(string token)
    {
        try
        {
            var parts = Encoding.UTF8.GetString(Convert.FromBase64String(token)).Split('|');
            return (long.Parse(parts[0], CultureInfo.InvariantCulture), parts[1], parts[2]);
        }
        catch (Exception error) when (error is FormatException or IndexOutOfRangeException or OverflowException)
        {
            throw KubeApiException.BadRequest("continue key is not valid");
        }
    }

    private async Task WatchAsync(HttpContext context, KubeRequest request)
    {
        var type = request.Type;
        var query = context.Request.Query;
        var (subscription, error) = store.Watch(type, type.Namespaced ? request.Namespace : null,
            LabelSelector.Parse(query["labelSelector"]), FieldSelector.Parse(query["fieldSelector"]), query["resourceVersion"]);
        context.Response.StatusCode = 200;
        context.Response.ContentType = "application/json";
        var writer = context.Response.BodyWriter;
        if (subscription is null)
        {
            // Like the real server: a 200 stream carrying one ERROR event with the Status, then the end.
            WriteEvent(writer, "ERROR", JsonSerializer.SerializeToUtf8Bytes(error!.ToStatus()));
            await writer.FlushAsync(context.RequestAborted);
            return;
        }

        using var timeout = CancellationTokenSource.CreateLinkedTokenSource(context.RequestAborted);
        if (int.TryParse(query["timeoutSeconds"], NumberStyles.None, CultureInfo.InvariantCulture, out var seconds) && seconds > 0)
        {
            timeout.CancelAfter(TimeSpan.FromSeconds(seconds));
        }

        try
        {
            await context.Response.StartAsync(timeout.Token);
            await writer.FlushAsync(timeout.Token);
            var events = subscription.Events;
            while (await events.WaitToReadAsync(timeout.Token))
            {
                while (events.TryRead(out var next))
                {
                    WriteEvent(writer, next.EventType, next.Object);
                }

                await writer.FlushAsync(timeout.Token);
            }

            if (subscription.Aborted)
            {
                context.Abort();
            }
        }
        catch (OperationCanceledException)
        {
            // timeoutSeconds elapsed or the client went away: end the stream like the real server.
        }
        finally
        {
            store.EndWatch(subscription);
        }
    }

    private static void WriteEvent(System.IO.Pipelines.PipeWriter writer, string eventType, byte[] obj)
    {
        writer.Write(Encoding.UTF8.GetBytes($"{{\"type\":\"{eventType}\",\"object\":"));
        writer.Write(obj);
        writer.Write("}"u8);
        writer.Write(Newline);
    }

    private async Task<StoredObject> PatchAsync(HttpContext context, ResourceType type, string ns, string name, bool statusOnly)
    {
        var contentType = context.Request.ContentType?.Split(';')[0].Trim() ?? "";
        var patch = await JsonNode.ParseAsync(context.Request.Body, cancellationToken: context.RequestAborted);
        Func<JsonObject, JsonObject> apply = contentType switch
        {
            // Strategic merge is treated as a merge patch: lists are replaced, not merged by key.
            "application/merge-patch+json" or "application/strategic-merge-patch+json" => current =>
                JsonPatching.MergePatch(current, patch) as JsonObject ?? throw KubeApiException.BadRequest("a merge patch must be a JSON object"),
            "application/json-patch+json" => current =>
                JsonPatching.ApplyJsonPatch(current, patch as JsonArray ?? throw KubeApiException.BadRequest("a JSON patch must be an array"),
                    message => KubeApiException.Invalid(type, name, message)) as JsonObject
                ?? throw KubeApiException.Invalid(type, name, "the patched document is not an object"),
            _ => throw new KubeApiException(415, "UnsupportedMediaType", $"the body of the request was in an unknown format - accepted media types include: application/json-patch+json, application/merge-patch+json (got \"{contentType}\")"),
        };
        return store.Update(type, ns, name, statusOnly, isPatch: true, apply);
    }

    private async Task DeleteAsync(HttpContext context, ResourceType type, string ns, string name)
    {
        string? uid = null, version = null;
        if (context.Request.ContentLength is > 0 || context.Request.Headers.TransferEncoding.Count > 0)
        {
            using var reader = new StreamReader(context.Request.Body);
            var text = await reader.ReadToEndAsync(context.RequestAborted);
            if (!string.IsNullOrWhiteSpace(text) && JsonNode.Parse(text) is JsonObject options && options["preconditions"] is JsonObject preconditions)
            {
                uid = preconditions["uid"]?.GetValue<string>();
                version = preconditions["resourceVersion"]?.GetValue<string>();
            }
        }

        var (obj, removed) = store.Delete(type, ns, name, uid, version);
        if (removed && !type.ReturnsDeletedObject)
        {
            var details = new JsonObject { ["name"] = name, ["kind"] = type.Plural, ["uid"] = obj.Json["metadata"]?["uid"]?.DeepClone() };
            if (type.Group.Length > 0)
            {
                details["group"] = type.Group;
            }

            var status = new JsonObject
            {
                ["kind"] = "Status",
                ["apiVersion"] = "v1",
                ["metadata"] = new JsonObject(),
                ["status"] = "Success",
                ["details"] = details,
            };
            await WriteJsonAsync(context, 200, JsonSerializer.SerializeToUtf8Bytes(status));
            return;
        }

        await WriteJsonAsync(context, 200, obj.Bytes);
    }

    private static async Task<JsonObject> ReadObjectAsync(HttpContext context) =>
        await JsonNode.ParseAsync(context.Request.Body, cancellationToken: context.RequestAborted) as JsonObject
        ?? throw KubeApiException.BadRequest("the request body must be a JSON object");

    private static async Task WriteJsonAsync(HttpContext context, int statusCode, byte[] body)
    {
        context.Response.StatusCode = statusCode;
        context.Response.ContentType = "application/json";
        context.Response.ContentLength = body.Length;
        await context.Response.Body.WriteAsync(body, context.RequestAborted);
    }
}
