using System.Diagnostics;
using System.Net;
using System.Net.Http.Headers;
using Polly;
using WorkspaceStorage.Core.Signing;
using WorkspaceStorage.Storage.Backends;

namespace WorkspaceStorage.Storage.Http;

/// <summary>
/// Sends signed control requests with a per-attempt timeout, retries transient failures (network errors,
/// timeouts, 5xx, 429/SlowDown) through <see cref="BackendRetryPipeline"/>, and reports every attempt to the observer.
/// Authentication failures become <see cref="BackendAuthenticationException"/>; other 4xx are returned to the caller,
/// which knows which codes mean "already done".
/// </summary>
public sealed class SignedHttpSender(
    HttpClient http,
    SigV4Signer signer,
    RetryOptions retry,
    IBackendCallObserver observer,
    string backendType,
    TimeProvider? time = null)
{
    private static readonly HashSet<string> AuthenticationCodes = new(StringComparer.Ordinal)
    {
        // Only "who you are" failures: AccessDenied is a permission answer that callers interpret (e.g. CreateBucket → HeadBucket).
        "InvalidAccessKeyId", "SignatureDoesNotMatch", "XMinioInvalidIAMCredentials", "InvalidClientTokenId",
    };

    private readonly TimeProvider clock = time ?? TimeProvider.System;
    private readonly ResiliencePipeline pipeline = BackendRetryPipeline.Create(retry, time ?? TimeProvider.System);

    public async Task<SignedResponse> SendAsync(SignedRequest request, CancellationToken cancellationToken)
    {
        try
        {
            return await pipeline.ExecuteAsync(static (state, token) => state.Sender.AttemptAsync(state.Request, token), (Sender: this, Request: request),
                cancellationToken);
        }
        catch (BackendUnavailableException unavailable)
        {
            throw new BackendUnavailableException($"{unavailable.Message} (after {retry.MaxAttempts} attempts)", unavailable.InnerException)
            {
                StatusCode = unavailable.StatusCode,
                ErrorCode = unavailable.ErrorCode,
            };
        }
    }

    /// <summary>One attempt, with its own timeout (response body included). Transient failures throw <see cref="BackendUnavailableException"/>.</summary>
    private async ValueTask<SignedResponse> AttemptAsync(SignedRequest request, CancellationToken cancellationToken)
    {
        var started = Stopwatch.GetTimestamp();
        using var attemptTimeout = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
        attemptTimeout.CancelAfter(retry.AttemptTimeout);
        try
        {
            using var message = Build(request);
            using var response = await http.SendAsync(message, HttpCompletionOption.ResponseContentRead, attemptTimeout.Token);
            var body = await response.Content.ReadAsByteArrayAsync(attemptTimeout.Token);
            var status = (int)response.StatusCode;
            var code = status >= 400 ? BackendErrorCode.TryRead(body) : null;
            Report(request, started, status >= 400 ? code ?? status.ToString(System.Globalization.CultureInfo.InvariantCulture) : null);

            if (IsTransient(response.StatusCode, code))
            {
                throw new BackendUnavailableException($"{backendType} {request.Operation}: HTTP {status} {code}") { StatusCode = status, ErrorCode = code };
            }

            if (status is 401 or 403 && code is not null && AuthenticationCodes.Contains(code))
            {
                throw new BackendAuthenticationException($"{backendType} {request.Operation}: the credentials were refused ({code})")
                {
                    StatusCode = status,
                    ErrorCode = code,
                };
            }

            return new SignedResponse(status, body, response.Content.Headers.ContentType?.MediaType);
        }
        catch (OperationCanceledException) when (!cancellationToken.IsCancellationRequested)
        {
            Report(request, started, "Timeout");
            throw new BackendUnavailableException($"{backendType} {request.Operation}: no answer within {retry.AttemptTimeout.TotalSeconds:0.#} s");
        }
        catch (HttpRequestException ex)
        {
            Report(request, started, "ConnectionError");
            throw new BackendUnavailableException($"{backendType} {request.Operation}: {ex.Message}", ex);
        }
    }

    /// <summary>
    /// 5xx, 429, and the codes servers use for "slow down" on a 4xx: S3's SlowDown, AWS IAM and STS's Throttling (HTTP 400
    /// in the query API) and ThrottlingException (JSON APIs). They go through the pipeline's backoff with jitter.
    /// </summary>
    internal static bool IsTransient(HttpStatusCode status, string? code) =>
        (int)status >= 500 || status == HttpStatusCode.TooManyRequests
        || code is "SlowDown" or "XMinioServerNotInitialized" or "Throttling" or "ThrottlingException";

    private HttpRequestMessage Build(SignedRequest request)
    {
        var message = new HttpRequestMessage(request.Method, HttpRequestSigning.UnescapedUri(request.Url));
        var payload = request.Body ?? [];
        if (request.Body is not null || request.Method == HttpMethod.Put || request.Method == HttpMethod.Post)
        {
            message.Content = new ByteArrayContent(payload);
            if (request.ContentType is not null)
            {
                message.Content.Headers.ContentType = MediaTypeHeaderValue.Parse(request.ContentType);
            }
        }

        foreach (var (name, value) in request.Headers ?? [])
        {
            // Content headers (Content-MD5 of S3's multi-object delete) are refused on the request and belong on the content.
            if (!message.Headers.TryAddWithoutValidation(name, value))
            {
                message.Content?.Headers.TryAddWithoutValidation(name, value);
            }
        }

        signer.Sign(message, request.Credentials, request.Scope, SigV4Signer.HashHex(payload), clock.GetUtcNow());
        return message;
    }

    private void Report(SignedRequest request, long started, string? error) =>
        observer.OnCall(new BackendCall(backendType, request.Operation, request.IsWrite, Stopwatch.GetElapsedTime(started), error));
}
