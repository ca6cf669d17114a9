using System.Globalization;
using System.Net;
using System.Runtime.CompilerServices;
using System.Text;
using System.Text.Json;
using k8s;
using k8s.Autorest;
using k8s.Models;

namespace WorkspaceStorage.Kubernetes.Runtime;

/// <summary>
/// One watch of a resource, read by hand (KubernetesClient.Aot has no watch): a GET with <c>watch=true</c> over the
/// client's own HttpClient and credentials, then one JSON event per line (ADDED/MODIFIED/DELETED/BOOKMARK with the
/// object, ERROR with a Status). The server closes the watch after <see cref="ResourceClientOptions.WatchTimeout"/>;
/// a watch it fails to close within <see cref="ResourceClientOptions.WatchGrace"/> more just ends, and the caller resumes.
/// </summary>
internal sealed class ResourceWatchStream<T>(IKubernetes kubernetes, ResourceDescriptor resource, ResourceClientOptions options)
    where T : class, IKubernetesObject<V1ObjectMeta>
{
    private string What => $"watch {resource.Plural}";

    public async IAsyncEnumerable<ResourceWatchEvent<T>> WatchAsync(string? @namespace, string resourceVersion, string? labelSelector, [EnumeratorCancellation] CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(resourceVersion);
        var timeoutSeconds = (int)Math.Max(1, options.WatchTimeout.TotalSeconds);
        using var watchCts = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
        watchCts.CancelAfter(options.WatchTimeout + options.WatchGrace);
        var token = watchCts.Token;
        if (kubernetes is not k8s.Kubernetes client)
        {
            throw new NotSupportedException("Watching needs a k8s.Kubernetes client (its HttpClient and credentials).");
        }

        var response = await WithinWatchBoundAsync(() => SendWatchAsync(client, WatchPath(@namespace, labelSelector, resourceVersion, timeoutSeconds), token),
            cancellationToken);
        if (response is null)
        {
            yield break;
        }

        using (response)
        {
            Stream body;
            try
            {
                body = await response.Content.ReadAsStreamAsync(token);
            }
            catch (OperationCanceledException) when (!cancellationToken.IsCancellationRequested)
            {
                yield break;
            }

            using var reader = new StreamReader(body);
            for (; ; )
            {
                var line = await WithinWatchBoundAsync(() => reader.ReadLineAsync(token).AsTask(), cancellationToken);
                if (line is null)
                {
                    yield break;
                }

                if (line.Length == 0)
                {
                    continue;
                }

                ResourceWatchEvent<T>? change;
                try
                {
                    change = ParseWatchLine(line, resourceVersion);
                }
                catch (JsonException error)
                {
                    throw ResourceErrors.Translate(error, What);
                }

                if (change is not null)
                {
                    yield return change;
                }
            }
        }
    }

    private ResourceWatchEvent<T>? ParseWatchLine(string line, string resourceVersion)
    {
        using var document = JsonDocument.Parse(line);
        var root = document.RootElement;
        var type = root.TryGetProperty("type", out var typeElement) ? typeElement.GetString() : null;
        if (!root.TryGetProperty("object", out var objectElement))
        {
            return null;
        }

        if (string.Equals(type, "ERROR", StringComparison.Ordinal))
        {
            var status = ResourceJson.Deserialize<V1Status>(objectElement);
            throw ResourceErrors.Translate(new KubernetesException(status), What);
        }

        var mapped = type switch
        {
            "ADDED" => ResourceWatchEventType.Added,
            "MODIFIED" => ResourceWatchEventType.Modified,
            "DELETED" => ResourceWatchEventType.Deleted,
            "BOOKMARK" => ResourceWatchEventType.Bookmark,
            _ => (ResourceWatchEventType?)null,
        };
        if (mapped is null)
        {
            return null;
        }

        var item = ResourceJson.Deserialize<T>(objectElement);
        return item?.Metadata is null ? null : new ResourceWatchEvent<T>(mapped.Value, item, item.Metadata.ResourceVersion ?? resourceVersion);
    }

    private string WatchPath(string? @namespace, string? labelSelector, string resourceVersion, int timeoutSeconds)
    {
        var path = new StringBuilder(string.IsNullOrEmpty(resource.Group) ? "api/" : $"apis/{resource.Group}/");
        path.Append(resource.Version).Append('/');
        if (resource.Namespaced && @namespace is not null)
        {
            path.Append("namespaces/").Append(Uri.EscapeDataString(@namespace)).Append('/');
        }

        path.Append(resource.Plural).Append("?allowWatchBookmarks=true");
        if (!string.IsNullOrEmpty(labelSelector))
        {
            path.Append("&labelSelector=").Append(Uri.EscapeDataString(labelSelector));
        }

        path.Append("&resourceVersion=").Append(Uri.EscapeDataString(resourceVersion))
            .Append("&timeoutSeconds=").Append(timeoutSeconds.ToString(CultureInfo.InvariantCulture))
            .Append("&watch=true");
        return path.ToString();
    }

    private static async Task<HttpResponseMessage> SendWatchAsync(k8s.Kubernetes client, string relativePath, CancellationToken cancellationToken)
    {
        var baseUri = client.BaseUri.AbsoluteUri.EndsWith('/') ? client.BaseUri : new Uri(client.BaseUri.AbsoluteUri + "/");
        using var request = new HttpRequestMessage(HttpMethod.Get, new Uri(baseUri, relativePath))
        {
            // As KubernetesClient's own requests: HTTP/2 where the server speaks it, so watches share one connection.
            Version = HttpVersion.Version20,
            VersionPolicy = HttpVersionPolicy.RequestVersionOrLower,
        };
        if (client.Credentials is not null)
        {
            await client.Credentials.ProcessHttpRequestAsync(request, cancellationToken);
        }

        var response = await client.HttpClient.SendAsync(request, HttpCompletionOption.ResponseHeadersRead, cancellationToken);
        if (response.IsSuccessStatusCode)
        {
            return response;
        }

        using (response)
        {
            var content = await response.Content.ReadAsStringAsync(cancellationToken);
            throw new HttpOperationException($"watch returned {(int)response.StatusCode}")
            {
                Response = new HttpResponseMessageWrapper(response, content),
            };
        }
    }

    /// <summary>
    /// One step of a watch: the caller's cancellation propagates; the watch's own client-side bound (a watch the server
    /// did not close in time) ends it with null, and the caller resumes; any other failure is translated.
    /// </summary>
    private async Task<TResult?> WithinWatchBoundAsync<TResult>(Func<Task<TResult>> step, CancellationToken cancellationToken) where TResult : class?
    {
        try
        {
            return await step();
        }
        catch (OperationCanceledException) when (cancellationToken.IsCancellationRequested)
        {
            throw;
        }
        catch (OperationCanceledException)
        {
            return null;
        }
        catch (Exception error)
        {
            throw ResourceErrors.Translate(error, What);
        }
    }
}
