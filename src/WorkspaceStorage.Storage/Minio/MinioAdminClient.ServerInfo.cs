using System.Diagnostics;
using System.Globalization;
using System.Text.Json;
using WorkspaceStorage.Storage.Backends;

namespace WorkspaceStorage.Storage.Minio;

/// <summary>Server info (a signed read proving the admin key) and the unsigned liveness probe.</summary>
public sealed partial class MinioAdminClient
{
    /// <summary>
    /// GET info?metrics=false (server information): a signed read that fails when the admin key is wrong or lacks admin
    /// rights. metrics=false is what madmin-go 3 and mc send; the server's default, so servers from before it answer alike.
    /// </summary>
    public async Task<JsonElement> ServerInfoAsync(CancellationToken cancellationToken)
    {
        var response = await SendAsync(HttpMethod.Get, "info", [new("metrics", "false")], null, false, cancellationToken);
        EnsureSuccess("info", response);
        using var doc = Parse("info", response.Body);
        return doc.RootElement.Clone();
    }

    /// <summary>The unsigned liveness probe. Returns the HTTP status; raises <see cref="BackendUnavailableException"/> when nothing answers in time.</summary>
    public async Task<int> CheckLivenessAsync(CancellationToken cancellationToken)
    {
        var started = Stopwatch.GetTimestamp();
        using var timeout = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
        timeout.CancelAfter(options.Retry.AttemptTimeout);
        try
        {
            using var request = new HttpRequestMessage(HttpMethod.Get, baseUrl + LivenessPath);
            using var response = await http.SendAsync(request, HttpCompletionOption.ResponseHeadersRead, timeout.Token);
            var status = (int)response.StatusCode;
            Report("health-live", started, status is >= 200 and < 300 ? null : status.ToString(CultureInfo.InvariantCulture));
            return status;
        }
        catch (OperationCanceledException) when (!cancellationToken.IsCancellationRequested)
        {
            Report("health-live", started, "Timeout");
            throw new BackendUnavailableException($"minio health-live: no answer within {options.Retry.AttemptTimeout.TotalSeconds:0.#} s");
        }
        catch (HttpRequestException ex)
        {
            Report("health-live", started, "ConnectionError");
            throw new BackendUnavailableException($"minio health-live: {ex.Message}", ex);
        }
    }

    private void Report(string operation, long started, string? error) =>
        observer.OnCall(new BackendCall(BackendType, operation, false, Stopwatch.GetElapsedTime(started), error));
}
