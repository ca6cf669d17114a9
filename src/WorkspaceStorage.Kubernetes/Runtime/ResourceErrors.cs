using System.Net;
using k8s;
using k8s.Autorest;
using k8s.Models;

namespace WorkspaceStorage.Kubernetes.Runtime;

/// <summary>
/// KubernetesClient's failures as this runtime's <see cref="ResourceClientException"/>s: the API server's Status
/// (code, reason, short message) picks the type callers branch on (not found, already exists, conflict, gone,
/// rejected, transient); transport failures keep only their type, since their messages may quote request data.
/// </summary>
internal static class ResourceErrors
{
    /// <param name="what">The call, for the message ("replace widgets ns/name").</param>
    public static ResourceClientException Translate(Exception error, string what)
    {
        var (status, reason, message) = error switch
        {
            HttpOperationException http => ReadStatus(http),
            KubernetesException kube => (kube.Status?.Code, kube.Status?.Reason, kube.Status?.Message),
            _ => ((int?)null, null, null),
        };
        if (status is null)
        {
            // Transport failures: keep the exception type only; its message may quote request data.
            return error is ResourceClientException known ? known : new ResourceClientException($"{what} failed: {error.GetType().Name}.");
        }

        var detail = $"{what}: {status} {reason}{(string.IsNullOrEmpty(message) ? "" : $" ({Truncate(message)})")}";
        return status switch
        {
            404 => new ResourceNotFoundException(detail),
            409 when string.Equals(reason, "AlreadyExists", StringComparison.Ordinal) => new ResourceAlreadyExistsException(detail),
            409 => new ResourceConflictException(detail),
            410 => new ResourceGoneException(detail),
            429 or >= 500 => new ResourceClientException(detail, status),
            _ => new ResourceRejectedException(detail, status.Value),
        };
    }

    private static (int? Status, string? Reason, string? Message) ReadStatus(HttpOperationException error)
    {
        var code = (int?)error.Response?.StatusCode;
        try
        {
            var body = error.Response?.Content;
            if (!string.IsNullOrEmpty(body) && body.TrimStart().StartsWith('{'))
            {
                var status = ResourceJson.Deserialize<V1Status>(body);
                if (status is not null && string.Equals(status.Kind, "Status", StringComparison.Ordinal))
                {
                    return (code ?? status.Code, status.Reason, status.Message);
                }
            }
        }
        catch (System.Text.Json.JsonException)
        {
            // Not a Status body: the code alone is enough.
        }

        return (code, code is null ? null : ((HttpStatusCode)code.Value).ToString(), null);
    }

    private static string Truncate(string text) => text.Length <= 300 ? text : text[..300] + "…";
}
